// C[M,N] (= or +=) A[M,K]·B[K,N]. A is first packed into MR-row panels and B into NR-column panels, both
// zero-padded, each read through element strides, so A·B, A·Bᵀ, Aᵀ·B and Aᵀ·Bᵀ share one compute kernel that reads
// two contiguous streams. Both are stored k-block by k-block (panelAt): Ap[K/KC][ceil(M/MR)][kc][MR], likewise Bp.
// Work items: output tiles of MB rows × NB columns, column-major. Each C element is summed by one thread over fixed
// K-blocks of KC = 256, in k order: bit-identical for any thread count, and for every tile variant (4×8, the default,
// unsuffixed; 4×8s; 4×8p; 2×16; 2×16p; 3×12: one source, instantiated with constant sizes), since the tile only
// decides which elements are computed together. How a tile gets each A value into all four lanes:
// - 4×8 and 2×16: splatting loads from [kc][MR] panels (A_LOADS; the attention tiles' micro4x8 too).
// - 4×8s and 3×12: shuffles of one 16-byte load per k (A_SHUFFLE; 3×12 reads 4 bytes past A's last panel: the
//   host puts B's panels there). 3×12 on splatted panels spills: V8 loads a step's operands first, and 9 sums + 3 +
//   3 vectors + a product pass its 15 registers (measured at half speed).
// - 4×8p and 2×16p: panels packed already splatted, [kc][MR][4] (A_SPLATTED), read with plain loads whose offsets
//   fold into the address. Under Node 20 (V8 11.3) that is 10–20 % faster than splatting loads (no lea, and a
//   better order of the multiplies); under Node 22 and 24 a few % slower (four times A's bytes, and V8 there
//   places each load beside its use). Interleaved, one thread, Zen 5; docs/results/matmul-tiles.md. The engine's
//   trial picks among all six.
import { madd } from './math';

const KC: i32 = 256;
/** How the micro-kernel splats A (see the top). */
const A_LOADS: i32 = 0,
  A_SHUFFLE: i32 = 1,
  A_SPLATTED: i32 = 2;

/**
 * Where a packed operand's panel p holds its k-block from k0: panels are stored k-block by k-block, each block the
 * panels in order ([K/KC][panels][kc][R]), so the panels a tile runs through one after the other are adjacent in
 * memory and the hardware prefetcher streams the next while the current one is used.
 */
// @ts-ignore: decorator
@inline
function panelAt(base: usize, panels: i32, p: i32, k0: i32, K: i32, R: i32): usize {
  return base + ((<usize>k0 * <usize>panels + <usize>p * <usize>min(KC, K - k0)) * <usize>R << 2);
}

