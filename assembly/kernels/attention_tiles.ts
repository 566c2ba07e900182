// Tile helpers of the fused attention kernels (attention.ts): a block of dot products vectorised over the
// head dim D, and a block of row updates C_r += Σ_c P[r][c]·B_c, also vectorised over D. Strides in bytes.
// Both are separate, non-inlined functions so V8's optimising tier takes over between calls.

/**
 * S[r][c] = A_r · B_c for r < na and c < ⌈nb/4⌉·4 (columns past nb repeat B_{nb−1}: callers ignore them),
 * computed 2 rows × 4 columns at a time in eight f32x4 accumulators; each dot sums lanes as
 * (l0 + l2) + (l1 + l3), then adds the D mod 4 tail. nb ≥ 1, na ≥ 1.
 */
export function dotTile(s: usize, lds: usize, a: usize, lda: usize, na: i32, b: usize, ldb: usize, nb: i32, D: i32): void {
  const D4 = D & ~3;
  const bytes4 = <usize>D4 << 2;
  const last = b + <usize>(nb - 1) * ldb;
  for (let r = 0; r < na; r += 2) {
    const a0 = a + <usize>r * lda;
    const two = r + 1 < na;
    const a1 = two ? a0 + lda : a0;
    const s0 = s + <usize>r * lds;
    for (let c = 0; c < nb; c += 4) {
      const b0 = b + <usize>c * ldb;
      const b1 = c + 1 < nb ? b0 + ldb : last;
      const b2 = c + 2 < nb ? b0 + 2 * ldb : last;
      const b3 = c + 3 < nb ? b0 + 3 * ldb : last;
      let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
      let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
      for (let o: usize = 0; o < bytes4; o += 16) {
        const p = v128.load(a0 + o);
        const q = v128.load(a1 + o);
        let kv = v128.load(b0 + o);
        x0 = f32x4.add(x0, f32x4.mul(p, kv));
        y0 = f32x4.add(y0, f32x4.mul(q, kv));
        kv = v128.load(b1 + o);
        x1 = f32x4.add(x1, f32x4.mul(p, kv));
        y1 = f32x4.add(y1, f32x4.mul(q, kv));
        kv = v128.load(b2 + o);
        x2 = f32x4.add(x2, f32x4.mul(p, kv));
        y2 = f32x4.add(y2, f32x4.mul(q, kv));
        kv = v128.load(b3 + o);
        x3 = f32x4.add(x3, f32x4.mul(p, kv));
        y3 = f32x4.add(y3, f32x4.mul(q, kv));
      }
      let sx = sum4x4(x0, x1, x2, x3);
      let sy = sum4x4(y0, y1, y2, y3);
      for (let d = D4; d < D; d++) {
        const o = <usize>d << 2;
        let kv = f32x4.splat(load<f32>(b0 + o));
        kv = f32x4.replace_lane(kv, 1, load<f32>(b1 + o));
        kv = f32x4.replace_lane(kv, 2, load<f32>(b2 + o));
        kv = f32x4.replace_lane(kv, 3, load<f32>(b3 + o));
        sx = f32x4.add(sx, f32x4.mul(v128.load32_splat(a0 + o), kv));
        sy = f32x4.add(sy, f32x4.mul(v128.load32_splat(a1 + o), kv));
      }
      v128.store(s0 + (<usize>c << 2), sx);
      if (two) v128.store(s0 + lds + (<usize>c << 2), sy);
    }
  }
}

/** [Σ lanes of a, Σ b, Σ c, Σ d], each as (l0 + l2) + (l1 + l3). */
// @ts-ignore: decorator
@inline
function sum4x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const u = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const w = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(u, w, 0, 1, 4, 5), v128.shuffle<f32>(u, w, 2, 3, 6, 7));
}

/**
 * C_r[0, D) += Σ_{c < w} P[r][c] · B_c[0, D) for r < rows: 4 rows × 8 columns of D per micro-tile (eight
 * accumulators), then 4 columns, then a scalar tail; each C element gets one add of its sum over c in order.
 */
