// C[M,N] (= or +=) A[M,K]·W for a few rows (decoding: one row per sequence or beam), W read as stored, never
// packed: gemv_f32__kn for W [K, N] (GPT-2's Conv1D), gemv_f32__nk for W [N, K] (torch Linear, tied LM heads).
// Work items: panels of 32 columns of C (all M rows). Each C element is summed as matmul_f32 sums it (k in
// order from zero over blocks of KC, each block then stored or added to C), so the bits equal matmul_f32's
// for any thread count. W is read once per call (a 32-column panel is ≤ 384 KB at K = 3072: it stays in L2
// while several 8-column tiles and row groups go over it).
import { madd } from './math';

const NP: i32 = 32; // columns per work item
const KC: i32 = 256; // matmul_f32's k block

/**
 * Stores (add: adds) the first `cols` lanes of v at c (at most 4; all four with one store). Out of line: it
 * runs once per tile and KC block.
 */
function store4(c: usize, v: v128, cols: i32, add: bool): void {
  if (cols >= 4) {
    v128.store(c, add ? f32x4.add(v128.load(c), v) : v);
    return;
  }
  store<f32>(c, add ? load<f32>(c) + f32x4.extract_lane(v, 0) : f32x4.extract_lane(v, 0));
  if (cols > 1) store<f32>(c, add ? load<f32>(c, 4) + f32x4.extract_lane(v, 1) : f32x4.extract_lane(v, 1), 4);
  if (cols > 2) store<f32>(c, add ? load<f32>(c, 8) + f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 2), 8);
}

/** Stores (or adds) up to 8 lanes, lo then hi. */
// @ts-ignore: decorator
@inline
function store8(c: usize, lo: v128, hi: v128, cols: i32, add: bool): void {
  store4(c, lo, cols, add);
  if (cols > 4) store4(c + 16, hi, cols - 4, add);
}

/** One row × 32 columns over kc steps of k; W [K, N] in place (sw bytes between rows k). */
function kn1x32(c: usize, x: usize, w: usize, sw: usize, kc: i32, add: bool): void {
  let c0 = f32x4.splat(0),
    c1 = f32x4.splat(0),
    c2 = f32x4.splat(0),
    c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0),
    c5 = f32x4.splat(0),
    c6 = f32x4.splat(0),
    c7 = f32x4.splat(0);
  const end = x + ((<usize>kc) << 2);
  while (x < end) {
    const a = v128.load32_splat(x);
    c0 = madd(a, v128.load(w), c0);
    c1 = madd(a, v128.load(w, 16), c1);
    c2 = madd(a, v128.load(w, 32), c2);
    c3 = madd(a, v128.load(w, 48), c3);
    c4 = madd(a, v128.load(w, 64), c4);
    c5 = madd(a, v128.load(w, 80), c5);
    c6 = madd(a, v128.load(w, 96), c6);
    c7 = madd(a, v128.load(w, 112), c7);
    x += 4;
    w += sw;
  }
  store8(c, c0, c1, 8, add);
  store8(c + 32, c2, c3, 8, add);
  store8(c + 64, c4, c5, 8, add);
  store8(c + 96, c6, c7, 8, add);
}

/**
 * Up to 4 rows × 8 columns over kc steps of k; W [K, N] in place. Rows past `rows` re-read the last row
 * (never stored), so one loop serves 1 to 4 rows.
 */