/** Transposes the 4×4 block whose rows are r0…r3 (each four f32) and stores its columns at dst, dst + stride, … */
function storeTransposed4x4(dst: usize, stride: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/** Packs NR-column panels [start, end) of B (element (k, n) at b[k·ldbK + n·ldbN]) into bp (NR = 4·nv, nv ≤ 4). */
// @ts-ignore: decorator
@inline
function packB(nv: i32, bp: usize, b: usize, K: i32, N: i32, ldbK: i32, ldbN: i32, start: i32, end: i32): void {
  const NR = nv << 2;
  const strideK = (<usize>ldbK) << 2;
  const panels = (N + NR - 1) / NR;
  let p = start;
  // B stored [K, N] with 8- or 12-column panels: the panels that share a k's cache lines packed together (G·NR
  // a multiple of 16), each line read once. Panel by panel, a power-of-two N (rows 2ᵏ bytes apart) keeps a
  // block's lines in the same few L1 sets, gone before the next panel reads them (Zen 5, K 1024 × N 2048: 4×8's
  // packing 1.10 → 0.61 ms, 3×12's 0.70 → 0.37)
  const G = nv == 2 ? 2 : nv == 3 ? 4 : 1;
  if (ldbN == 1 && G > 1)
    for (; p + G <= end && (p + G) * NR <= N; p += G)
      for (let k0 = 0; k0 < K; k0 += KC) {
        const kc = min(KC, K - k0);
        const pstride = <usize>kc * <usize>(NR << 2); // bytes from one panel's block to the next's
        let dst = panelAt(bp, panels, p, k0, K, NR);
        let src = b + <usize>k0 * strideK + (<usize>(p * NR) << 2);
        for (let k = 0; k < kc; k++) {
          for (let g = 0; g < G; g++) {
            const s = src + <usize>(g * NR << 2), d = dst + <usize>g * pstride;
            v128.store(d, v128.load(s));
            v128.store(d, v128.load(s, 16), 16);
            if (nv > 2) v128.store(d, v128.load(s, 32), 32);
          }
          src += strideK;
          dst += <usize>(NR << 2);
        }
      }
  for (; p < end; p++)
    for (let k0 = 0; k0 < K; k0 += KC)
      packBBlock(nv, panelAt(bp, panels, p, k0, K, NR), b + <usize>k0 * strideK, min(KC, K - k0), p * NR, N, ldbK, ldbN);
}

/** Packs rows [0, kc) of B's columns [n0, n0 + NR) (b: B at this block's first row) into dst [kc][NR]. */
// @ts-ignore: decorator
@inline
function packBBlock(nv: i32, dst: usize, b: usize, K: i32, n0: i32, N: i32, ldbK: i32, ldbN: i32): void {
  const NR = nv << 2;
  const rowBytes = <usize>(NR << 2);
  const strideK = (<usize>ldbK) << 2;
    const cols = min(NR, N - n0);
    if (ldbN == 1 && cols == NR) {
      let src = b + ((<usize>n0) << 2);
      for (let k = 0; k < K; k++) {
        v128.store(dst, v128.load(src));
        if (nv > 1) v128.store(dst, v128.load(src, 16), 16);
        if (nv > 2) v128.store(dst, v128.load(src, 32), 32);
        if (nv > 3) v128.store(dst, v128.load(src, 48), 48);
        src += strideK;
        dst += rowBytes;
      }
    } else if (ldbK == 1 && cols == NR) {
      // Bᵀ stored [N, K]: each column runs along k; 4×4 transposes of blocks of 4 columns × 4 k
      const strideN = (<usize>ldbN) << 2;
      const c0 = b + <usize>n0 * strideN;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const o = (<usize>k) << 2;
        for (let q = 0; q < nv; q++) {
          const cq = c0 + <usize>(q << 2) * strideN + o;
          storeTransposed4x4(
            dst + ((<usize>q) << 4),
            rowBytes,
            v128.load(cq),
            v128.load(cq + strideN),
            v128.load(cq + 2 * strideN),
            v128.load(cq + 3 * strideN),
          );
        }
        dst += rowBytes << 2;
      }
      for (; k < K; k++) {
        for (let j = 0; j < NR; j++)
          store<f32>(dst + ((<usize>j) << 2), load<f32>(c0 + <usize>j * strideN + ((<usize>k) << 2)));
        dst += rowBytes;
      }
    } else {
      const strideN = (<usize>ldbN) << 2;
      let col = b + <usize>n0 * strideN;
      for (let k = 0; k < K; k++) {
        v128.store(dst, f32x4.splat(0));
        if (nv > 1) v128.store(dst, f32x4.splat(0), 16);
        if (nv > 2) v128.store(dst, f32x4.splat(0), 32);
        if (nv > 3) v128.store(dst, f32x4.splat(0), 48);
        let src = col;
        for (let j = 0; j < cols; j++) {
          store<f32>(dst + ((<usize>j) << 2), load<f32>(src));
          src += strideN;
        }
        col += strideK;
        dst += rowBytes;
      }
    }
}

