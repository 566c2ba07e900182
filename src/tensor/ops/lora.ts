import { ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';
import type { WeightLayout } from './linear.js';
import { gemm, matmulInto } from './matmul.js';

/** Columns [offset, offset + width) of a linear layer's output: one part of a fused projection (q of q|k|v). */
export interface OutputColumns {
  offset: number;
  width: number;
}

/**
 * LoRA's low-rank update, added in place to a linear layer's output y [..., Out] (the base layer's result):
 *   y[:, cols] += s · (x·Aᵀ)·Bᵀ,   x [M, In] (dropout already applied), A [r, In], B [width, r], s = alpha / r.
 * The product never forms B·A: h = s·x·Aᵀ [M, r] is kept for backward (M·r floats).
 * Backward, with dY = dy[:, cols] (y's gradient is the base layer's too: y = base + update):
 *   dB += dYᵀ·h ;  dh = s·dY·B [M, r] ;  dA += dhᵀ·x ;  dx += dh·A.
 * The base weights take no part in backward here, so frozen they get no gradient buffer at all.
 */
export function loraAddInto(y: Tensor, x: Tensor, A: Tensor, B: Tensor, s: number, cols: OutputColumns): void {
  const e = y.engine;
  const rt = e.runtime;
  const Out = y.shape[y.shape.length - 1]!;
  const In = x.shape[x.shape.length - 1]!;
  const M = x.size / Math.max(1, In);
  const r = A.shape[0]!;
  const { offset, width: W } = cols;
  if (A.shape.length !== 2 || A.shape[1] !== In || B.shape.length !== 2 || B.shape[0] !== W || B.shape[1] !== r) {
    throw new ShapeError(
      `lora: x [${x.shape.join(', ')}] needs A [r, ${In}] and B [${W}, r], got A [${A.shape.join(', ')}] and B [${B.shape.join(', ')}]`,
    );
  }
  if (y.size !== M * Out || !(offset >= 0 && offset + W <= Out) || !Number.isInteger(offset)) {
    throw new ShapeError(
      `lora: columns ${offset} … ${offset + W - 1} of an output [${y.shape.join(', ')}] for ${M} input rows`,
    );
  }
  const h = e.empty([M, r], 'step'); // h = s·x·Aᵀ (M, r)
  matmulInto(rt, h.ptr, x.ptr, A.ptr, M, r, In, { transposeB: true });
  rt.run('scale_fwd_f32', [h.ptr, h.ptr, s], h.size, h.size);
  // y[:, cols] (M, W) += h (M, r) · Bᵀ, Bᵀ (r, W) read from B [W, r]
  gemm(rt, y.ptr + offset * 4, Out, h.ptr, r, 1, B.ptr, 1, r, M, W, r, true);
  if (!e.needsGrad(x, A, B)) return;
  e.record([y], () => {
    const dy = y.grad!.ptr + offset * 4; // dY (M, W), row stride Out
    // dB (W, r) += dYᵀ (W, M) · h (M, r)
    if (B.requiresGrad) gemm(rt, e.gradOf(B).ptr, r, dy, 1, Out, h.ptr, r, 1, W, r, M, true);
    if (!A.requiresGrad && !x.requiresGrad) return;
    const dh = e.empty([M, r], 'step'); // dh = s·dY·B (M, r)
    gemm(rt, dh.ptr, r, dy, Out, 1, B.ptr, r, 1, M, r, W, false);
    rt.run('scale_fwd_f32', [dh.ptr, dh.ptr, s], dh.size, dh.size);
    if (A.requiresGrad)
      matmulInto(rt, e.gradOf(A).ptr, dh.ptr, x.ptr, r, In, M, { transposeA: true, accumulate: true });
    if (x.requiresGrad) matmulInto(rt, e.gradOf(x).ptr, dh.ptr, A.ptr, M, In, r, { accumulate: true });
  });
}

/**
 * Folds a LoRA update into its base weight, outside the tape: W[cols rows] += s·B·A for W [Out, In]
 * ('out_in'), or W[:, cols] += s·Aᵀ·Bᵀ for W [In, Out] ('in_out', GPT-2's Conv1D: PEFT's fan_in_fan_out).
 */
export function loraMergeInto(
  weight: Tensor,
  layout: WeightLayout,
  A: Tensor,
  B: Tensor,
  s: number,
  cols: OutputColumns,
): void {
  const e = weight.engine;
  const rt = e.runtime;
  const [r, In] = [A.shape[0]!, A.shape[1]!];
  const { offset, width: W } = cols;
  const Out = layout === 'out_in' ? weight.shape[0]! : weight.shape[1]!;
  const wIn = layout === 'out_in' ? weight.shape[1]! : weight.shape[0]!;
  if (wIn !== In || B.shape[0] !== W || B.shape[1] !== r || offset < 0 || offset + W > Out) {
    throw new ShapeError(
      `lora merge: A [${A.shape.join(', ')}], B [${B.shape.join(', ')}] at columns ${offset} … do not fit a weight [${weight.shape.join(', ')}] (${layout})`,
    );
  }
  const sB = e.empty([W, r], 'step'); // s·B (W, r)
  rt.run('scale_fwd_f32', [sB.ptr, B.ptr, s], sB.size, sB.size);
  if (layout === 'out_in') {
    // W rows offset … offset+W−1 (W, In) += sB (W, r) · A (r, In)
    gemm(rt, weight.ptr + offset * In * 4, In, sB.ptr, r, 1, A.ptr, In, 1, W, In, r, true);
  } else {
    // W [In, Out] columns offset … offset+W−1 (In, W) += Aᵀ (In, r) · sBᵀ (r, W)
    gemm(rt, weight.ptr + offset * 4, Out, A.ptr, 1, In, sB.ptr, 1, r, In, W, r, true);
  }
}