function kn4x8(c: usize, ldc: usize, x: usize, lda: usize, w: usize, sw: usize, kc: i32, rows: i32, add: bool): void {
  const o1 = rows > 1 ? lda : 0;
  const o2 = rows > 2 ? lda * 2 : o1;
  const o3 = rows > 3 ? lda * 3 : o2;
  let c0l = f32x4.splat(0),
    c0h = f32x4.splat(0);
  let c1l = f32x4.splat(0),
    c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0),
    c2h = f32x4.splat(0);
  let c3l = f32x4.splat(0),
    c3h = f32x4.splat(0);
  const end = x + ((<usize>kc) << 2);
  while (x < end) {
    const bl = v128.load(w),
      bh = v128.load(w, 16);
    let a = v128.load32_splat(x);
    c0l = madd(a, bl, c0l);
    c0h = madd(a, bh, c0h);
    a = v128.load32_splat(x + o1);
    c1l = madd(a, bl, c1l);
    c1h = madd(a, bh, c1h);
    a = v128.load32_splat(x + o2);
    c2l = madd(a, bl, c2l);
    c2h = madd(a, bh, c2h);
    a = v128.load32_splat(x + o3);
    c3l = madd(a, bl, c3l);
    c3h = madd(a, bh, c3h);
    x += 4;
    w += sw;
  }
  store8(c, c0l, c0h, 8, add);
  if (rows > 1) store8(c + ldc, c1l, c1h, 8, add);
  if (rows > 2) store8(c + 2 * ldc, c2l, c2h, 8, add);
  if (rows > 3) store8(c + 3 * ldc, c3l, c3h, 8, add);
}

/** The ragged edge of W [K, N]: one row × up to 4 columns, W's lanes gathered one by one (no read past N). */
function knEdge(c: usize, x: usize, w: usize, sw: usize, kc: i32, cols: i32, add: bool): void {
  let acc = f32x4.splat(0);
  const end = x + ((<usize>kc) << 2);
  while (x < end) {
    let b = f32x4.splat(0);
    b = f32x4.replace_lane(b, 0, load<f32>(w));
    if (cols > 1) b = f32x4.replace_lane(b, 1, load<f32>(w, 4));
    if (cols > 2) b = f32x4.replace_lane(b, 2, load<f32>(w, 8));
    if (cols > 3) b = f32x4.replace_lane(b, 3, load<f32>(w, 12));
    acc = madd(v128.load32_splat(x), b, acc);
    x += 4;
    w += sw;
  }
  store4(c, acc, cols, add);
}

/**
 * C[M,N] (= or +=, accumulate != 0) A·W for column panels [start, end), W stored [K, N] with ldw elements
 * between rows k; A row m at a + m·lda, C row m at c + m·ldc (elements). K ≥ 1.
 */
export function gemv_f32__kn(
  c: usize,
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  K: i32,
  lda: i32,
  ldw: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  const sa = (<usize>lda) << 2;
  const sw = (<usize>ldw) << 2;
  const sc = (<usize>ldc) << 2;
  for (let p = start; p < end; p++) {
    const n0 = p * NP;
    const n1 = min(N, n0 + NP);
    const full = n1 - n0 == NP;
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      const add = accumulate != 0 || k0 > 0;
      const wk = w + <usize>k0 * sw;
      const ak = a + ((<usize>k0) << 2);
      for (let m = 0; m < M; m += 4) {
        const rows = min(4, M - m);
        const am = ak + <usize>m * sa;
        const cm = c + <usize>m * sc;
        if (rows == 1 && full) {
          kn1x32(cm + ((<usize>n0) << 2), am, wk + ((<usize>n0) << 2), sw, kc, add);
          continue;
        }
        let n = n0;
        for (; n + 8 <= n1; n += 8) kn4x8(cm + ((<usize>n) << 2), sc, am, sa, wk + ((<usize>n) << 2), sw, kc, rows, add);
        for (; n < n1; n += 4) {
          for (let r = 0; r < rows; r++) {
            knEdge(cm + <usize>r * sc + ((<usize>n) << 2), am + <usize>r * sa, wk + ((<usize>n) << 2), sw, kc, min(4, n1 - n), add);
          }
        }
      }
    }
  }
}

/**
 * Transposes the 4×4 block of W [N, K] at rows w, w + s1, w + s2, w + s3 (four k each) and multiplies it
 * into acc in order of k: acc[j] = x[k+3]·W[j,k+3] + (… + (x[k]·W[j,k] + acc[j])), x at xk.
 */
