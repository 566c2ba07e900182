// Tile helpers of the fused attention kernels (attention.ts, attention_bwd.ts): every tile product runs the
// matmul micro-kernel's shape, a 4×8 register tile of f32x4 accumulators over two packed streams: A in 4-row
// panels [k][4], B in 8-column panels [k][8], zero-padded. Each C element is one chain of adds over k in order.
// Strides in bytes. The micro-kernel and the tile loop are separate functions so V8's optimising tier takes over.

/** a·b + acc: fused (one rounding) in the relaxed build, as matmul.ts's micro-kernel does. */
// @ts-ignore: decorator
@inline
export function fma(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** A panels [⌈rows/4⌉][K][4] from rows (element (m, k) at src + m·lds + 4k), zero past rows; 4×4 transposes. */
export function packA(dst: usize, src: usize, lds: usize, rows: i32, K: i32): void {
  const K4 = K & ~3;
  for (let m = 0; m < rows; m += 4) {
    const n = min(4, rows - m);
    const r0 = src + <usize>m * lds;
    if (n == 4) {
      const r1 = r0 + lds, r2 = r1 + lds, r3 = r2 + lds;
      let d = dst;
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const a = v128.load(r0 + o), b = v128.load(r1 + o), c = v128.load(r2 + o), e = v128.load(r3 + o);
        const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
        d += 64;
      }
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        store<f32>(d, load<f32>(r0 + o));
        store<f32>(d, load<f32>(r1 + o), 4);
        store<f32>(d, load<f32>(r2 + o), 8);
        store<f32>(d, load<f32>(r3 + o), 12);
        d += 16;
      }
    } else {
      let d = dst;
      for (let k = 0; k < K; k++) {
        v128.store(d, f32x4.splat(0));
        for (let r = 0; r < n; r++) store<f32>(d + (<usize>r << 2), load<f32>(r0 + <usize>r * lds + (<usize>k << 2)));
        d += 16;
      }
    }
    dst += <usize>K << 4;
  }
}

/** B panels [⌈N/8⌉][K][8] from K rows of N columns (element (k, n) at src + k·lds + 4n), zero past N. */
export function packB(dst: usize, src: usize, lds: usize, K: i32, N: i32): void {
  for (let n0 = 0; n0 < N; n0 += 8) {
    const cols = min(8, N - n0);
    let s = src + (<usize>n0 << 2);
    let d = dst;
    if (cols == 8) {
      for (let k = 0; k < K; k++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        s += lds;
        d += 32;
      }
    } else {
      for (let k = 0; k < K; k++) {
        v128.store(d, f32x4.splat(0));
        v128.store(d, f32x4.splat(0), 16);
        for (let j = 0; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
        s += lds;
        d += 32;
      }
    }
    dst += <usize>K << 5;
  }
}

/** B panels [⌈N/8⌉][K][8] of the transpose of N rows of K (element (k, n) at src + n·lds + 4k), zero past N. */
export function packBt(dst: usize, src: usize, lds: usize, N: i32, K: i32): void {
  const K4 = K & ~3;
  for (let n0 = 0; n0 < N; n0 += 8) {
    const cols = min(8, N - n0);
    const r0 = src + <usize>n0 * lds;
    if (cols == 8) {
      const r1 = r0 + lds, r2 = r1 + lds, r3 = r2 + lds, r4 = r3 + lds, r5 = r4 + lds, r6 = r5 + lds, r7 = r6 + lds;
      let d = dst;
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        let a = v128.load(r0 + o), b = v128.load(r1 + o), c = v128.load(r2 + o), e = v128.load(r3 + o);
        let t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        let t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 32);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 64);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 96);
        a = v128.load(r4 + o); b = v128.load(r5 + o); c = v128.load(r6 + o); e = v128.load(r7 + o);
        t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5); t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5); t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), 16);
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 48);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 80);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 112);
        d += 128;
      }
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        for (let j = 0; j < 8; j++) store<f32>(d + (<usize>j << 2), load<f32>(r0 + <usize>j * lds + o));
        d += 32;
      }
    } else {
      let d = dst;
      for (let k = 0; k < K; k++) {
        const o = <usize>k << 2;
        v128.store(d, f32x4.splat(0));
        v128.store(d, f32x4.splat(0), 16);
        for (let j = 0; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(r0 + <usize>j * lds + o));
        d += 32;
      }
    }
    dst += <usize>K << 5;
  }
}

