// tanh, elementwise; work items = elements (a range may start anywhere; f32x4 body, one-lane tail).
// y = sign(x)·(1 − t)/(1 + t), t = e^(−2|x|) (=); dx += dy·(1 − y²) (+=).
import { exp_f32x4 } from './math';

// @ts-ignore: decorator
@inline
function tanh4(x: v128): v128 {
  const t = exp_f32x4(f32x4.mul(f32x4.abs(x), f32x4.splat(-2)));
  const m = f32x4.div(f32x4.sub(f32x4.splat(1), t), f32x4.add(f32x4.splat(1), t));
  // copy x's sign onto the magnitude (NaN stays NaN)
  return v128.or(v128.and(m, i32x4.splat(0x7fffffff)), v128.and(x, i32x4.splat(0x80000000)));
}

export function tanh_fwd_f32(y: usize, x: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, tanh4(v128.load(x + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, f32x4.extract_lane(tanh4(v128.load32_splat(x + o)), 0));
  }
}

export function tanh_bwd_f32(dx: usize, dy: usize, y: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const yv = v128.load(y + o);
    const d = f32x4.mul(v128.load(dy + o), f32x4.sub(f32x4.splat(1), f32x4.mul(yv, yv)));
    v128.store(dx + o, f32x4.add(v128.load(dx + o), d));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const yv = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dx + o) + load<f32>(dy + o) * (1 - yv * yv));
  }
}
