import { ArgumentError } from '../../errors.js';
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';

const CHUNK = 1024; // elements per work item of adamw_f32

export interface AdamWHyper {
  lr: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay (p ← p·(1 − lr·wd)). Default 0.01, as torch.optim.AdamW. */
  weightDecay?: number;
}

/** A parameter's optimizer state as adamwStep reads and updates it. */
export interface AdamWSlot {
  /** First moment (exp_avg), persistent, same shape as the parameter. */
  m: Tensor;
  /** Second moment (exp_avg_sq). */
  v: Tensor;
  /** Steps taken by this parameter (PyTorch keeps one per parameter too). */
  step: number;
}

/** Where adamwStep finds each parameter's state: the optimizer's AdamWState (src/train/adamw.ts). */
export interface AdamWSlots {
  readonly engine: Engine;
  /** The state of a parameter, made (zero moments, step 0) on first use. */
  slot(p: Tensor): AdamWSlot;
}

/**
 * One AdamW step (torch.optim.AdamW, decoupled weight decay, bias correction) over each parameter that
 * has a gradient; a parameter whose grad is null is skipped, its step count unchanged (as PyTorch).
 * The bias corrections 1 − β^t are computed here, once per parameter; the kernel does no pow.
 */
export function adamwStep(params: readonly Tensor[], state: AdamWSlots, hyper: AdamWHyper): void {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 } = hyper;
  if (!(lr >= 0)) throw new ArgumentError(`adamw: lr must be ≥ 0, got ${lr}`);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
    throw new ArgumentError(`adamw: betas must be in [0, 1), got ${beta1}, ${beta2}`);
  }
  if (!(eps >= 0) || !(weightDecay >= 0))
    throw new ArgumentError(`adamw: eps and weightDecay must be ≥ 0, got ${eps}, ${weightDecay}`);
  const rt = state.engine.runtime;
  for (const p of params) {
    const g = p.grad;
    if (!g) continue;
    if (p.engine !== state.engine) throw new ArgumentError(`adamw: parameter ${p.name} belongs to another engine`);
    const s = state.slot(p);
    s.step++;
    const bc1 = 1 - beta1 ** s.step;
    const bc2 = 1 - beta2 ** s.step;
    const n = p.size;
    rt.run(
      'adamw_f32',
      [p.ptr, s.m.ptr, s.v.ptr, g.ptr, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2],
      Math.ceil(n / CHUNK),
      n * 12,
    );
  }
}
