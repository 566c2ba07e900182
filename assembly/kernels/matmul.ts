// C[M,N] (= or +=) A[M,K]·B[K,N]. A is first packed by pack_a_f32 into 4-row panels Ap[ceil(M/4)][K][4]
// and B by pack_b_f32 into 8-column panels Bp[ceil(N/8)][K][8], both zero-padded, each read through
// element strides, so A·B, A·Bᵀ, Aᵀ·B and Aᵀ·Bᵀ share one compute kernel that reads two contiguous streams.
// Work items: output tiles of MB rows × NB columns, numbered row-major. Each C element is summed by one
// thread over fixed K-blocks of KC, in order: bit-identical for any thread count.
// Register blocking: 4×8 micro-tile in eight f32x4 accumulators (the largest V8 keeps in 15 xmm registers).
import { madd } from './math';

const MR: i32 = 4;
const NR: i32 = 8;
const MB: i32 = 64;
const NB: i32 = 128;
const KC: i32 = 256;

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

/** Packs 8-column panels [start, end) of B (element (k, n) at b[k·ldbK + n·ldbN]) into bp. */
export function pack_b_f32(bp: usize, b: usize, K: i32, N: i32, ldbK: i32, ldbN: i32, start: i32, end: i32): void {
  const strideK = (<usize>ldbK) << 2;
  for (let p = start; p < end; p++) {
    const n0 = p * NR;
    const cols = min(NR, N - n0);
    let dst = bp + ((<usize>p * <usize>K * <usize>NR) << 2);
    if (ldbN == 1 && cols == NR) {
      let src = b + ((<usize>n0) << 2);
      for (let k = 0; k < K; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += strideK;
        dst += 32;
      }
    } else if (ldbK == 1 && cols == NR) {
      // Bᵀ stored [N, K]: each column runs along k; 4×4 transposes of blocks of 4 columns × 4 k
      const strideN = (<usize>ldbN) << 2;
      const c0 = b + <usize>n0 * strideN;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const o = (<usize>k) << 2;
        storeTransposed4x4(
          dst,
          32,
          v128.load(c0 + o),
          v128.load(c0 + strideN + o),
          v128.load(c0 + 2 * strideN + o),
          v128.load(c0 + 3 * strideN + o),
        );
        const c4 = c0 + 4 * strideN;
        storeTransposed4x4(
          dst + 16,
          32,
          v128.load(c4 + o),
          v128.load(c4 + strideN + o),
          v128.load(c4 + 2 * strideN + o),
          v128.load(c4 + 3 * strideN + o),
        );
        dst += 128;
      }
      for (; k < K; k++) {
        for (let j = 0; j < NR; j++)
          store<f32>(dst + ((<usize>j) << 2), load<f32>(c0 + <usize>j * strideN + ((<usize>k) << 2)));
        dst += 32;
      }
    } else {
      const strideN = (<usize>ldbN) << 2;
      let col = b + <usize>n0 * strideN;
      for (let k = 0; k < K; k++) {
        v128.store(dst, f32x4.splat(0));
        v128.store(dst, f32x4.splat(0), 16);
        let src = col;
        for (let j = 0; j < cols; j++) {
          store<f32>(dst + ((<usize>j) << 2), load<f32>(src));
          src += strideN;
        }
        col += strideK;
        dst += 32;
      }
    }
  }
}

/** Stores (or adds) up to 8 columns of one row of the micro-tile (out of line: four calls per tile). */
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
      case 0:
        v = f32x4.extract_lane(lo, 0);
        break;
      case 1:
        v = f32x4.extract_lane(lo, 1);
        break;
      case 2:
        v = f32x4.extract_lane(lo, 2);
        break;
      case 3:
        v = f32x4.extract_lane(lo, 3);
        break;
      case 4:
        v = f32x4.extract_lane(hi, 0);
        break;
      case 5:
        v = f32x4.extract_lane(hi, 1);
        break;
      case 6:
        v = f32x4.extract_lane(hi, 2);
        break;
      default:
        v = f32x4.extract_lane(hi, 3);
        break;
    }
    const p = c + ((<usize>j) << 2);
    store<f32>(p, add ? load<f32>(p) + v : v);
  }
}

/**
 * The 4×8 micro-kernel over kc steps of k: ap is a packed A panel [kc][4], bp a packed B panel [kc][8].
 * Not unrolled: V8 (Node 20) runs the unrolled forms at half speed (measured: ×2 and ×4 unrolls fall
 * from 40 to 17 GFLOP/s). Kept a separate function (it has a loop, so Binaryen does not inline it) so that V8's
 * optimising tier takes over between calls. The fused attention's tiles (attention-tiles.ts) run it too.
 */