// @ts-ignore: decorator
@inline
function nkStep4(acc: v128, xk: usize, w: usize, s1: usize, s2: usize, s3: usize): v128 {
  const r0 = v128.load(w),
    r1 = v128.load(w + s1),
    r2 = v128.load(w + s2),
    r3 = v128.load(w + s3);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  acc = madd(v128.load32_splat(xk), v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), acc);
  acc = madd(v128.load32_splat(xk, 4), v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), acc);
  acc = madd(v128.load32_splat(xk, 8), v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), acc);
  return madd(v128.load32_splat(xk, 12), v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), acc);
}

/** One k of four rows of W [N, K], gathered: acc[j] = x[k]·W[j,k] + acc[j]. */
// @ts-ignore: decorator
@inline
function nkStep1(acc: v128, xk: usize, w: usize, s1: usize, s2: usize, s3: usize): v128 {
  let b = f32x4.splat(load<f32>(w));
  b = f32x4.replace_lane(b, 1, load<f32>(w + s1));
  b = f32x4.replace_lane(b, 2, load<f32>(w + s2));
  b = f32x4.replace_lane(b, 3, load<f32>(w + s3));
  return madd(v128.load32_splat(xk), b, acc);
}

/** Byte offset of row j of W [N, K], or of its last row when j is past it. */
// @ts-ignore: decorator
@inline
function rowOffset(j: i32, last: i32, sw: usize): usize {
  return <usize>min(j, last) * sw;
}

/**
 * One row × 8 columns over kc steps of k; W [N, K] in place, its rows (the columns of C) sw bytes apart.
 * Columns past `cols` re-read the last column's row (never stored).
 */
function nk1x8(c: usize, x: usize, w: usize, sw: usize, kc: i32, cols: i32, add: bool): void {
  const last = cols - 1;
  const s1 = rowOffset(1, last, sw),
    s2 = rowOffset(2, last, sw),
    s3 = rowOffset(3, last, sw);
  const o4 = rowOffset(4, last, sw);
  const w4 = w + o4;
  const s5 = rowOffset(5, last, sw) - o4,
    s6 = rowOffset(6, last, sw) - o4,
    s7 = rowOffset(7, last, sw) - o4;
  let lo = f32x4.splat(0),
    hi = f32x4.splat(0);
  const k4 = kc & ~3;
  let k = 0;
  let wo: usize = 0;
  for (; k < k4; k += 4) {
    const xk = x + ((<usize>k) << 2);
    lo = nkStep4(lo, xk, w + wo, s1, s2, s3);
    hi = nkStep4(hi, xk, w4 + wo, s5, s6, s7);
    wo += 16;
  }
  for (; k < kc; k++) {
    const xk = x + ((<usize>k) << 2);
    lo = nkStep1(lo, xk, w + wo, s1, s2, s3);
    hi = nkStep1(hi, xk, w4 + wo, s5, s6, s7);
    wo += 4;
  }
  store8(c, lo, hi, cols, add);
}

/**
 * Up to 4 rows × 4 columns over kc steps of k; W [N, K] in place. Rows past `rows` re-read the last row of
 * A and columns past `cols` the last row of W (neither stored).
 */
