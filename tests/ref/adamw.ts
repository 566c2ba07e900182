/**
 * torch.optim.AdamW's update in float64, written as the formula: for t = 1, 2, …
 *   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − lr · (m/(1−β1^t)) / (√(v/(1−β2^t)) + eps).
 * Updates p, m, v in place.
 */
export function adamwRef(
  p: Float64Array,
  m: Float64Array,
  v: Float64Array,
  g: ArrayLike<number>,
  t: number,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
): void {
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let k = 0; k < p.length; k++) {
    const gk = g[k]!;
    p[k] = p[k]! - h.lr * h.weightDecay * p[k]!;
    m[k] = h.beta1 * m[k]! + (1 - h.beta1) * gk;
    v[k] = h.beta2 * v[k]! + (1 - h.beta2) * gk * gk;
    p[k] = p[k]! - (h.lr * (m[k]! / bc1)) / (Math.sqrt(v[k]! / bc2) + h.eps);
  }
}