/** pack_b_f32 (8-column panels, the 4×8 tile's), __16 (2×16), __12 (3×12): one source, nv = NR / 4. */
export function pack_b_f32(bp: usize, b: usize, K: i32, N: i32, ldbK: i32, ldbN: i32, start: i32, end: i32): void {
  packB(2, bp, b, K, N, ldbK, ldbN, start, end);
}
export function pack_b_f32__16(bp: usize, b: usize, K: i32, N: i32, ldbK: i32, ldbN: i32, start: i32, end: i32): void {
  packB(4, bp, b, K, N, ldbK, ldbN, start, end);
}
export function pack_b_f32__12(bp: usize, b: usize, K: i32, N: i32, ldbK: i32, ldbN: i32, start: i32, end: i32): void {
  packB(3, bp, b, K, N, ldbK, ldbN, start, end);
}

/** Stores (or adds) the first `cols` of one micro-tile row v0 v1 v2 v3 (out of line: one call per tile row). */
function storeRow(c: usize, v0: v128, v1: v128, v2: v128, v3: v128, cols: i32, add: bool): void {
  // whole vectors first (straight-line: a full tile row takes no loop), then the lanes of the next one
  let v = v0;
  if (cols >= 4) {
    storeVec(c, v0, add);
    v = v1;
    if (cols >= 8) {
      storeVec(c + 16, v1, add);
      v = v2;
      if (cols >= 12) {
        storeVec(c + 32, v2, add);
        v = v3;
        if (cols >= 16) storeVec(c + 48, v3, add);
      }
    }
  }
  const rest = cols & 3;
  if (rest == 0) return;
  c += (<usize>(cols & ~3)) << 2;
  storeLane(c, f32x4.extract_lane(v, 0), add);
  if (rest > 1) storeLane(c + 4, f32x4.extract_lane(v, 1), add);
  if (rest > 2) storeLane(c + 8, f32x4.extract_lane(v, 2), add);
}

// @ts-ignore: decorator
@inline
function storeVec(c: usize, v: v128, add: bool): void {
  v128.store(c, add ? f32x4.add(v128.load(c), v) : v);
}

// @ts-ignore: decorator
@inline
function storeLane(p: usize, x: f32, add: bool): void {
  store<f32>(p, add ? load<f32>(p) + x : x);
}

/**
 * The mr×(4·nv) micro-kernel over kc steps of k (mr ≤ 4, nv ≤ 4, mr·nv ≤ 9 accumulators plus nv B vectors and
 * one splatted A value: within the 15 xmm registers V8 allocates): ap is a packed A panel [kc][mr], bp a packed
 * B panel [kc][4·nv]. Not unrolled: V8 (Node 20) runs the unrolled forms at half speed (measured: ×2 and ×4
 * unrolls of 4×8 fall from 40 to 17 GFLOP/s). Inlined into one function per tile (micro4x8, …), which has a
 * loop and two callers, so Binaryen does not inline it and V8's optimising tier takes over between calls.
 */
