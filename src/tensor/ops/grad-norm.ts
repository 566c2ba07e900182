import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

const NORM_CHUNK = 4096; // elements per float64 partial of grad_norm_f32
const CHUNK = 1024; // elements per work item of grad_scale_f32

/**
 * The global L2 norm of every parameter's gradient (parameters with no grad are left out), as
 * torch.nn.utils.clip_grad_norm_ computes it. Each gradient is cut into fixed chunks of 4096 elements;
 * one float64 partial Σg² per chunk (any thread), then the partials of all parameters are summed here in
 * order, in float64: the result does not depend on the thread count. NaN or ±inf in any gradient makes
 * the norm NaN or inf (check it: a non-finite norm means the step must not be applied).
 */
export function gradNorm(params: readonly Tensor[]): number {
  const grads = params.flatMap((p) => (p.grad ? [p.grad] : []));
  if (grads.length === 0) return 0;
  const rt = grads[0]!.engine.runtime;
  let chunks = 0;
  for (const g of grads) chunks += Math.ceil(g.size / NORM_CHUNK);
  const partials = rt.scratch(chunks * 8);
  let at = partials;
  for (const g of grads) {
    const items = Math.ceil(g.size / NORM_CHUNK);
    rt.run('grad_norm_f32', [at, g.ptr, g.size], items, g.size * 2);
    at += items * 8;
  }
  const sums = new Float64Array(rt.u8.buffer, partials, chunks);
  let total = 0;
  for (let i = 0; i < chunks; i++) total += sums[i]!;
  return Math.sqrt(total);
}

/**
 * Clips the gradients in place so that their global L2 norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_: when norm > maxNorm every gradient is multiplied by
 * maxNorm / (norm + 1e-6). Returns the norm before clipping. A NaN norm clips nothing (PyTorch would make
 * every gradient NaN); an infinite one scales by 0. Either way the caller should skip the step.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ArgumentError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = gradNorm(params);
  if (norm > maxNorm) scaleGrads(params, maxNorm / (norm + 1e-6));
  return norm;
}

/** Multiplies every parameter's gradient by s, in place (gradient accumulation, clipping). */
export function scaleGrads(params: readonly Tensor[], s: number): void {
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    g.engine.runtime.run('grad_scale_f32', [g.ptr, g.size, s], Math.ceil(g.size / CHUNK), g.size);
  }
}
