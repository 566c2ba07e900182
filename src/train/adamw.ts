import { ArgumentError, CheckpointError, ShapeError } from '../errors.js';
import type { Engine } from '../tensor/engine.js';
import type { AdamWSlot, AdamWSlots } from '../tensor/ops/adamw.js';
import type { Shape, Tensor } from '../tensor/tensor.js';

/** A named array, as checkpoints store them. */
export interface NamedArray {
  name: string;
  data: Float32Array;
  shape: number[];
}

interface Slot extends AdamWSlot {
  /** The parameter this slot serves, once seen (two live parameters may not share a name). */
  owner: Tensor | null;
}

/**
 * AdamW's state: for each parameter (by its name), the moments m and v (persistent tensors, made zero on
 * the parameter's first step) and its step count. Saved and restored as named Float32Arrays with
 * PyTorch's state names: `<param>.exp_avg`, `<param>.exp_avg_sq`, `<param>.step` (one element; exact to
 * 2²⁴ steps). The op, adamwStep (src/tensor/ops/adamw.ts), reads and updates it.
 */
export class AdamWState implements AdamWSlots {
  private readonly slots = new Map<string, Slot>();

  constructor(readonly engine: Engine) {}

  /** The slot of a parameter, made (zero moments) on first use. */
  slot(p: Tensor): Slot {
    if (!p.name)
      throw new ArgumentError(`adamw: parameter [${p.shape.join(', ')}] has no name (state is kept by name)`);
    let s = this.slots.get(p.name);
    if (!s) {
      s = { m: this.engine.zeros(p.shape), v: this.engine.zeros(p.shape), step: 0, owner: p };
      this.slots.set(p.name, s);
    }
    if (s.owner !== p) {
      if (s.owner && !s.owner.disposed) throw new ArgumentError(`adamw: two parameters are named ${p.name}`);
      if (!sameShape(s.m.shape, p.shape)) {
        throw new ShapeError(
          `adamw: state for ${p.name} has shape [${s.m.shape.join(', ')}], the parameter [${p.shape.join(', ')}]`,
        );
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
    try {
      state.readNamed(engine, entries, byName);
    } catch (e) {
      state.dispose(); // what was restored before the bad entry
      throw e;
    }
    return state;
  }

  private readNamed(engine: Engine, entries: readonly NamedArray[], byName: Map<string, NamedArray>): void {
    for (const { name } of entries) {
      if (!name.endsWith('.step')) continue;
      const param = name.slice(0, -'.step'.length);
      const step = byName.get(name)!;
      const m = byName.get(`${param}.exp_avg`);
      const v = byName.get(`${param}.exp_avg_sq`);
      if (!m || !v) throw new CheckpointError(`adamw state for ${param}: missing ${!m ? 'exp_avg' : 'exp_avg_sq'}`);
      if (!sameShape(m.shape, v.shape) || m.data.length !== size(m.shape) || v.data.length !== size(v.shape)) {
        throw new CheckpointError(
          `adamw state for ${param}: exp_avg [${m.shape.join(', ')}] and exp_avg_sq [${v.shape.join(', ')}] do not match their data or each other`,
        );
      }
      const t = step.data[0];
      if (step.data.length !== 1 || t === undefined || !Number.isInteger(t) || t < 0) {
        throw new CheckpointError(`adamw state for ${param}: step must be one non-negative integer`);
      }
      this.slots.set(param, {
        m: engine.tensor(m.data, m.shape),
        v: engine.tensor(v.data, v.shape),
        step: t,
        owner: null,
      });
    }
    for (const { name } of entries) {
      const param = name.replace(/\.(exp_avg|exp_avg_sq|step)$/, '');
      if (param === name) throw new CheckpointError(`adamw state: unexpected entry ${name}`);
      if (!this.slots.has(param)) throw new CheckpointError(`adamw state for ${param}: missing step (have ${name})`);
    }
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

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function size(shape: Shape): number {
  return shape.reduce((a, d) => a * d, 1);
}