// @ts-ignore: decorator
@inline
function microBody(
  mr: i32,
  nv: i32,
  splat: i32,
  c: usize,
  ldc: usize,
  ap: usize,
  bp: usize,
  kc: i32,
  rows: i32,
  cols: i32,
  add: bool,
): void {
  const z = f32x4.splat(0);
  let c00 = z,
    c01 = z,
    c02 = z,
    c03 = z;
  let c10 = z,
    c11 = z,
    c12 = z,
    c13 = z;
  let c20 = z,
    c21 = z,
    c22 = z,
    c23 = z;
  let c30 = z,
    c31 = z,
    c32 = z,
    c33 = z;
  const end = bp + <usize>kc * <usize>(nv << 4);
  // one k step: nv B vectors, mr splatted A values, mr·nv multiply-adds; immediate offsets only, so V8 folds
  // every address into the load and the loop advances two pointers
  while (bp < end && splat == A_SHUFFLE) {
    // A's row at this k as one vector, each value splatted by a shuffle where it is used: V8 hoists every
    // load to the top of the step, so splatting loads would keep mr values live at once (3×12 then spills)
    const av = v128.load(ap);
    const b0 = v128.load(bp);
    const b1 = nv > 1 ? v128.load(bp, 16) : z;
    const b2 = nv > 2 ? v128.load(bp, 32) : z;
    const b3 = nv > 3 ? v128.load(bp, 48) : z;
    let a = v128.shuffle<f32>(av, av, 0, 0, 0, 0);
    c00 = madd(a, b0, c00);
    if (nv > 1) c01 = madd(a, b1, c01);
    if (nv > 2) c02 = madd(a, b2, c02);
    if (nv > 3) c03 = madd(a, b3, c03);
    if (mr > 1) {
      a = v128.shuffle<f32>(av, av, 1, 1, 1, 1);
      c10 = madd(a, b0, c10);
      if (nv > 1) c11 = madd(a, b1, c11);
      if (nv > 2) c12 = madd(a, b2, c12);
      if (nv > 3) c13 = madd(a, b3, c13);
    }
    if (mr > 2) {
      a = v128.shuffle<f32>(av, av, 2, 2, 2, 2);
      c20 = madd(a, b0, c20);
      if (nv > 1) c21 = madd(a, b1, c21);
      if (nv > 2) c22 = madd(a, b2, c22);
      if (nv > 3) c23 = madd(a, b3, c23);
    }
    if (mr > 3) {
      a = v128.shuffle<f32>(av, av, 3, 3, 3, 3);
      c30 = madd(a, b0, c30);
      if (nv > 1) c31 = madd(a, b1, c31);
      if (nv > 2) c32 = madd(a, b2, c32);
      if (nv > 3) c33 = madd(a, b3, c33);
    }
    ap += <usize>(mr << 2);
    bp += <usize>(nv << 4);
  }
  const splatted = splat == A_SPLATTED;
  // 2×16 splatted in a loop of its own, written out: through the general loop below, V8 (Node 20) orders its
  // multiplies last-loaded B first, and the tile runs 15 % slower (the same wasm but for which locals Binaryen
  // reuses; measured on Zen 5)
  while (bp < end && splatted && mr == 2 && nv == 4) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const b2 = v128.load(bp, 32);
    const b3 = v128.load(bp, 48);
    let a = v128.load(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    c02 = madd(a, b2, c02);
    c03 = madd(a, b3, c03);
    a = v128.load(ap, 16);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    c12 = madd(a, b2, c12);
    c13 = madd(a, b3, c13);
    ap += 32;
    bp += 64;
  }
  // A_LOADS or A_SPLATTED (both constant: Binaryen keeps one form of each load)
  while (bp < end && splat != A_SHUFFLE) {
    const b0 = v128.load(bp);
    const b1 = nv > 1 ? v128.load(bp, 16) : z;
    const b2 = nv > 2 ? v128.load(bp, 32) : z;
    const b3 = nv > 3 ? v128.load(bp, 48) : z;
    let a = splatted ? v128.load(ap) : v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    if (nv > 1) c01 = madd(a, b1, c01);
    if (nv > 2) c02 = madd(a, b2, c02);
    if (nv > 3) c03 = madd(a, b3, c03);
    if (mr > 1) {
      a = splatted ? v128.load(ap, 16) : v128.load32_splat(ap, 4);
      c10 = madd(a, b0, c10);
      if (nv > 1) c11 = madd(a, b1, c11);
      if (nv > 2) c12 = madd(a, b2, c12);
      if (nv > 3) c13 = madd(a, b3, c13);
    }
    if (mr > 2) {
      a = splatted ? v128.load(ap, 32) : v128.load32_splat(ap, 8);
      c20 = madd(a, b0, c20);
      if (nv > 1) c21 = madd(a, b1, c21);
      if (nv > 2) c22 = madd(a, b2, c22);
      if (nv > 3) c23 = madd(a, b3, c23);
    }
    if (mr > 3) {
      a = splatted ? v128.load(ap, 48) : v128.load32_splat(ap, 12);
      c30 = madd(a, b0, c30);
      if (nv > 1) c31 = madd(a, b1, c31);
      if (nv > 2) c32 = madd(a, b2, c32);
      if (nv > 3) c33 = madd(a, b3, c33);
    }
    ap += <usize>(splatted ? mr << 4 : mr << 2);
    bp += <usize>(nv << 4);
  }
  storeRow(c, c00, c01, c02, c03, cols, add);
  if (mr > 1 && rows > 1) storeRow(c + ldc, c10, c11, c12, c13, cols, add);
  if (mr > 2 && rows > 2) storeRow(c + 2 * ldc, c20, c21, c22, c23, cols, add);
  if (mr > 3 && rows > 3) storeRow(c + 3 * ldc, c30, c31, c32, c33, cols, add);
}

