import { ShapeError, SimdformerError } from '../errors.js';
import type { Engine } from './engine.js';

export type Shape = readonly number[];

/** Where a tensor's bytes live: persistent blocks, or the per-step region reset after each step. */
export type Region = 'persistent' | 'step';

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ShapeError(`shape [${shape.join(', ')}] must be non-negative integers`);
  }
}

/**
 * A float32 tensor: a pointer into the engine's memory and a row-major shape. A tensor that requires
 * grad gets `grad` (same shape and region, zero-filled when first needed) during `backward()`.
 */
export class Tensor {
  readonly size: number;
  /** Gradients flow to this tensor: a parameter, or an activation computed from one. */
  requiresGrad = false;
  /** ∂loss/∂this, accumulated (+=) by backward kernels; null until backward reaches this tensor. */
  grad: Tensor | null = null;
  /** The parameter's path (`h.0.attn.qkv.weight`), for parameters. */
  name = '';
  private live = true;
  private waiting = false;
  private address: number;

  constructor(
    readonly engine: Engine,
    ptr: number,
    readonly shape: Shape,
    readonly region: Region,
  ) {
    this.size = sizeOf(shape);
    this.address = ptr;
  }

  /** Byte address of the first element in the engine's memory. */
  get ptr(): number {
    return this.address;
  }

  /**
   * A persistent tensor without memory yet (a parameter a loader fills, and may quantize, when its bytes arrive):
   * disposed until `materialize` gives it memory.
   */
  static deferred(engine: Engine, shape: Shape): Tensor {
    const t = new Tensor(engine, 0, [...shape], 'persistent');
    t.live = false;
    t.waiting = true;
    return t;
  }

  /** A deferred tensor still waiting for its memory. */
  get pending(): boolean {
    return this.waiting;
  }

  /** Gives a deferred tensor its memory (uninitialised); returns it. */
  materialize(): this {
    if (!this.waiting) throw new SimdformerError('NOT_DEFERRED', `tensor [${this.shape.join(', ')}] is not deferred`);
    this.address = this.engine.runtime.arena.alloc(this.size * 4, `tensor [${this.shape.join(', ')}]`);
    this.waiting = false;
    this.live = true;
    return this;
  }

  /** Runs the tape backwards from this scalar (its gradient seeded with 1). */
  backward(): void {
    this.engine.backward(this);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item() needs one element, tensor has shape [${this.shape.join(', ')}]`);
    return this.view()[0]!;
  }

  /** Index of the first element in the runtime's f32 view. */
  get offset(): number {
    this.assertLive();
    return this.ptr >>> 2;
  }

  /** A live view of the elements: valid only until the next allocation (memory may grow). */
  view(): Float32Array {
    const o = this.offset;
    return this.engine.runtime.f32.subarray(o, o + this.size);
  }

  /** A copy of the elements. */
  toArray(): Float32Array {
    return this.view().slice();
  }

  /** Overwrites the elements. */
  set(data: ArrayLike<number>): this {
    if (data.length !== this.size) {
      throw new ShapeError(
        `set: ${data.length} values for a tensor of shape [${this.shape.join(', ')}] (${this.size})`,
      );
    }
    this.view().set(data);
    return this;
  }

  /** Returns a persistent tensor's memory to the engine; a step tensor is released with its step. */
  dispose(): void {
    this.waiting = false;
    if (!this.live) return;
    this.live = false;
    if (this.region === 'persistent') this.engine.runtime.arena.release(this.ptr);
    this.grad?.dispose();
  }

  get disposed(): boolean {
    return !this.live;
  }

  private assertLive(): void {
    if (!this.live) throw new SimdformerError('DISPOSED', `tensor [${this.shape.join(', ')}] was disposed`);
  }
}
