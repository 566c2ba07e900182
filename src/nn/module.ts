import type { Engine } from '../tensor/engine.js';
import { releaseInt8 } from '../tensor/ops/int8.js';
import { Tensor } from '../tensor/tensor.js';

/** Draws one value for a parameter's initialisation (a seeded normal, say). */
export type Init = (i: number) => number;

export const zerosInit: Init = () => 0;

/** Engines whose new parameters are left uninitialised for now (a loader is about to overwrite them). */
const uninitialised = new WeakSet<Engine>();

/**
 * Runs `build` (a model's constructor, say) with parameter initialisation off for `engine`: parameters
 * are allocated but neither drawn nor filled, so a loader that then writes every parameter pays nothing
 * for an initialisation it would throw away. Whatever is not overwritten holds whatever the memory held.
 */
export function withoutInit<T>(engine: Engine, build: () => T): T {
  uninitialised.add(engine);
  try {
    return build();
  } finally {
    uninitialised.delete(engine);
  }
}

/** Whether parameters made now on `engine` skip their initialisation (inside withoutInit). */
export function initialising(engine: Engine): boolean {
  return !uninitialised.has(engine);
}

/** Engines whose new parameters get no memory for now (a loader gives each its memory when its bytes come). */
const deferring = new WeakSet<Engine>();

/** Whether parameters made now on `engine` are deferred (inside withDeferredParameters). */
export function deferringParameters(engine: Engine): boolean {
  return deferring.has(engine);
}

/**
 * Runs `build` with parameters deferred on `engine` (Tensor.deferred): nothing is allocated for them until a loader
 * materializes each as its bytes arrive, so a loader that quantizes weights as they come never holds the whole
 * float32 model (loadModel with `quantize`).
 */
export function withDeferredParameters<T>(engine: Engine, build: () => T): T {
  deferring.add(engine);
  try {
    return withoutInit(engine, build);
  } finally {
    deferring.delete(engine);
  }
}
export const onesInit: Init = () => 1;

/**
 * A module owns named parameters and named child modules; paths join with '.', so a GPT block's fused
 * q|k|v weight is `h.0.attn.qkv.weight` (src/io/names/ maps these paths to the Hugging Face names).
 */
export abstract class Module {
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  /** Training mode: dropout is applied (Hugging Face models start in eval mode, and so do these). */
  training = false;
  /**
   * Gradient checkpointing: in training mode each transformer block keeps only its input for backward and
   * recomputes the rest there (ops.checkpoint). Same bits, ~1/3 more compute, a fraction of the memory.
   */
  gradientCheckpointing = false;

  constructor(readonly engine: Engine) {}

  protected param(name: string, shape: number[], init: Init): Tensor {
    if (!initialising(this.engine)) {
      const t = deferringParameters(this.engine) ? Tensor.deferred(this.engine, shape) : this.engine.empty(shape);
      t.requiresGrad = true;
      t.name = name;
      this.params.set(name, t);
      return t;
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = init(i);
    const t = this.engine.parameter(name, data, shape);
    this.params.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Every parameter under this module, by path, in registration order. */
  namedParameters(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this.params) out.set(prefix + n, t);
    for (const [n, c] of this.children) for (const [p, t] of c.namedParameters(`${prefix}${n}.`)) out.set(p, t);
    return out;
  }

  /** This module and every module under it, by path ('' for this one, then `h`, `h.0`, `h.0.attn`…). */
  namedModules(prefix = ''): Map<string, Module> {
    const out = new Map<string, Module>([[prefix.replace(/\.$/, ''), this]]);
    for (const [n, c] of this.children) for (const [p, m] of c.namedModules(`${prefix}${n}.`)) out.set(p, m);
    return out;
  }

  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }

  /** Sets training mode (dropout on) or evaluation mode on this module and every child. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  /** Turns gradient checkpointing on for every block under this module (transformers' gradient_checkpointing_enable). */
  gradientCheckpointingEnable(): this {
    return this.setGradientCheckpointing(true);
  }

  gradientCheckpointingDisable(): this {
    return this.setGradientCheckpointing(false);
  }

  /** Whether gradient checkpointing is on (transformers' is_gradient_checkpointing). */
  get isGradientCheckpointing(): boolean {
    return this.gradientCheckpointing;
  }

  private setGradientCheckpointing(on: boolean): this {
    this.gradientCheckpointing = on;
    for (const c of this.children.values()) c.setGradientCheckpointing(on);
    return this;
  }

  /** Stops (or restarts) gradients for every parameter under this module (freezing a body). */
  setTrainable(trainable: boolean): void {
    for (const t of this.parameters()) t.requiresGrad = trainable;
  }

  /** Releases every parameter's memory (an int8-quantized weight's too). */
  dispose(): void {
    for (const t of this.parameters()) {
      releaseInt8(t);
      t.dispose();
    }
  }
}

/** Children indexed 0, 1, 2…: `h.0`, `h.1`. */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(engine: Engine, items: M[]) {
    super(engine);
    this.items = items;
    items.forEach((m, i) => this.child(String(i), m));
  }
}

/** A named group of modules and parameters with no forward of its own (BERT's `embeddings`, `mlm`). */
export class Group extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }

  addParam(name: string, shape: number[], init: Init): Tensor {
    return this.param(name, shape, init);
  }
}
