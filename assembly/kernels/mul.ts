// Elementwise product; work items = elements (a range may start anywhere; f32x4 body, scalar tail).
// Forward y = a·b (=); backward dx += dy·other (+=), run once for a (other = b) and once for b (other = a).

/** y[i] = a[i]·b[i] for elements [start, end). */
export function mul_fwd_f32(y: usize, a: usize, b: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(y + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    store<f32>(y + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

/** dx[i] += dy[i]·other[i] for elements [start, end). */
export function mul_bwd_f32(dx: usize, dy: usize, other: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(dx + o, f32x4.add(v128.load(dx + o), f32x4.mul(v128.load(dy + o), v128.load(other + o))));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o) * load<f32>(other + o));
  }
}
