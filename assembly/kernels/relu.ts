// ReLU, elementwise; work items = elements (a range may start anywhere; f32x4 body, scalar tail).
// y = max(x, 0) (=, NaN stays NaN); dx += dy where x > 0 (+=).

/** y[i] = max(x[i], 0) for elements [start, end). */
export function relu_fwd_f32(y: usize, x: usize, start: i32, end: i32): void {
  const zero = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), zero));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 || v != v ? v : 0);
  }
}

/** dx[i] += x[i] > 0 ? dy[i] : 0 for elements [start, end). */
export function relu_bwd_f32(dx: usize, dy: usize, x: usize, start: i32, end: i32): void {
  const zero = f32x4.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    const g = v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), zero));
    v128.store(dx + o, f32x4.add(v128.load(dx + o), g));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    if (load<f32>(x + o) > 0) store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o));
    else store<f32>(dx + o, load<f32>(dx + o) + 0);
  }
}
