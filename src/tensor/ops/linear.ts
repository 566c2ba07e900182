import { QuantizedError, ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';
import { gemmInt8, int8Of } from './int8.js';
import { matmulInto } from './matmul.js';

/**
 * How a weight is stored: 'out_in' [out, in] as torch.nn.Linear (BERT, T5, BART, tied LM heads), or
 * 'in_out' [in, out] as GPT-2's Conv1D. Weights keep the layout of the checkpoint; the matmul reads either.
 */
export type WeightLayout = 'out_in' | 'in_out';

/**
 * y[..., out] = x[..., in]·W (+ b), over all leading dimensions at once (one matmul of M = rows).
 * Forward: C is filled with the bias rows, then the matmul accumulates into it.
 * Backward: dx += dy·Wᵀ, dW += xᵀ·dy (laid out as W), db += 1ᵀ·dy (a matmul with a ones row, so the
 * sum over rows has a fixed order for any thread count).
 * A weight quantized to int8 (ops/int8.ts) runs its int8 matmul; it has no backward (QuantizedError).
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null, layout: WeightLayout): Tensor {
  const e = x.engine;
  const rt = e.runtime;
  if (weight.shape.length !== 2) throw new ShapeError(`linear: weight must be 2-D, got [${weight.shape.join(', ')}]`);
  const [Out, In] = layout === 'out_in' ? [weight.shape[0]!, weight.shape[1]!] : [weight.shape[1]!, weight.shape[0]!];
  const inDim = x.shape[x.shape.length - 1];
  if (inDim !== In) {
    throw new ShapeError(`linear: input [${x.shape.join(', ')}] has last dimension ${inDim}, the weight expects ${In}`);
  }
  if (bias && (bias.size !== Out || bias.shape.length !== 1)) {
    throw new ShapeError(`linear: bias [${bias.shape.join(', ')}] should be [${Out}]`);
  }
  const M = x.size / In;
  const int8 = int8Of(weight);
  if (int8 && e.needsGrad(x, bias)) {
    throw new QuantizedError(
      `linear: the weight ${weight.name || `[${weight.shape.join(', ')}]`} is quantized to int8, for inference only: no gradients flow through it`,
    );
  }
  const y = e.empty([...x.shape.slice(0, -1), Out], 'step');
  const transposeB = layout === 'out_in';
  if (bias && M > 0) {
    const f32 = rt.f32;
    const b = f32.subarray(bias.offset, bias.offset + Out);
    for (let r = 0, o = y.offset; r < M; r++, o += Out) f32.set(b, o);
  }
  if (int8) {
    gemmInt8(rt, y.ptr, x.ptr, int8, M, !!bias);
    return y;
  }
  matmulInto(rt, y.ptr, x.ptr, weight.ptr, M, Out, In, { transposeB, accumulate: !!bias });
  if (e.needsGrad(x, weight, bias)) {
    e.record([y], () => {
      const dy = y.grad!.ptr;
      if (x.requiresGrad) {
        // dx[M,In] += dy[M,Out]·W as [Out,In]
        matmulInto(rt, e.gradOf(x).ptr, dy, weight.ptr, M, In, Out, { transposeB: !transposeB, accumulate: true });
      }
      if (weight.requiresGrad) {
        const dw = e.gradOf(weight).ptr;
        if (transposeB)
          matmulInto(rt, dw, dy, x.ptr, Out, In, M, { transposeA: true, accumulate: true }); // [Out,In] += dyᵀ·x
        else matmulInto(rt, dw, x.ptr, dy, In, Out, M, { transposeA: true, accumulate: true }); // [In,Out] += xᵀ·dy
      }
      if (bias?.requiresGrad) {
        matmulInto(rt, e.gradOf(bias).ptr, e.onesPtr(M), dy, 1, Out, M, { accumulate: true });
      }
    });
  }
  return y;
}