/** The 4×8 micro-kernel on [kc][4] A panels: the fused attention's tiles (attention-tiles.ts) run it. */
export function micro4x8(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  microBody(4, 2, A_LOADS, c, ldc, ap, bp, kc, rows, cols, add);
}
function micro4x8p(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  microBody(4, 2, A_SPLATTED, c, ldc, ap, bp, kc, rows, cols, add);
}
function micro4x8s(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  microBody(4, 2, A_SHUFFLE, c, ldc, ap, bp, kc, rows, cols, add);
}
function micro2x16(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  microBody(2, 4, A_LOADS, c, ldc, ap, bp, kc, rows, cols, add);
}
function micro2x16p(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  microBody(2, 4, A_SPLATTED, c, ldc, ap, bp, kc, rows, cols, add);
}
function micro3x12(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  microBody(3, 3, A_SHUFFLE, c, ldc, ap, bp, kc, rows, cols, add);
}

/**
 * Packs MR-row panels [start, end) of A (element (m, k) at a[m·ldaM + k·ldaK]) into ap (panelAt), zero past M;
 * splatted, each value four times ([kc][MR][4]).
 */
// @ts-ignore: decorator
@inline
function packA(MR: i32, splat: bool, ap: usize, a: usize, M: i32, K: i32, ldaM: i32, ldaK: i32, start: i32, end: i32): void {
  const strideK = (<usize>ldaK) << 2;
  const panels = (M + MR - 1) / MR;
  const R = splat ? MR << 2 : MR;
  let p = start;
  if (ldaM == 1 && MR != 3) {
    // Aᵀ stored [K, M] (a weight gradient's xᵀ): a k's 16 values (one cache line, 16 / MR panels) at a time. Panel
    // by panel, each line was fetched once per panel: A's rows lie M·4 bytes apart, so a block's kc lines fall in
    // the same few L1 sets and are gone before the next panel reads them (Zen 5, Aᵀ of 2048 × 1024: 2×16p's
    // packing 3.7 → 2.0 ms, 2×16's 4.1 → 1.4, 4×8's 2.0 → 1.25)
    const G = 16 / MR;
    for (; p + G <= end && (p + G) * MR <= M; p += G)
      for (let k0 = 0; k0 < K; k0 += KC) {
        const kc = min(KC, K - k0);
        const pstride = <usize>kc * <usize>(R << 2); // bytes from one panel's block to the next's
        let dst = panelAt(ap, panels, p, k0, K, R);
        let src = a + <usize>k0 * strideK + (<usize>(p * MR) << 2);
        for (let k = 0; k < kc; k++) {
          for (let q = 0; q < 4; q++) {
            // values 4q … 4q + 3 of the line: the rows of panel q (MR = 4), or of panels 2q and 2q + 1 (MR = 2)
            const v = v128.load(src + (<usize>q << 4));
            const d0 = MR == 4 ? dst + <usize>q * pstride : dst + <usize>(2 * q) * pstride;
            if (!splat && MR == 4) v128.store(d0, v);
            else if (!splat) {
              store<u64>(d0, i64x2.extract_lane(v, 0));
              store<u64>(d0 + pstride, i64x2.extract_lane(v, 1));
            } else {
              const d2 = MR == 4 ? d0 + 32 : d0 + pstride;
              v128.store(d0, v128.shuffle<f32>(v, v, 0, 0, 0, 0));
              v128.store(d0, v128.shuffle<f32>(v, v, 1, 1, 1, 1), 16);
              v128.store(d2, v128.shuffle<f32>(v, v, 2, 2, 2, 2));
              v128.store(d2, v128.shuffle<f32>(v, v, 3, 3, 3, 3), 16);
            }
          }
          src += strideK;
          dst += <usize>(R << 2);
        }
      }
  }
  for (; p < end; p++)
    for (let k0 = 0; k0 < K; k0 += KC) {
      const dst = panelAt(ap, panels, p, k0, K, R);
      packABlock(MR, splat, dst, a + <usize>k0 * strideK, min(KC, K - k0), p * MR, M, ldaM, ldaK);
    }
}

