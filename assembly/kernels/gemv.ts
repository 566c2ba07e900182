// C[M,N] (= or +=) A[M,K]·W for a few rows of A (decoding: a row per sequence or beam), W read in place in
// address order, never packed. __kn, W [K, N] (GPT-2 Conv1D): rows of W swept into per-row sums in scratch
// (=), added to C every KC rows: matmul_f32's order and bits. __nk, W [N, K] (torch Linear, tied heads): each
// row of W dotted with each row of A, four f32x4 sums over k mod 16, then (s0 + s1) + (s2 + s3), lanes
// (0 + 1) + (2 + 3): its own order, the same for any M. Items: kn `chunk` columns (or, split, those columns of one
// KC-row block, whose sums the host adds in order), nk a row of W; each element's terms summed in a fixed order
// whatever the thread count: bit-identical for any.
import { hsum_f32x4, madd } from './math';

const KC: i32 = 256; // matmul_f32's block of k

/**
 * Stores (add: adds) the first `cols` lanes of v at c (all four with one store). Out of line: it runs once
 * per vector of C and block of KC rows.
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

/** Up to 3 floats at p as the first lanes of a vector, zeros after: never reads past them. */
function loadTail(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * acc (=) Σ over kc rows k of x[k]·W[k, 0…cols), one row of A, each row of W swept start to end:
 * acc[j] = x[k]·w + acc[j], k in order. Vectors, then a tail of up to 3 columns gathered lane by lane (the
 * acc row has room for the whole vector).
 */
function knRow(acc: usize, x: usize, w: usize, sw: usize, kc: i32, cols: i32): void {
  const bytes = (<usize>cols) << 2;
  const vbytes = bytes & ~15;
  for (let o: usize = 0; o < bytes; o += 16) v128.store(acc + o, f32x4.splat(0));
  const end = x + ((<usize>kc) << 2);
  while (x < end) {
    const a = v128.load32_splat(x);
    let o: usize = 0;
    for (; o + 64 <= vbytes; o += 64) {
      const p = acc + o;
      const q = w + o;
      v128.store(p, madd(a, v128.load(q), v128.load(p)));
      v128.store(p, madd(a, v128.load(q, 16), v128.load(p, 16)), 16);
      v128.store(p, madd(a, v128.load(q, 32), v128.load(p, 32)), 32);
      v128.store(p, madd(a, v128.load(q, 48), v128.load(p, 48)), 48);
    }
    for (; o < vbytes; o += 16) v128.store(acc + o, madd(a, v128.load(w + o), v128.load(acc + o)));
    if (o < bytes) v128.store(acc + o, madd(a, loadTail(w + o, cols & 3), v128.load(acc + o)));
    x += 4;
    w += sw;
  }
}

/**
 * knRow for four rows of A at once (x_r at x + r·sa, acc_r at acc + r·sacc), sharing each vector of W.
 * Rows past `rows` re-read the last row of A into acc rows of their own, which the host allocates and
 * nobody reads.
 */
function knRows4(acc: usize, sacc: usize, x: usize, sa: usize, w: usize, sw: usize, kc: i32, rows: i32, cols: i32): void {
  const o1 = rows > 1 ? sa : 0;
  const o2 = rows > 2 ? sa * 2 : o1;
  const o3 = rows > 3 ? sa * 3 : o2;
  const p1 = sacc,
    p2 = sacc * 2,
    p3 = sacc * 3;
  const bytes = (<usize>cols) << 2;
  const vbytes = bytes & ~15;
  for (let o: usize = 0; o < bytes; o += 16) {
    const p = acc + o;
    v128.store(p, f32x4.splat(0));
    v128.store(p + p1, f32x4.splat(0));
    v128.store(p + p2, f32x4.splat(0));
    v128.store(p + p3, f32x4.splat(0));
  }
  const end = x + ((<usize>kc) << 2);
  while (x < end) {
    const a0 = v128.load32_splat(x),
      a1 = v128.load32_splat(x + o1),
      a2 = v128.load32_splat(x + o2),
      a3 = v128.load32_splat(x + o3);
    let o: usize = 0;
    for (; o < vbytes; o += 16) {
      const b = v128.load(w + o);
      const p = acc + o;
      v128.store(p, madd(a0, b, v128.load(p)));
      v128.store(p + p1, madd(a1, b, v128.load(p + p1)));
      v128.store(p + p2, madd(a2, b, v128.load(p + p2)));
      v128.store(p + p3, madd(a3, b, v128.load(p + p3)));
    }
    if (o < bytes) {
      const b = loadTail(w + o, cols & 3);
      const p = acc + o;
      v128.store(p, madd(a0, b, v128.load(p)));
      v128.store(p + p1, madd(a1, b, v128.load(p + p1)));
      v128.store(p + p2, madd(a2, b, v128.load(p + p2)));
      v128.store(p + p3, madd(a3, b, v128.load(p + p3)));
    }
    x += 4;
    w += sw;
  }
}

/**
 * C[M,N] (= or +=, accumulate != 0) A·W for column chunks [start, end) of `chunk` columns (a multiple of 4),
 * W stored [K, N] with ldw elements between rows k; A row m at a + m·lda, C row m at c + m·ldc (elements);
 * acc: scratch of M rows rounded up to 4, of ldacc ≥ N rounded up to 4 elements. K ≥ 1.
 * split != 0: item p is column chunk p mod ⌈N/chunk⌉ of k-block p / ⌈N/chunk⌉ alone (KC rows of W, so threads
 * stream rows apart), its sum stored (=) at block b's C, c + b·M·ldc, with acc block b at acc + b·M4·ldacc; the
 * host adds the blocks' C in order (matmul_f32's bits: each block's sum starts from zero either way).
 */
export function gemv_f32__kn(
  c: usize,
  acc: usize,
  a: usize,
  w: usize,
  M: i32,
  N: i32,
  K: i32,
  lda: i32,
  ldw: i32,
  ldc: i32,
  ldacc: i32,
  accumulate: i32,
  chunk: i32,
  split: i32,
  start: i32,
  end: i32,
): void {
  const sa = (<usize>lda) << 2;
  const sw = (<usize>ldw) << 2;
  const sc = (<usize>ldc) << 2;
  const sacc = (<usize>ldacc) << 2;
  const chunks = (N + chunk - 1) / chunk;
  for (let p = start; p < end; p++) {
    const b = split != 0 ? p / chunks : 0;
    const n0 = (split != 0 ? p % chunks : p) * chunk;
    const cols = min(N, n0 + chunk) - n0;
    const on = (<usize>n0) << 2;
    const cb = c + <usize>b * <usize>M * sc;
    const ab = acc + <usize>b * <usize>((M + 3) & ~3) * sacc;
    const kEnd = split != 0 ? min(K, (b + 1) * KC) : K;
    for (let k0 = b * KC; k0 < kEnd; k0 += KC) {
      const kc = min(KC, K - k0);
      const add = split == 0 && (accumulate != 0 || k0 > 0);
      for (let m = 0; m < M; m += 4) {
        const rows = min(4, M - m);
        const am = a + <usize>m * sa + ((<usize>k0) << 2);
        const accm = ab + <usize>m * sacc + on;
        const wk = w + <usize>k0 * sw + on;
        if (rows == 1) knRow(accm, am, wk, sw, kc, cols);
        else knRows4(accm, sacc, am, sa, wk, sw, kc, rows, cols);
        for (let r = 0; r < rows; r++) {
          const cr = cb + <usize>(m + r) * sc + on;
          const ar = accm + <usize>r * sacc;
          for (let j = 0; j < cols; j += 4) {
            const o = (<usize>j) << 2;
            store4(cr + o, v128.load(ar + o), cols - j, add);
          }
        }
      }
    }
  }
}

/** Sum of four lane-wise sums as gemv_f32__nk adds them: (s0 + s1) + (s2 + s3), then its lanes. */
// @ts-ignore: decorator
@inline
function total(s0: v128, s1: v128, s2: v128, s3: v128): f32 {
  return hsum_f32x4(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
}

/** x·w over K elements in gemv_f32__nk's order (see the header); K ≥ 1. */
// @ts-ignore: decorator
@inline
function dot(x: usize, w: usize, K: i32): f32 {
  let s0 = f32x4.splat(0),
    s1 = f32x4.splat(0),
    s2 = f32x4.splat(0),
    s3 = f32x4.splat(0);
  const k16 = (<usize>(K & ~15)) << 2;
  let o: usize = 0;
  for (; o < k16; o += 64) {
    s0 = madd(v128.load(x + o), v128.load(w + o), s0);
    s1 = madd(v128.load(x + o, 16), v128.load(w + o, 16), s1);
    s2 = madd(v128.load(x + o, 32), v128.load(w + o, 32), s2);
    s3 = madd(v128.load(x + o, 48), v128.load(w + o, 48), s3);
  }
  const k4 = (<usize>(K & ~3)) << 2;
  for (; o < k4; o += 16) s0 = madd(v128.load(x + o), v128.load(w + o), s0);
  if (K & 3) s0 = madd(loadTail(x + o, K & 3), loadTail(w + o, K & 3), s0);
  return total(s0, s1, s2, s3);
}

/** Stores (accumulate: adds) one sum at c. */
// @ts-ignore: decorator
@inline
function put(c: usize, s: f32, accumulate: bool): void {
  store<f32>(c, accumulate ? load<f32>(c) + s : s);
}

/**
 * dot for two rows of A (x and x + sa) against one row of W, each vector of W loaded once for both: the same
 * sums in the same order as two calls of dot. K is swept twice, making s0 and s1 (and the tails, which go
 * to s0), then s2 and s3, so that four sums are live in a loop, not eight (with eight, V8 spills and the
 * pair ran slower than two dots). Results to c and c + sc.
 */
function dots2(c: usize, sc: usize, x: usize, sa: usize, w: usize, K: i32, accumulate: bool): void {
  const y = x + sa;
  let s0 = f32x4.splat(0),
    s1 = f32x4.splat(0),
    t0 = f32x4.splat(0),
    t1 = f32x4.splat(0);
  const k16 = (<usize>(K & ~15)) << 2;
  let o: usize = 0;
  for (; o < k16; o += 64) {
    const u = v128.load(w + o),
      v = v128.load(w + o, 16);
    s0 = madd(v128.load(x + o), u, s0);
    t0 = madd(v128.load(y + o), u, t0);
    s1 = madd(v128.load(x + o, 16), v, s1);
    t1 = madd(v128.load(y + o, 16), v, t1);
  }
  const k4 = (<usize>(K & ~3)) << 2;
  for (; o < k4; o += 16) {
    const u = v128.load(w + o);
    s0 = madd(v128.load(x + o), u, s0);
    t0 = madd(v128.load(y + o), u, t0);
  }
  if (K & 3) {
    const u = loadTail(w + o, K & 3);
    s0 = madd(loadTail(x + o, K & 3), u, s0);
    t0 = madd(loadTail(y + o, K & 3), u, t0);
  }
  const hs = f32x4.add(s0, s1),
    ht = f32x4.add(t0, t1);
  s0 = s1 = t0 = t1 = f32x4.splat(0);
  for (o = 0; o < k16; o += 64) {
    const u = v128.load(w + o, 32),
      v = v128.load(w + o, 48);
    s0 = madd(v128.load(x + o, 32), u, s0);
    t0 = madd(v128.load(y + o, 32), u, t0);
    s1 = madd(v128.load(x + o, 48), v, s1);
    t1 = madd(v128.load(y + o, 48), v, t1);
  }
  // (s0 + s1) + (s2 + s3), as total adds them
  put(c, hsum_f32x4(f32x4.add(hs, f32x4.add(s0, s1))), accumulate);
  put(c + sc, hsum_f32x4(f32x4.add(ht, f32x4.add(t0, t1))), accumulate);
}

/**
 * C[M,N] (= or +=, accumulate != 0) A·Wᵀ for rows [start, end) of W, W stored [N, K] with ldw elements
 * between rows n; A row m at a + m·lda, C row m at c + m·ldc (elements). K ≥ 1. Each row of W is read
 * from memory once and its vectors loaded once per two rows of A (dots2).
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
  const add = accumulate != 0;
  for (let n = start; n < end; n++) {
    const wn = w + <usize>n * sw;
    const cn = c + ((<usize>n) << 2);
    let m = 0;
    for (; m + 2 <= M; m += 2) dots2(cn + <usize>m * sc, sc, a + <usize>m * sa, sa, wn, K, add);
    if (m < M) put(cn + <usize>m * sc, dot(a + <usize>m * sa, wn, K), add);
  }
}
