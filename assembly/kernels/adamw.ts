// AdamW (PyTorch's torch.optim.AdamW, single-tensor form) over one flat parameter of n elements:
//   p ← p·(1 − lr·wd);  m ← m + (1−β1)(g − m);  v ← β2·v + (1−β2)·g²;
//   p ← p − (lr/bc1) · m / (√v / √bc2 + eps),   bc1 = 1 − β1^t, bc2 = 1 − β2^t (from the host: no pow here).
// Scalars arrive as float64. p, m, v are updated in place (=); g is read. Each element by one thread, no reduction.
// One work item: 1024 elements.

const CHUNK: i32 = 1024;

/** One AdamW step for chunks [start, end) of the n elements of p, m, v, g. */
export function adamw_f32(
  p: usize,
  m: usize,
  v: usize,
  g: usize,
  n: i32,
  lr: f64,
  beta1: f64,
  beta2: f64,
  eps: f64,
  weightDecay: f64,
  bc1: f64,
  bc2: f64,
  start: i32,
  end: i32,
): void {
  // per-call scalars, as PyTorch forms them: in double (the hyperparameters are doubles: 1 − β2 from a
  // float β2 would be off by 1e-5), then used as float
  const decay = <f32>(1.0 - lr * weightDecay);
  const oneMinusB1 = <f32>(1.0 - beta1);
  const oneMinusB2 = <f32>(1.0 - beta2);
  const stepSize = <f32>(lr / bc1);
  const sqrtBc2 = <f32>Math.sqrt(bc2);
  const b2 = <f32>beta2;
  const epsF = <f32>eps;
  const k0 = start * CHUNK;
  const k1 = min(n, end * CHUNK);
  const k4 = k0 + ((k1 - k0) & ~3);
  const vDecay = f32x4.splat(decay);
  const vB1 = f32x4.splat(oneMinusB1);
  const vB2 = f32x4.splat(b2);
  const vOB2 = f32x4.splat(oneMinusB2);
  const vStep = f32x4.splat(stepSize);
  const vSqrtBc2 = f32x4.splat(sqrtBc2);
  const vEps = f32x4.splat(epsF);
  for (let k = k0; k < k4; k += 4) {
    const off = (<usize>k) << 2;
    const gk = v128.load(g + off);
    let mk = v128.load(m + off);
    mk = f32x4.add(mk, f32x4.mul(vB1, f32x4.sub(gk, mk)));
    const vk = f32x4.add(f32x4.mul(vB2, v128.load(v + off)), f32x4.mul(vOB2, f32x4.mul(gk, gk)));
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vk), vSqrtBc2), vEps);
    const pk = f32x4.mul(v128.load(p + off), vDecay);
    v128.store(p + off, f32x4.sub(pk, f32x4.mul(vStep, f32x4.div(mk, denom))));
    v128.store(m + off, mk);
    v128.store(v + off, vk);
  }
  for (let k = k4; k < k1; k++) {
    const off = (<usize>k) << 2;
    const gk = load<f32>(g + off);
    let mk = load<f32>(m + off);
    mk = mk + oneMinusB1 * (gk - mk);
    const vk = b2 * load<f32>(v + off) + oneMinusB2 * (gk * gk);
    const denom = Mathf.sqrt(vk) / sqrtBc2 + epsF;
    store<f32>(p + off, load<f32>(p + off) * decay - stepSize * (mk / denom));
    store<f32>(m + off, mk);
    store<f32>(v + off, vk);
  }
}