/**
 * Packs columns [0, K) of A's rows [m0, m0 + MR) (a: A at this block's first column) into dst [K][MR], or splatted
 * [K][MR][4].
 */
// @ts-ignore: decorator
@inline
function packABlock(MR: i32, splat: bool, dst: usize, a: usize, K: i32, m0: i32, M: i32, ldaM: i32, ldaK: i32): void {
  const rowBytes = <usize>(MR << 2);
  const strideM = (<usize>ldaM) << 2;
  const strideK = (<usize>ldaK) << 2;
    const rows = min(MR, M - m0);
    const r0 = a + <usize>m0 * strideM;
    if (splat && rows == MR && ldaK == 1) {
      // A stored [M, K]: four k of a row in one load, each splatted by a shuffle
      const step = <usize>(MR << 4); // bytes of one k in the panel
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const o = (<usize>k) << 2;
        for (let r = 0; r < MR; r++) {
          const v = v128.load(r0 + <usize>r * strideM + o);
          const d = dst + ((<usize>r) << 4);
          v128.store(d, v128.shuffle<f32>(v, v, 0, 0, 0, 0));
          v128.store(d + step, v128.shuffle<f32>(v, v, 1, 1, 1, 1));
          v128.store(d + 2 * step, v128.shuffle<f32>(v, v, 2, 2, 2, 2));
          v128.store(d + 3 * step, v128.shuffle<f32>(v, v, 3, 3, 3, 3));
        }
        dst += step << 2;
      }
      for (; k < K; k++) {
        for (let r = 0; r < MR; r++)
          v128.store(dst + ((<usize>r) << 4), v128.load32_splat(r0 + <usize>r * strideM + ((<usize>k) << 2)));
        dst += step;
      }
    } else if (splat) {
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < MR; r++) {
          const v = r < rows ? v128.load32_splat(r0 + <usize>r * strideM + off) : f32x4.splat(0);
          v128.store(dst + ((<usize>r) << 4), v);
        }
        off += strideK;
        dst += rowBytes << 2;
      }
    } else if (rows == MR && ldaM == 1) {
      // Aᵀ stored [K, M]: the panel's rows are contiguous at every k
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        if (MR == 4) v128.store(dst, v128.load(r0 + off));
        else if (MR == 2) store<u64>(dst, load<u64>(r0 + off));
        else {
          store<u64>(dst, load<u64>(r0 + off));
          store<f32>(dst, load<f32>(r0 + off, 8), 8);
        }
        off += strideK;
        dst += rowBytes;
      }
    } else if (rows == MR && ldaK == 1) {
      // A stored [M, K]: MR rows × 4 k at a time, transposed in registers
      const r1 = r0 + strideM,
        r2 = r1 + strideM,
        r3 = r2 + strideM;
      let k = 0;
      if (MR == 4) {
        for (; k + 4 <= K; k += 4) {
          const o = (<usize>k) << 2;
          storeTransposed4x4(dst, 16, v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o));
          dst += 64;
        }
      } else if (MR == 2) {
        for (; k + 4 <= K; k += 4) {
          const o = (<usize>k) << 2;
          const x = v128.load(r0 + o),
            y = v128.load(r1 + o);
          v128.store(dst, v128.shuffle<f32>(x, y, 0, 4, 1, 5));
          v128.store(dst, v128.shuffle<f32>(x, y, 2, 6, 3, 7), 16);
          dst += 32;
        }
      } else {
        // 3 rows: a 4×4 transpose with a zero fourth row, columns stored 12 bytes apart (each store's fourth
        // lane is overwritten by the next; k + 4 < K keeps the last one inside this panel)
        for (; k + 4 < K; k += 4) {
          const o = (<usize>k) << 2;
          storeTransposed4x4(dst, 12, v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), f32x4.splat(0));
          dst += 48;
        }
      }
      for (; k < K; k++) {
        for (let r = 0; r < MR; r++)
          store<f32>(dst + ((<usize>r) << 2), load<f32>(r0 + <usize>r * strideM + ((<usize>k) << 2)));
        dst += rowBytes;
      }
    } else {
      // a ragged panel (rows past M are zero) or other strides
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < MR; r++)
          store<f32>(dst + ((<usize>r) << 2), r < rows ? load<f32>(r0 + <usize>r * strideM + off) : 0);
        off += strideK;
        dst += rowBytes;
      }
    }
}

