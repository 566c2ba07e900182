/**
 * Float64 reference of softmax(scale·x) over the last dim of x [rows, T]; causal: row r is query
 * i = r mod Tq and sees keys j < i + (T − Tq) + 1. A row that sees nothing, or only −∞, gives zeros.
 */
export function refSoftmax(
  x: ArrayLike<number>,
  rows: number,
  T: number,
  opts: { scale?: number; causal?: boolean; Tq?: number } = {},
): Float64Array {
  const scale = opts.scale ?? 1;
  const Tq = opts.Tq ?? 1;
  const y = new Float64Array(rows * T);
  for (let r = 0; r < rows; r++) {
    const lim = opts.causal ? Math.min(T, Math.max(0, (r % Tq) + T - Tq + 1)) : T;
    let m = -Infinity;
    for (let j = 0; j < lim; j++) m = Math.max(m, scale * x[r * T + j]!);
    if (m === -Infinity) continue;
    let s = 0;
    for (let j = 0; j < lim; j++) s += Math.exp(scale * x[r * T + j]! - m);
    for (let j = 0; j < lim; j++) y[r * T + j] = Math.exp(scale * x[r * T + j]! - m) / s;
  }
  return y;
}

/** dx = scale · y ⊙ (dy − Σ dy·y) per row, in float64. */
export function refSoftmaxBackward(
  y: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  T: number,
  scale = 1,
): Float64Array {
  const dx = new Float64Array(rows * T);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let j = 0; j < T; j++) dot += dy[r * T + j]! * y[r * T + j]!;
    for (let j = 0; j < T; j++) dx[r * T + j] = scale * y[r * T + j]! * (dy[r * T + j]! - dot);
  }
  return dx;
}
