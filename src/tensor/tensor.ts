import { ShapeError, SimdformerError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';

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
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`shape [${shape.join(', ')}] must be non-negative integers`);
  }
}

/** A float32 tensor: a pointer into the engine's memory and a row-major shape. */
export class Tensor {
  readonly size: number;
  private live = true;

  constructor(
    readonly runtime: Runtime,
    readonly ptr: number,
    readonly shape: Shape,
    readonly region: Region,
  ) {
    this.size = sizeOf(shape);
  }

  /** Index of the first element in the runtime's f32 view. */
  get offset(): number {
    this.assertLive();
    return this.ptr >>> 2;
  }

  /** A live view of the elements: valid only until the next allocation (memory may grow). */
  view(): Float32Array {
    const o = this.offset;
    return this.runtime.f32.subarray(o, o + this.size);
  }

  /** A copy of the elements. */
  toArray(): Float32Array {
    return this.view().slice();
  }

  /** Overwrites the elements. */
  set(data: ArrayLike<number>): this {
    if (data.length !== this.size) {
      throw new ShapeError(`set: ${data.length} values for a tensor of shape [${this.shape.join(', ')}] (${this.size})`);
    }
    this.view().set(data);
    return this;
  }

  /** Returns a persistent tensor's memory to the engine; a step tensor is released with its step. */
  dispose(): void {
    if (!this.live) return;
    this.live = false;
    if (this.region === 'persistent') this.runtime.arena.release(this.ptr);
  }

  get disposed(): boolean {
    return !this.live;
  }

  private assertLive(): void {
    if (!this.live) throw new SimdformerError('DISPOSED', `tensor [${this.shape.join(', ')}] was disposed`);
  }
}