function nk4x4(
  c: usize,
  ldc: usize,
  x: usize,
  lda: usize,
  w: usize,
  sw: usize,
  kc: i32,
  rows: i32,
  cols: i32,
  add: bool,
): void {
  const s1 = rowOffset(1, cols - 1, sw),
    s2 = rowOffset(2, cols - 1, sw),
    s3 = rowOffset(3, cols - 1, sw);
  const o1 = rows > 1 ? lda : 0;
  const o2 = rows > 2 ? lda * 2 : o1;
  const o3 = rows > 3 ? lda * 3 : o2;
  let c0 = f32x4.splat(0),
    c1 = f32x4.splat(0),
    c2 = f32x4.splat(0),
    c3 = f32x4.splat(0);
  const k4 = kc & ~3;
  let k = 0;
  for (; k < k4; k += 4) {
    const o = (<usize>k) << 2;
    const wk = w + o;
    const r0 = v128.load(wk),
      r1 = v128.load(wk + s1),
      r2 = v128.load(wk + s2),
      r3 = v128.load(wk + s3);
    const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
    const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
    const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
    const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
    const b0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5);
    const b1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
    const b2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5);
    const b3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
    const x0 = x + o;
    c0 = madd(v128.load32_splat(x0), b0, c0);
    c0 = madd(v128.load32_splat(x0, 4), b1, c0);
    c0 = madd(v128.load32_splat(x0, 8), b2, c0);
    c0 = madd(v128.load32_splat(x0, 12), b3, c0);
    const x1 = x0 + o1;
    c1 = madd(v128.load32_splat(x1), b0, c1);
    c1 = madd(v128.load32_splat(x1, 4), b1, c1);
    c1 = madd(v128.load32_splat(x1, 8), b2, c1);
    c1 = madd(v128.load32_splat(x1, 12), b3, c1);
    const x2 = x0 + o2;
    c2 = madd(v128.load32_splat(x2), b0, c2);
    c2 = madd(v128.load32_splat(x2, 4), b1, c2);
    c2 = madd(v128.load32_splat(x2, 8), b2, c2);
    c2 = madd(v128.load32_splat(x2, 12), b3, c2);
    const x3 = x0 + o3;
    c3 = madd(v128.load32_splat(x3), b0, c3);
    c3 = madd(v128.load32_splat(x3, 4), b1, c3);
    c3 = madd(v128.load32_splat(x3, 8), b2, c3);
    c3 = madd(v128.load32_splat(x3, 12), b3, c3);
  }
  for (; k < kc; k++) {
    const o = (<usize>k) << 2;
    const x0 = x + o;
    c0 = nkStep1(c0, x0, w + o, s1, s2, s3);
    c1 = nkStep1(c1, x0 + o1, w + o, s1, s2, s3);
    c2 = nkStep1(c2, x0 + o2, w + o, s1, s2, s3);
    c3 = nkStep1(c3, x0 + o3, w + o, s1, s2, s3);
  }
  store4(c, c0, cols, add);
  if (rows > 1) store4(c + ldc, c1, cols, add);
  if (rows > 2) store4(c + 2 * ldc, c2, cols, add);
  if (rows > 3) store4(c + 3 * ldc, c3, cols, add);
}

/**
 * C[M,N] (= or +=, accumulate != 0) A·Wᵀ for column panels [start, end), W stored [N, K] with ldw elements
 * between rows n; A row m at a + m·lda, C row m at c + m·ldc (elements). K ≥ 1.
 */
export function gemv_f32__nk(
  c: usize,
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  K: i32,
  lda: i32,
  ldw: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  const sa = (<usize>lda) << 2;
  const sw = (<usize>ldw) << 2;
  const sc = (<usize>ldc) << 2;
  for (let p = start; p < end; p++) {
    const n0 = p * NP;
    const n1 = min(N, n0 + NP);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      const add = accumulate != 0 || k0 > 0;
      const wk = w + ((<usize>k0) << 2);
      const ak = a + ((<usize>k0) << 2);
      if (M == 1) {
        for (let n = n0; n < n1; n += 8) nk1x8(c + ((<usize>n) << 2), ak, wk + <usize>n * sw, sw, kc, min(8, n1 - n), add);
        continue;
      }
      for (let m = 0; m < M; m += 4) {
        const rows = min(4, M - m);
        const am = ak + <usize>m * sa;
        const cm = c + <usize>m * sc;
        for (let n = n0; n < n1; n += 4)
          nk4x4(cm + ((<usize>n) << 2), sc, am, sa, wk + <usize>n * sw, sw, kc, rows, min(4, n1 - n), add);
      }
    }
  }
}
