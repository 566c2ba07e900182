import { ShapeError } from '../../errors.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Tensor } from '../tensor.js';

export interface SoftmaxOptions {
  /** Multiplies the scores before the softmax (attention's 1/√D). Default 1. */
  scale?: number;
  /**
   * Rows are grouped as [..., Tq, T] and query row i sees keys j ≤ i + (T − Tq) (so the last rows of a
   * KV-cached step work too); masked scores are never read and come out 0. A row with no key gives zeros.
   */
  causal?: boolean;
}

/** y = softmax(scale·x) over the last dim of x viewed as [rows, T], on raw pointers (y may be x). */
export function softmaxInto(
  rt: Runtime,
  y: number,
  x: number,
  rows: number,
  T: number,
  Tq: number,
  causal: boolean,
  scale: number,
): void {
  rt.run('softmax_fwd_f32', [y, x, T, Tq, causal ? 1 : 0, scale], rows, rows * T * 8);
}

/** dx += scale · y ⊙ (dy − Σ dy·y) per row (dx must not be y or dy). */
export function softmaxBackwardInto(
  rt: Runtime,
  dx: number,
  y: number,
  dy: number,
  rows: number,
  T: number,
  Tq: number,
  causal: boolean,
  scale: number,
): void {
  rt.run('softmax_bwd_f32', [dx, y, dy, T, Tq, causal ? 1 : 0, scale], rows, rows * T * 4);
}

/** The [rows, T, Tq] a softmax over the last dim of `shape` works on. */
export function softmaxDims(shape: readonly number[], causal: boolean): [number, number, number] {
  if (shape.length === 0) throw new ShapeError('softmax needs at least one dimension, got a scalar');
  const T = shape[shape.length - 1]!;
  const Tq = causal ? (shape.length >= 2 ? shape[shape.length - 2]! : 1) : 1;
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i]!;
  return [rows, T, Tq];
}

/**
 * Differentiable softmax(scale·x) over the last dim → a new step tensor of x's shape. With `causal`, x is
 * [..., Tq, Tk] and the mask is applied inside the kernel. Backward: dx += scale · y ⊙ (dy − Σ dy·y).
 */
export function softmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  const e = x.engine;
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale)) throw new ShapeError(`softmax: scale must be finite, got ${scale}`);
  const causal = !!opts.causal;
  const [rows, T, Tq] = softmaxDims(x.shape, causal);
  const y = e.empty(x.shape, 'step');
  const rt = e.runtime;
  if (y.size > 0) softmaxInto(rt, y.ptr, x.ptr, rows, T, Tq, causal, scale);
  if (e.needsGrad(x)) {
    e.record([y], () => {
      if (x.requiresGrad && y.size > 0)
        softmaxBackwardInto(rt, e.gradOf(x).ptr, y.ptr, y.grad!.ptr, rows, T, Tq, causal, scale);
    });
  }
  return y;
}