export function micro4x8(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, rows: i32, cols: i32, add: bool): void {
  let c0l = f32x4.splat(0),
    c0h = f32x4.splat(0);
  let c1l = f32x4.splat(0),
    c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0),
    c2h = f32x4.splat(0);
  let c3l = f32x4.splat(0),
    c3h = f32x4.splat(0);
  const end = bp + ((<usize>kc) << 5);
  // one k step: 2 B vectors, 4 splatted A values, 8 multiply-adds; immediate offsets only, so V8 folds every
  // address into the load and the loop advances two pointers
  while (bp < end) {
    const bl = v128.load(bp),
      bh = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c0l = madd(a, bl, c0l);
    c0h = madd(a, bh, c0h);
    a = v128.load32_splat(ap, 4);
    c1l = madd(a, bl, c1l);
    c1h = madd(a, bh, c1h);
    a = v128.load32_splat(ap, 8);
    c2l = madd(a, bl, c2l);
    c2h = madd(a, bh, c2h);
    a = v128.load32_splat(ap, 12);
    c3l = madd(a, bl, c3l);
    c3h = madd(a, bh, c3h);
    ap += 16;
    bp += 32;
  }
  storeRow(c, c0l, c0h, cols, add);
  if (rows > 1) storeRow(c + ldc, c1l, c1h, cols, add);
  if (rows > 2) storeRow(c + 2 * ldc, c2l, c2h, cols, add);
  if (rows > 3) storeRow(c + 3 * ldc, c3l, c3h, cols, add);
}

/** Packs 4-row panels [start, end) of A (element (m, k) at a[m·ldaM + k·ldaK]) into ap[p][K][4], zero past M. */
export function pack_a_f32(ap: usize, a: usize, M: i32, K: i32, ldaM: i32, ldaK: i32, start: i32, end: i32): void {
  const strideM = (<usize>ldaM) << 2;
  const strideK = (<usize>ldaK) << 2;
  for (let p = start; p < end; p++) {
    const m0 = p * MR;
    const rows = min(MR, M - m0);
    let dst = ap + ((<usize>p * <usize>K * <usize>MR) << 2);
    const r0 = a + <usize>m0 * strideM;
    if (rows == MR && ldaM == 1) {
      // Aᵀ stored [K, M]: the panel's four rows are contiguous at every k
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        v128.store(dst, v128.load(r0 + off));
        off += strideK;
        dst += 16;
      }
    } else if (rows == MR && ldaK == 1) {
      // A stored [M, K]: 4×4 transposes of 4 rows × 4 k
      const r1 = r0 + strideM,
        r2 = r1 + strideM,
        r3 = r2 + strideM;
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const o = (<usize>k) << 2;
        storeTransposed4x4(dst, 16, v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o));
        dst += 64;
      }
      for (; k < K; k++) {
        for (let r = 0; r < MR; r++)
          store<f32>(dst + ((<usize>r) << 2), load<f32>(r0 + <usize>r * strideM + ((<usize>k) << 2)));
        dst += 16;
      }
    } else {
      // a ragged panel (rows past M are zero) or other strides
      let off: usize = 0;
      for (let k = 0; k < K; k++) {
        v128.store(dst, f32x4.splat(0));
        for (let r = 0; r < rows; r++) store<f32>(dst + ((<usize>r) << 2), load<f32>(r0 + <usize>r * strideM + off));
        off += strideK;
        dst += 16;
      }
    }
  }
}

/**
 * C[M,N] (= or +=, accumulate != 0) Ap·Bp for output tiles [start, end), from panels packed by
 * pack_a_f32 and pack_b_f32. ldc is C's row stride in elements. K must be ≥ 1 (the host fills C for K = 0).
 */
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
  const tilesN = (N + NB - 1) / NB;
  const ldcBytes = (<usize>ldc) << 2;
  for (let t = start; t < end; t++) {
    const m0 = (t / tilesN) * MB;
    const n0 = (t % tilesN) * NB;
    const m1 = min(M, m0 + MB);
    const n1 = min(N, n0 + NB);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      const add = accumulate != 0 || k0 > 0;
      for (let n = n0; n < n1; n += NR) {
        const bpanel = bp + ((<usize>(n / NR) * <usize>K + <usize>k0) << 5);
        const cols = min(NR, n1 - n);
        for (let m = m0; m < m1; m += MR) {
          const apanel = ap + ((<usize>(m / MR) * <usize>K + <usize>k0) << 4);
          micro4x8(
            c + <usize>m * ldcBytes + ((<usize>n) << 2),
            ldcBytes,
            apanel,
            bpanel,
            kc,
            min(MR, m1 - m),
            cols,
            add,
          );
        }
      }
    }
  }
}
