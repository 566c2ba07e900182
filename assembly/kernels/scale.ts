// Multiplication by a scalar, and axpy_f32 (y += s·x): scale's backward (dx += s·dy) and the second half of
// scaleAddInPlace. Work items = elements (a range may start anywhere; f32x4 body, scalar tail).
// Forward y = s·x (=); backward dx += s·dy (+=).

/** y[i] = s·x[i] for elements [start, end). */
export function scale_fwd_f32(y: usize, x: usize, s: f32, start: i32, end: i32): void {
  const sv = f32x4.splat(s);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), sv));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    store<f32>(y + o, load<f32>(x + o) * s);
  }
}

/** y[i] += s·x[i] for elements [start, end). */
export function axpy_f32(y: usize, x: usize, s: f32, start: i32, end: i32): void {
  const sv = f32x4.splat(s);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(v128.load(x + o), sv)));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    store<f32>(y + o, load<f32>(y + o) + load<f32>(x + o) * s);
  }
}
