// Global gradient norm and clipping. grad_norm: partial[c] = Σ g_k² over chunk c of 4096 elements, in
// float64 (squares of promoted values: no overflow, no NaN/inf lost), two f64x2 lanes summed in order; the
// host sums the partials of every chunk of every parameter in order, so the bits do not depend on threads.
// grad_scale: x ← s·x in place (clipping). One work item: a chunk (4096 resp. 1024 elements).

const NORM_CHUNK: i32 = 4096;
const CHUNK: i32 = 1024;

/** partials[c] (float64, =) = Σ g² over chunk c of the n elements of g, for chunks [start, end). */
export function grad_norm_f32(partials: usize, g: usize, n: i32, start: i32, end: i32): void {
  for (let c = start; c < end; c++) {
    const k0 = c * NORM_CHUNK;
    const k1 = min(n, k0 + NORM_CHUNK);
    const k4 = k0 + ((k1 - k0) & ~3);
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (let k = k0; k < k4; k += 4) {
      const x = v128.load(g + ((<usize>k) << 2));
      const a = f64x2.promote_low_f32x4(x);
      const b = f64x2.promote_low_f32x4(v128.shuffle<i32>(x, x, 2, 3, 0, 1));
      lo = f64x2.add(lo, f64x2.mul(a, a));
      hi = f64x2.add(hi, f64x2.mul(b, b));
    }
    const s4 = f64x2.add(lo, hi);
    let s: f64 = f64x2.extract_lane(s4, 0) + f64x2.extract_lane(s4, 1);
    for (let k = k4; k < k1; k++) {
      const x = <f64>load<f32>(g + ((<usize>k) << 2));
      s += x * x;
    }
    store<f64>(partials + ((<usize>c) << 3), s);
  }
}

/** x ← s·x for chunks [start, end) of the n elements of x. */
export function grad_scale_f32(x: usize, n: i32, s: f32, start: i32, end: i32): void {
  const k0 = start * CHUNK;
  const k1 = min(n, end * CHUNK);
  const k4 = k0 + ((k1 - k0) & ~3);
  const sv = f32x4.splat(s);
  for (let k = k0; k < k4; k += 4) {
    const p = x + ((<usize>k) << 2);
    v128.store(p, f32x4.mul(v128.load(p), sv));
  }
  for (let k = k4; k < k1; k++) {
    const p = x + ((<usize>k) << 2);
    store<f32>(p, load<f32>(p) * s);
  }
}