export function accumRows(c: usize, ldc: usize, p: usize, ldp: usize, rows: i32, w: i32, b: usize, ldb: usize, D: i32): void {
  const wb = <usize>w << 2;
  for (let r = 0; r < rows; r += 4) {
    const n = min(4, rows - r);
    const p0 = p + <usize>r * ldp;
    const p1 = n > 1 ? p0 + ldp : p0;
    const p2 = n > 2 ? p0 + 2 * ldp : p0;
    const p3 = n > 3 ? p0 + 3 * ldp : p0;
    const c0 = c + <usize>r * ldc;
    let d = 0;
    for (; d + 8 <= D; d += 8) {
      let a0l = f32x4.splat(0), a0h = f32x4.splat(0), a1l = f32x4.splat(0), a1h = f32x4.splat(0);
      let a2l = f32x4.splat(0), a2h = f32x4.splat(0), a3l = f32x4.splat(0), a3h = f32x4.splat(0);
      let bp = b + (<usize>d << 2);
      for (let o: usize = 0; o < wb; o += 4) {
        const bl = v128.load(bp);
        const bh = v128.load(bp, 16);
        let x = v128.load32_splat(p0 + o);
        a0l = f32x4.add(a0l, f32x4.mul(x, bl));
        a0h = f32x4.add(a0h, f32x4.mul(x, bh));
        x = v128.load32_splat(p1 + o);
        a1l = f32x4.add(a1l, f32x4.mul(x, bl));
        a1h = f32x4.add(a1h, f32x4.mul(x, bh));
        x = v128.load32_splat(p2 + o);
        a2l = f32x4.add(a2l, f32x4.mul(x, bl));
        a2h = f32x4.add(a2h, f32x4.mul(x, bh));
        x = v128.load32_splat(p3 + o);
        a3l = f32x4.add(a3l, f32x4.mul(x, bl));
        a3h = f32x4.add(a3h, f32x4.mul(x, bh));
        bp += ldb;
      }
      const cd = c0 + (<usize>d << 2);
      addRow8(cd, a0l, a0h);
      if (n > 1) addRow8(cd + ldc, a1l, a1h);
      if (n > 2) addRow8(cd + 2 * ldc, a2l, a2h);
      if (n > 3) addRow8(cd + 3 * ldc, a3l, a3h);
    }
    if (d + 4 <= D) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let bp = b + (<usize>d << 2);
      for (let o: usize = 0; o < wb; o += 4) {
        const bv = v128.load(bp);
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(p0 + o), bv));
        a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(p1 + o), bv));
        a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(p2 + o), bv));
        a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(p3 + o), bv));
        bp += ldb;
      }
      const cd = c0 + (<usize>d << 2);
      v128.store(cd, f32x4.add(v128.load(cd), a0));
      if (n > 1) v128.store(cd + ldc, f32x4.add(v128.load(cd + ldc), a1));
      if (n > 2) v128.store(cd + 2 * ldc, f32x4.add(v128.load(cd + 2 * ldc), a2));
      if (n > 3) v128.store(cd + 3 * ldc, f32x4.add(v128.load(cd + 3 * ldc), a3));
      d += 4;
    }
    for (; d < D; d++) {
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      let bp = b + (<usize>d << 2);
      for (let o: usize = 0; o < wb; o += 4) {
        const bv = load<f32>(bp);
        s0 += load<f32>(p0 + o) * bv;
        s1 += load<f32>(p1 + o) * bv;
        s2 += load<f32>(p2 + o) * bv;
        s3 += load<f32>(p3 + o) * bv;
        bp += ldb;
      }
      const cd = c0 + (<usize>d << 2);
      store<f32>(cd, load<f32>(cd) + s0);
      if (n > 1) store<f32>(cd + ldc, load<f32>(cd + ldc) + s1);
      if (n > 2) store<f32>(cd + 2 * ldc, load<f32>(cd + 2 * ldc) + s2);
      if (n > 3) store<f32>(cd + 3 * ldc, load<f32>(cd + 3 * ldc) + s3);
    }
  }
}

// @ts-ignore: decorator
@inline
function addRow8(c: usize, lo: v128, hi: v128): void {
  v128.store(c, f32x4.add(v128.load(c), lo));
  v128.store(c, f32x4.add(v128.load(c, 16), hi), 16);
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