/**
 * pack_a_f32 (4-row panels: the 4×8 and 4×8s tiles'), __4p (splatted: 4×8p), __2 (2×16), __2p (2×16p), __3 (3×12):
 * one source.
 */
export function pack_a_f32(ap: usize, a: usize, M: i32, K: i32, ldaM: i32, ldaK: i32, start: i32, end: i32): void {
  packA(4, false, ap, a, M, K, ldaM, ldaK, start, end);
}
export function pack_a_f32__4p(ap: usize, a: usize, M: i32, K: i32, ldaM: i32, ldaK: i32, start: i32, end: i32): void {
  packA(4, true, ap, a, M, K, ldaM, ldaK, start, end);
}
export function pack_a_f32__2(ap: usize, a: usize, M: i32, K: i32, ldaM: i32, ldaK: i32, start: i32, end: i32): void {
  packA(2, false, ap, a, M, K, ldaM, ldaK, start, end);
}
export function pack_a_f32__2p(ap: usize, a: usize, M: i32, K: i32, ldaM: i32, ldaK: i32, start: i32, end: i32): void {
  packA(2, true, ap, a, M, K, ldaM, ldaK, start, end);
}
export function pack_a_f32__3(ap: usize, a: usize, M: i32, K: i32, ldaM: i32, ldaK: i32, start: i32, end: i32): void {
  packA(3, false, ap, a, M, K, ldaM, ldaK, start, end);
}

/**
 * C[M,N] (= or +=, accumulate != 0) Ap·Bp for output tiles [start, end) of MB × NB (MB a multiple of MR, NB of
 * NR), from panels packed with this MR and NR. ldc is C's row stride in elements. K ≥ 1 (the host fills C for K = 0).
 */
