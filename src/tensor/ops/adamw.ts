import { ArgumentError, CheckpointError, ShapeError } from '../../errors.js';
import type { Engine } from '../engine.js';
import type { Shape, Tensor } from '../tensor.js';

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

/** A named array, as checkpoints store them. */
export interface NamedArray {
  name: string;
  data: Float32Array;
  shape: number[];
}

interface Slot {
  /** First moment (exp_avg), persistent, same shape as the parameter. */
  m: Tensor;
  /** Second moment (exp_avg_sq). */
  v: Tensor;
  /** Steps taken by this parameter (PyTorch keeps one per parameter too). */
  step: number;
  /** The parameter this slot serves, once seen (two live parameters may not share a name). */
  owner: Tensor | null;
}

/**
 * AdamW's state: for each parameter (by its name), the moments m and v (persistent tensors, made zero on
 * the parameter's first step) and its step count. Saved and restored as named Float32Arrays with
 * PyTorch's state names: `<param>.exp_avg`, `<param>.exp_avg_sq`, `<param>.step` (one element; exact to
 * 2²⁴ steps).
 */
export class AdamWState {
  private readonly slots = new Map<string, Slot>();

  constructor(readonly engine: Engine) {}

  /** The slot of a parameter, made (zero moments) on first use. */
  slot(p: Tensor): Slot {
    if (!p.name) throw new ArgumentError(`adamw: parameter [${p.shape.join(', ')}] has no name (state is kept by name)`);
    let s = this.slots.get(p.name);
    if (!s) {
      s = { m: this.engine.zeros(p.shape), v: this.engine.zeros(p.shape), step: 0, owner: p };
      this.slots.set(p.name, s);
    }
    if (s.owner !== p) {
      if (s.owner && !s.owner.disposed) throw new ArgumentError(`adamw: two parameters are named ${p.name}`);
      if (!sameShape(s.m.shape, p.shape)) {
        throw new ShapeError(`adamw: state for ${p.name} has shape [${s.m.shape.join(', ')}], the parameter [${p.shape.join(', ')}]`);
      }
      s.owner = p;
    }
    return s;
  }

  /** Steps taken by the named parameter (0 if none). */
  stepOf(name: string): number {
    return this.slots.get(name)?.step ?? 0;
  }

  /** Copies of every parameter's state, sorted by name. */
  toNamed(): NamedArray[] {
    const out: NamedArray[] = [];
    for (const name of [...this.slots.keys()].sort()) {
      const s = this.slots.get(name)!;
      out.push({ name: `${name}.exp_avg`, data: s.m.toArray(), shape: [...s.m.shape] });
      out.push({ name: `${name}.exp_avg_sq`, data: s.v.toArray(), shape: [...s.v.shape] });
      out.push({ name: `${name}.step`, data: Float32Array.of(s.step), shape: [] });
    }
    return out;
  }

  /**
   * State restored from `toNamed()` output: every parameter needs all three entries with matching
   * shapes, else a CheckpointError naming what is missing or wrong.
   */
  static fromNamed(engine: Engine, entries: readonly NamedArray[]): AdamWState {
    const byName = new Map(entries.map((x) => [x.name, x]));
    const state = new AdamWState(engine);
    for (const { name } of entries) {
      if (!name.endsWith('.step')) continue;
      const param = name.slice(0, -'.step'.length);
      const step = byName.get(name)!;
      const m = byName.get(`${param}.exp_avg`);
      const v = byName.get(`${param}.exp_avg_sq`);
      if (!m || !v) throw new CheckpointError(`adamw state for ${param}: missing ${!m ? 'exp_avg' : 'exp_avg_sq'}`);
      if (!sameShape(m.shape, v.shape) || m.data.length !== size(m.shape) || v.data.length !== size(v.shape)) {
        throw new CheckpointError(`adamw state for ${param}: exp_avg [${m.shape.join(', ')}] and exp_avg_sq [${v.shape.join(', ')}] do not match their data or each other`);
      }
      const t = step.data[0];
      if (step.data.length !== 1 || t === undefined || !Number.isInteger(t) || t < 0) {
        throw new CheckpointError(`adamw state for ${param}: step must be one non-negative integer`);
      }
      state.slots.set(param, { m: engine.tensor(m.data, m.shape), v: engine.tensor(v.data, v.shape), step: t, owner: null });
    }
    for (const { name } of entries) {
      const param = name.replace(/\.(exp_avg|exp_avg_sq|step)$/, '');
      if (param === name) throw new CheckpointError(`adamw state: unexpected entry ${name}`);
      if (!state.slots.has(param)) throw new CheckpointError(`adamw state for ${param}: missing step (have ${name})`);
    }
    return state;
  }

  /** Returns the moments' memory. */
  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}

/**
 * One AdamW step (torch.optim.AdamW, decoupled weight decay, bias correction) over each parameter that
 * has a gradient; a parameter whose grad is null is skipped, its step count unchanged (as PyTorch).
 * The bias corrections 1 − β^t are computed here, once per parameter; the kernel does no pow.
 */
export function adamwStep(params: readonly Tensor[], state: AdamWState, hyper: AdamWHyper): void {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 } = hyper;
  if (!(lr >= 0)) throw new ArgumentError(`adamw: lr must be ≥ 0, got ${lr}`);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
    throw new ArgumentError(`adamw: betas must be in [0, 1), got ${beta1}, ${beta2}`);
  }
  if (!(eps >= 0) || !(weightDecay >= 0)) throw new ArgumentError(`adamw: eps and weightDecay must be ≥ 0, got ${eps}, ${weightDecay}`);
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
    rt.run('adamw_f32', [p.ptr, s.m.ptr, s.v.ptr, g.ptr, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2], Math.ceil(n / CHUNK), n * 12);
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function size(shape: Shape): number {
  return shape.reduce((a, d) => a * d, 1);
}
