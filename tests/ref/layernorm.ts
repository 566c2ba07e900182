/** LayerNorm (rms = false) or RMSNorm over rows of C, in float64. */
export function normRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  C: number,
  eps: number,
  rms: boolean,
): Float64Array {
  const N = x.length / C;
  const y = new Float64Array(x.length);
  for (let r = 0; r < N; r++) {
    let mu = 0;
    if (!rms) {
      for (let c = 0; c < C; c++) mu += x[r * C + c]!;
      mu /= C;
    }
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[r * C + c]! - mu) ** 2;
    const rs = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c]! - mu) * rs * w[c]! + (b ? b[c]! : 0);
  }
  return y;
}
