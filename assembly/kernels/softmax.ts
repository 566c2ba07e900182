// y[r, j] = exp(s_j − max s) / Σ exp(s − max s), s = scale·x[r, :lim], per row r of x [rows, T]; y[r, j ≥ lim] = 0.
// Causal: row r is query i = r mod Tq of a [Tq, T] block and sees keys j < lim = i + (T − Tq) + 1 (clamped to
// [0, T]); masked scores are never read (loop bound). A row with nothing to see, or whose scores are all −∞,
// gives zeros. Backward: dx[r, j] += scale · y_j · (dy_j − Σ_k dy_k·y_k) over j < lim (+=, like every grad).
// Work items: rows. Each row is summed by one thread in a fixed order: bit-identical for any thread count.
import { exp_f32, exp_f32x4, hmax_f32x4, hsum_f32x4 } from './math';

/** Keys row r may see: T, or the causal limit clamped to [0, T]. */
// @ts-ignore: decorator
@inline
function rowLimit(r: i32, T: i32, Tq: i32, causal: i32): i32 {
  if (causal == 0) return T;
  return min(T, max(0, (r % Tq) + (T - Tq) + 1));
}

/** Zeros y[from, to). */
// @ts-ignore: decorator
@inline
function zeroRange(y: usize, from: i32, to: i32): void {
  if (to > from) memory.fill(y + (<usize>from << 2), 0, <usize>(to - from) << 2);
}

export function softmax_fwd_f32(y: usize, x: usize, T: i32, Tq: i32, causal: i32, scale: f32, start: i32, end: i32): void {
  const sv = f32x4.splat(scale);
  for (let r = start; r < end; r++) {
    const xr = x + ((<usize>r * <usize>T) << 2);
    const yr = y + ((<usize>r * <usize>T) << 2);
    const lim = rowLimit(r, T, Tq, causal);
    const lim4 = lim & ~3;
    // max of the scaled scores
    let mv = f32x4.splat(-Infinity);
    for (let j = 0; j < lim4; j += 4) mv = f32x4.max(mv, f32x4.mul(v128.load(xr + (<usize>j << 2)), sv));
    let m = hmax_f32x4(mv);
    for (let j = lim4; j < lim; j++) m = max(m, load<f32>(xr + (<usize>j << 2)) * scale);
    if (lim == 0 || m == -Infinity) {
      zeroRange(yr, 0, T);
      continue;
    }
    // e = exp(s − m) into y, and its sum
    const mm = f32x4.splat(m);
    let sumv = f32x4.splat(0);
    for (let j = 0; j < lim4; j += 4) {
      const o = <usize>j << 2;
      const e = exp_f32x4(f32x4.sub(f32x4.mul(v128.load(xr + o), sv), mm));
      v128.store(yr + o, e);
      sumv = f32x4.add(sumv, e);
    }
    let sum = hsum_f32x4(sumv);
    for (let j = lim4; j < lim; j++) {
      const e = exp_f32(load<f32>(xr + (<usize>j << 2)) * scale - m);
      store<f32>(yr + (<usize>j << 2), e);
      sum += e;
    }
    const inv: f32 = 1.0 / sum;
    const iv = f32x4.splat(inv);
    for (let j = 0; j < lim4; j += 4) {
      const o = <usize>j << 2;
      v128.store(yr + o, f32x4.mul(v128.load(yr + o), iv));
    }
    for (let j = lim4; j < lim; j++) store<f32>(yr + (<usize>j << 2), load<f32>(yr + (<usize>j << 2)) * inv);
    zeroRange(yr, lim, T);
  }
}

export function softmax_bwd_f32(dx: usize, y: usize, dy: usize, T: i32, Tq: i32, causal: i32, scale: f32, start: i32, end: i32): void {
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>T) << 2;
    const yr = y + off;
    const dyr = dy + off;
    const dxr = dx + off;
    const lim = rowLimit(r, T, Tq, causal);
    const lim4 = lim & ~3;
    let dv = f32x4.splat(0);
    for (let j = 0; j < lim4; j += 4) {
      const o = <usize>j << 2;
      dv = f32x4.add(dv, f32x4.mul(v128.load(dyr + o), v128.load(yr + o)));
    }
    let dot = hsum_f32x4(dv);
    for (let j = lim4; j < lim; j++) dot += load<f32>(dyr + (<usize>j << 2)) * load<f32>(yr + (<usize>j << 2));
    const dotv = f32x4.splat(dot);
    const sv = f32x4.splat(scale);
    for (let j = 0; j < lim4; j += 4) {
      const o = <usize>j << 2;
      const g = f32x4.mul(f32x4.mul(v128.load(yr + o), f32x4.sub(v128.load(dyr + o), dotv)), sv);
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), g));
    }
    for (let j = lim4; j < lim; j++) {
      const o = <usize>j << 2;
      store<f32>(dxr + o, load<f32>(dxr + o) + load<f32>(yr + o) * (load<f32>(dyr + o) - dot) * scale);
    }
  }
}