/** Stores (or adds) up to 8 columns of one row of the micro-tile. */
// @ts-ignore: decorator
@inline
function storeRow(c: usize, lo: v128, hi: v128, cols: i32, add: bool): void {
  if (cols == 8) {
    if (add) {
      lo = f32x4.add(v128.load(c), lo);
      hi = f32x4.add(v128.load(c, 16), hi);
    }
    v128.store(c, lo);
    v128.store(c, hi, 16);
    return;
  }
  for (let j = 0; j < cols; j++) {
    let v: f32;
    switch (j) {
      case 0: v = f32x4.extract_lane(lo, 0); break;
      case 1: v = f32x4.extract_lane(lo, 1); break;
      case 2: v = f32x4.extract_lane(lo, 2); break;
      case 3: v = f32x4.extract_lane(lo, 3); break;
      case 4: v = f32x4.extract_lane(hi, 0); break;
      case 5: v = f32x4.extract_lane(hi, 1); break;
      case 6: v = f32x4.extract_lane(hi, 2); break;
      default: v = f32x4.extract_lane(hi, 3); break;
    }
    const p = c + (<usize>j << 2);
    store<f32>(p, add ? load<f32>(p) + v : v);
  }
}

/** The 4×8 micro-kernel over kc steps (matmul.ts's micro4x8): ap a panel [kc][4], bp a panel [kc][8]. Not unrolled (V8). */
function micro4x8(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  let c0l = f32x4.splat(0), c0h = f32x4.splat(0);
  let c1l = f32x4.splat(0), c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0), c2h = f32x4.splat(0);
  let c3l = f32x4.splat(0), c3h = f32x4.splat(0);
  const end = bp + (<usize>kc << 5);
  while (bp < end) {
    const bl = v128.load(bp), bh = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c0l = fma(c0l, a, bl); c0h = fma(c0h, a, bh);
    a = v128.load32_splat(ap, 4);
    c1l = fma(c1l, a, bl); c1h = fma(c1h, a, bh);
    a = v128.load32_splat(ap, 8);
    c2l = fma(c2l, a, bl); c2h = fma(c2h, a, bh);
    a = v128.load32_splat(ap, 12);
    c3l = fma(c3l, a, bl); c3h = fma(c3h, a, bh);
    ap += 16;
    bp += 32;
  }
  storeRow(c, c0l, c0h, cols, add);
  if (rows > 1) storeRow(c + ldc, c1l, c1h, cols, add);
  if (rows > 2) storeRow(c + 2 * ldc, c2l, c2h, cols, add);
  if (rows > 3) storeRow(c + 3 * ldc, c3l, c3h, cols, add);
}

/** C[M][N] (= or += when add) Ap·Bp over K ≥ 1, from panels packed by packA and packB/packBt with this K. */
export function gemmTile(c: usize, ldc: usize, ap: usize, bp: usize, M: i32, N: i32, K: i32, add: bool): void {
  const aStep = <usize>K << 4;
  const bStep = <usize>K << 5;
  for (let n = 0; n < N; n += 8) {
    const cols = min(8, N - n);
    let a = ap;
    for (let m = 0; m < M; m += 4) {
      micro4x8(c + <usize>m * ldc + (<usize>n << 2), ldc, a, bp, K, min(4, M - m), cols, add);
      a += aStep;
    }
    bp += bStep;
  }
}

/** Scales C_r[0, D) by f. */
// @ts-ignore: decorator
@inline
export function scaleRow(c: usize, D: i32, f: f32): void {
  const fv = f32x4.splat(f);
  let d = 0;
  for (; d + 4 <= D; d += 4) {
    const p = c + (<usize>d << 2);
    v128.store(p, f32x4.mul(v128.load(p), fv));
  }
  for (; d < D; d++) {
    const p = c + (<usize>d << 2);
    store<f32>(p, load<f32>(p) * f);
  }
}