// @ts-ignore: decorator
@inline
function tiles(
  MR: i32,
  NR: i32,
  splat: i32,
  MB: i32,
  NB: i32,
  c: usize,
  ap: usize,
  bp: usize,
  M: i32,
  N: i32,
  K: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  // column-major: the tiles of a column band share B's panels (the larger operand: NB > MB), which stay in L2
  // while A's panels stream; row-major streamed all of B once per row band
  const tilesM = (M + MB - 1) / MB;
  const ldcBytes = (<usize>ldc) << 2;
  const panelsA = (M + MR - 1) / MR;
  const panelsB = (N + NR - 1) / NR;
  for (let t = start; t < end; t++) {
    const m0 = (t % tilesM) * MB;
    const n0 = (t / tilesM) * NB;
    const m1 = min(M, m0 + MB);
    const n1 = min(N, n0 + NB);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      const add = accumulate != 0 || k0 > 0;
      for (let n = n0; n < n1; n += NR) {
        const bpanel = panelAt(bp, panelsB, n / NR, k0, K, NR);
        const cols = min(NR, n1 - n);
        for (let m = m0; m < m1; m += MR) {
          const apanel = panelAt(ap, panelsA, m / MR, k0, K, splat == A_SPLATTED ? MR << 2 : MR);
          const cm = c + <usize>m * ldcBytes + ((<usize>n) << 2);
          const rows = min(MR, m1 - m);
          // two call sites per tile (whole and ragged), so Binaryen keeps the micro-kernel a function of its own
          if (MR == 4 && splat == A_LOADS) {
            if (rows == MR) micro4x8(cm, ldcBytes, apanel, bpanel, kc, MR, cols, add);
            else micro4x8(cm, ldcBytes, apanel, bpanel, kc, rows, cols, add);
          } else if (MR == 4 && splat == A_SPLATTED) {
            if (rows == MR) micro4x8p(cm, ldcBytes, apanel, bpanel, kc, MR, cols, add);
            else micro4x8p(cm, ldcBytes, apanel, bpanel, kc, rows, cols, add);
          } else if (MR == 4) {
            if (rows == MR) micro4x8s(cm, ldcBytes, apanel, bpanel, kc, MR, cols, add);
            else micro4x8s(cm, ldcBytes, apanel, bpanel, kc, rows, cols, add);
          } else if (MR == 2 && splat == A_SPLATTED) {
            if (rows == MR) micro2x16p(cm, ldcBytes, apanel, bpanel, kc, MR, cols, add);
            else micro2x16p(cm, ldcBytes, apanel, bpanel, kc, rows, cols, add);
          } else if (MR == 2) {
            if (rows == MR) micro2x16(cm, ldcBytes, apanel, bpanel, kc, MR, cols, add);
            else micro2x16(cm, ldcBytes, apanel, bpanel, kc, rows, cols, add);
          } else {
            if (rows == MR) micro3x12(cm, ldcBytes, apanel, bpanel, kc, MR, cols, add);
            else micro3x12(cm, ldcBytes, apanel, bpanel, kc, rows, cols, add);
          }
        }
      }
    }
  }
}

/** The 4×8 tile (A splatted by loads, from pack_a_f32 and pack_b_f32) over output tiles of 64 × 128. */
export function matmul_f32(
  c: usize,
  ap: usize,
  bp: usize,
  M: i32,
  N: i32,
  K: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  tiles(4, 8, A_LOADS, 64, 128, c, ap, bp, M, N, K, ldc, accumulate, start, end);
}

/** The 4×8 tile with A splatted by shuffles (pack_a_f32, pack_b_f32), tiles of 64 × 128. */
export function matmul_f32__4x8s(
  c: usize,
  ap: usize,
  bp: usize,
  M: i32,
  N: i32,
  K: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  tiles(4, 8, A_SHUFFLE, 64, 128, c, ap, bp, M, N, K, ldc, accumulate, start, end);
}

/** The 4×8 tile on splatted A panels (pack_a_f32__4p, pack_b_f32), tiles of 64 × 128. */
export function matmul_f32__4x8p(
  c: usize,
  ap: usize,
  bp: usize,
  M: i32,
  N: i32,
  K: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  tiles(4, 8, A_SPLATTED, 64, 128, c, ap, bp, M, N, K, ldc, accumulate, start, end);
}

/** The 2×16 tile (pack_a_f32__2, pack_b_f32__16) over output tiles of 64 × 128. */
export function matmul_f32__2x16(
  c: usize,
  ap: usize,
  bp: usize,
  M: i32,
  N: i32,
  K: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  tiles(2, 16, A_LOADS, 64, 128, c, ap, bp, M, N, K, ldc, accumulate, start, end);
}

/** The 2×16 tile on splatted A panels (pack_a_f32__2p, pack_b_f32__16), tiles of 64 × 128. */
export function matmul_f32__2x16p(
  c: usize,
  ap: usize,
  bp: usize,
  M: i32,
  N: i32,
  K: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  tiles(2, 16, A_SPLATTED, 64, 128, c, ap, bp, M, N, K, ldc, accumulate, start, end);
}

/** The 3×12 tile (pack_a_f32__3, pack_b_f32__12) over output tiles of 48 × 120. */
export function matmul_f32__3x12(
  c: usize,
  ap: usize,
  bp: usize,
  M: i32,
  N: i32,
  K: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  tiles(3, 12, A_SHUFFLE, 48, 120, c, ap, bp, M, N, K, ldc, accumulate, start, end);
}
