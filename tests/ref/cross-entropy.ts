/**
 * Float64 cross-entropy (PyTorch's definition, mean over rows whose label is not ignoreIndex):
 * row loss = (1−ε)·(lse − x_y) + ε·mean_j (lse − x_j), lse = log Σ e^x. All rows ignored → 0 (simdformer's
 * choice; PyTorch gives NaN).
 */
export function crossEntropyRef(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  V: number,
  ignoreIndex = -100,
  eps = 0,
): { loss: number; rowLoss: Float64Array; lse: Float64Array; count: number } {
  const rowLoss = new Float64Array(N);
  const lse = new Float64Array(N);
  let count = 0;
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const y = labels[i]!;
    if (y === ignoreIndex) continue;
    let m = -Infinity;
    for (let j = 0; j < V; j++) m = Math.max(m, logits[i * V + j]!);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[i * V + j]! - m);
    const z = m + Math.log(s);
    let smooth = 0;
    for (let j = 0; j < V; j++) smooth += z - logits[i * V + j]!;
    rowLoss[i] = (1 - eps) * (z - logits[i * V + y]!) + (eps * smooth) / V;
    lse[i] = z;
    sum += rowLoss[i]!;
    count++;
  }
  return { loss: count > 0 ? sum / count : 0, rowLoss, lse, count };
}

/** ∂loss/∂logits in float64: (softmax − target)/count per counted row, 0 for ignored rows. */
export function crossEntropyGradRef(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  V: number,
  ignoreIndex = -100,
  eps = 0,
): Float64Array {
  const { lse, count } = crossEntropyRef(logits, labels, N, V, ignoreIndex, eps);
  const d = new Float64Array(N * V);
  for (let i = 0; i < N; i++) {
    const y = labels[i]!;
    if (y === ignoreIndex) continue;
    for (let j = 0; j < V; j++) {
      const target = (j === y ? 1 - eps : 0) + eps / V;
      d[i * V + j] = (Math.exp(logits[i * V + j]! - lse[i]!) - target) / count;
    }
  }
  return d;
}
