// Weight-only int8 (src/tensor/ops/int8.ts): W stored [N, K] as int8 with a float32 scale per row n (per output
// channel), W[n, k] ≈ q[n, k]·scale[n]. gemv_f32__i8: C[M,N] (= or +=) A·Wᵀ for a few rows of A (decoding), each
// row of q read once: 16 int8 widened to four f32x4, multiplied into four sums over k mod 16 (gemv_f32__nk's
// order), summed as (s0 + s1) + (s2 + s3), lanes (0 + 1) + (2 + 3), times scale[n] at the end; rows of A in pairs
// (dots2I8: each 16 int8 widened once for two rows; the same sums, the same bits). Items: a row of
// W. dequantize_i8_f32: rows of W as float32 q·scale, for the packed matmul of larger M. Each element is written
// by one thread in a fixed order: bit-identical for any thread count.
import { hsum_f32x4, madd } from './math';

/** Four int8 at p as four f32 lanes. */
// @ts-ignore: decorator
@inline
function widen4(p: usize): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(p))));
}

/** Up to 3 floats at p as the first lanes of a vector, zeros after: never reads past them. */
function loadTail(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Up to 3 int8 at p as the first f32 lanes of a vector, zeros after: never reads past them. */
function loadTailI8(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, <f32>load<i8>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, <f32>load<i8>(p, 1));
  if (n > 2) v = f32x4.replace_lane(v, 2, <f32>load<i8>(p, 2));
  return v;
}

/** Σ x[k]·q[k] over K elements (x float32, q int8) in the order of the header; K ≥ 1. */
// @ts-ignore: decorator
@inline
function dotI8(x: usize, q: usize, K: i32): f32 {
  let s0 = f32x4.splat(0),
    s1 = f32x4.splat(0),
    s2 = f32x4.splat(0),
    s3 = f32x4.splat(0);
  const k16 = <usize>(K & ~15);
  let k: usize = 0;
  for (; k < k16; k += 16) {
    const b = v128.load(q + k);
    const lo = i16x8.extend_low_i8x16_s(b);
    const hi = i16x8.extend_high_i8x16_s(b);
    const xk = x + (k << 2);
    s0 = madd(v128.load(xk), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), s0);
    s1 = madd(v128.load(xk, 16), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), s1);
    s2 = madd(v128.load(xk, 32), f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), s2);
    s3 = madd(v128.load(xk, 48), f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), s3);
  }
  const k4 = <usize>(K & ~3);
  for (; k < k4; k += 4) s0 = madd(v128.load(x + (k << 2)), widen4(q + k), s0);
  if (K & 3) s0 = madd(loadTail(x + (k << 2), K & 3), loadTailI8(q + k, K & 3), s0);
  return hsum_f32x4(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
}

/**
 * dotI8 for two rows of A (x and x + sa) against one row q, times s, into C at c and c + sc: each 16 int8 widened
 * once for both rows. Two passes over q (the low then the high 8 of each 16), four live sums each: V8 spills eight.
 * Each row's sums are dotI8's, in its order: the same bits.
 */
function dots2I8(c: usize, sc: usize, x: usize, sa: usize, q: usize, K: i32, s: f32, accumulate: bool): void {
  const y = x + sa;
  let s0 = f32x4.splat(0),
    s1 = f32x4.splat(0),
    t0 = f32x4.splat(0),
    t1 = f32x4.splat(0);
  const k16 = <usize>(K & ~15);
  let k: usize = 0;
  for (; k < k16; k += 16) {
    const lo = i16x8.extend_low_i8x16_s(v128.load(q + k));
    const u = f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)),
      v = f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo));
    const o = k << 2;
    s0 = madd(v128.load(x + o), u, s0);
    t0 = madd(v128.load(y + o), u, t0);
    s1 = madd(v128.load(x + o, 16), v, s1);
    t1 = madd(v128.load(y + o, 16), v, t1);
  }
  const k4 = <usize>(K & ~3);
  for (; k < k4; k += 4) {
    const u = widen4(q + k);
    s0 = madd(v128.load(x + (k << 2)), u, s0);
    t0 = madd(v128.load(y + (k << 2)), u, t0);
  }
  if (K & 3) {
    const u = loadTailI8(q + k, K & 3);
    s0 = madd(loadTail(x + (k << 2), K & 3), u, s0);
    t0 = madd(loadTail(y + (k << 2), K & 3), u, t0);
  }
  const hs = f32x4.add(s0, s1),
    ht = f32x4.add(t0, t1);
  s0 = s1 = t0 = t1 = f32x4.splat(0);
  for (k = 0; k < k16; k += 16) {
    const hi = i16x8.extend_high_i8x16_s(v128.load(q + k));
    const u = f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)),
      v = f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi));
    const o = k << 2;
    s0 = madd(v128.load(x + o, 32), u, s0);
    t0 = madd(v128.load(y + o, 32), u, t0);
    s1 = madd(v128.load(x + o, 48), v, s1);
    t1 = madd(v128.load(y + o, 48), v, t1);
  }
  // (s0 + s1) + (s2 + s3), as dotI8 adds them
  putScaled(c, hsum_f32x4(f32x4.add(hs, f32x4.add(s0, s1))) * s, accumulate);
  putScaled(c + sc, hsum_f32x4(f32x4.add(ht, f32x4.add(t0, t1))) * s, accumulate);
}

// @ts-ignore: decorator
@inline
function putScaled(c: usize, y: f32, accumulate: bool): void {
  store<f32>(c, accumulate ? load<f32>(c) + y : y);
}

/**
 * C[M,N] (= or +=, accumulate != 0) A·Wᵀ for rows [start, end) of W: q [N, K] int8 with ldq bytes between
 * rows, scale [N] float32; A row m at a + m·lda, C row m at c + m·ldc (elements). K ≥ 1.
 */
export function gemv_f32__i8(
  c: usize,
  a: usize,
  q: usize,
  scale: usize,
  M: i32,
  N: i32,
  K: i32,
  lda: i32,
  ldq: i32,
  ldc: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  const sa = (<usize>lda) << 2;
  const sc = (<usize>ldc) << 2;
  for (let n = start; n < end; n++) {
    const qn = q + <usize>n * <usize>ldq;
    const s = load<f32>(scale + ((<usize>n) << 2));
    const cn = c + ((<usize>n) << 2);
    const add = accumulate != 0;
    let m = 0;
    for (; m + 2 <= M; m += 2) dots2I8(cn + <usize>m * sc, sc, a + <usize>m * sa, sa, qn, K, s, add);
    if (m < M) putScaled(cn + <usize>m * sc, dotI8(a + <usize>m * sa, qn, K) * s, add);
  }
}

/**
 * out[n, k] = q[n, k]·scale[n] for rows [start, end): out [rows, K] float32 (row n at out + n·K), q with ldq
 * bytes between rows. The host offsets q and scale to the first row of a panel.
 */
export function dequantize_i8_f32(out: usize, q: usize, scale: usize, K: i32, ldq: i32, start: i32, end: i32): void {
  const k4 = <usize>(K & ~3);
  for (let n = start; n < end; n++) {
    const qn = q + <usize>n * <usize>ldq;
    const on = out + <usize>n * (<usize>K << 2);
    const s = f32x4.splat(load<f32>(scale + ((<usize>n) << 2)));
    let k: usize = 0;
    for (; k < k4; k += 4) v128.store(on + (k << 2), f32x4.mul(widen4(qn + k), s));
    for (; k < <usize>K; k++) store<f32>(on + (k << 2), <f32>load<i8>(qn + k) * f32x4.extract_lane(s, 0));
  }
}
