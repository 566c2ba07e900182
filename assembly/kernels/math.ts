// Shared math for kernels (none of it exported to the host): multiply-add, horizontal sum and max, a vectorised
// exp, a scalar log. Keep one of each here.
// exp(x) = 2^n · e^r, n = nearest(x·log2 e), r = x − n·ln 2 (Cody–Waite), e^r by Cephes' degree-7 polynomial
// on |r| ≤ ln2/2 (fused multiply-add in the relaxed build): ≤ 1.3 ulp measured over 4M points of
// [−104, 88.7]; 2^n as two exact powers of two so subnormal results stay accurate.
// x > 88.7228 → +inf, x < −103.98 → 0, NaN → NaN; ~0.5 G exp/s per thread on the 2-core test machine.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375; // 9 significant bits: n·LN2_HI is exact for |n| ≤ 256
const LN2_LO: f32 = -2.12194440e-4;
const EXP_HI: f32 = 89.0; // e^89 overflows: the result is +inf through 2^64·2^64·p
const EXP_LO: f32 = -104.0; // e^−104 rounds to 0
const MAGIC: f32 = 12582912.0; // 1.5·2²³: adding it rounds to an integer (|x·log2 e| ≤ 150)

/**
 * a·b + c on four lanes (f32x4.relaxed_madd's argument order): fused (one rounding) in the relaxed build, mul
 * then add in the plain builds. So the relaxed build's bits differ from the plain builds', never across threads.
 */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** e^x on four lanes. */
// @ts-ignore: decorator
@inline
export function exp_f32x4(x: v128): v128 {
  // clamp with pmin/pmax (one instruction each on x86; min/max's NaN rules cost ~8): x first, so NaN stays
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  // n = nearest(x·log2 e) by the 1.5·2²³ trick: j's low mantissa bits hold n as an integer
  const j = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(MAGIC));
  const fn = f32x4.sub(j, f32x4.splat(MAGIC));
  let r = f32x4.sub(x, f32x4.mul(fn, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fn, f32x4.splat(LN2_LO)));
  let p = madd(f32x4.splat(1.9875691500e-4), r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  p = madd(f32x4.mul(p, r), r, f32x4.add(r, f32x4.splat(1.0)));
  // 2^n = 2^(n>>1) · 2^(n − n>>1), each a normal float for n in [−150, 128]
  const n = i32x4.sub(j, f32x4.splat(MAGIC));
  const n1 = i32x4.shr_s(n, 1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(n, n1), bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/** e^x for one value, through the same code as exp_f32x4 (so scalar tails round like vector bodies). */
// @ts-ignore: decorator
@inline
export function exp_f32(x: f32): f32 {
  return f32x4.extract_lane(exp_f32x4(f32x4.splat(x)), 0);
}

/** The largest of four lanes (NaN if any lane is NaN). */
// @ts-ignore: decorator
@inline
export function hmax_f32x4(v: v128): f32 {
  const a = max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1));
  const b = max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3));
  return max(a, b);
}

/** Sum of four lanes in a fixed order: (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline
export function hsum_f32x4(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * ln x in float64 for a scalar (per row, not per element), without the standard library's tables (which
 * would add data segments to the module): x = 2^k·m, m in [√½, √2), ln m = 2·atanh(s), s = (m−1)/(m+1),
 * |s| ≤ 0.172, series to s^23 (error below 1e-17). ln 0 = −inf, ln inf = inf, NaN and x < 0 → NaN.
 */
export function log_f64(x: f64): f64 {
  if (!(x > 0)) return x == 0 ? -Infinity : NaN;
  if (x == Infinity) return x;
  let bits = reinterpret<u64>(x);
  let k: i32 = <i32>(bits >> 52) - 1023;
  if (k == -1023) {
    // subnormal: scale into the normal range first
    bits = reinterpret<u64>(x * 18014398509481984.0); // 2^54
    k = <i32>(bits >> 52) - 1023 - 54;
  }
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000); // [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    k++;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let t: f64 = 1.0 / 23;
  t = t * s2 + 1.0 / 21;
  t = t * s2 + 1.0 / 19;
  t = t * s2 + 1.0 / 17;
  t = t * s2 + 1.0 / 15;
  t = t * s2 + 1.0 / 13;
  t = t * s2 + 1.0 / 11;
  t = t * s2 + 1.0 / 9;
  t = t * s2 + 1.0 / 7;
  t = t * s2 + 1.0 / 5;
  t = t * s2 + 1.0 / 3;
  t = t * s2 + 1.0;
  return <f64>k * 0.6931471805599453 + 2 * s * t;
}
