import { QuantizedError, ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';
import { gelu } from './elementwise.js';
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
  const { M, In, Out } = linearDims('linear', x, weight, bias, layout);
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
    e.record([y], () => linearBackward(x, weight, bias, layout, y.grad!.ptr, M, In, Out));
  }
  return y;
}

/**
 * gelu(x·W + b) (GPT-2's and BERT's feed-forward up-projection and activation) in two passes over the output
 * instead of three: the matmul writes u = x·W (=), then bias_gelu_fwd_f32 writes y = gelu(u + b) and, when a
 * gradient is wanted, gelu′(u + b) over u, from the same exponential. The unfused path copies the bias rows in from
 * JavaScript, lets the matmul read them back to add to, and runs gelu over u as a third pass.
 * Bits: the same as linear → gelu where K (= In) ≤ 256, the matmul's k block: there the bias joins one sum
 * either way (b + s = s + b). Past it the unfused matmul adds each k block's sum to the bias, ((b + s₁) + s₂),
 * and this adds the bias last, ((s₁ + s₂) + b): the last bits may differ.
 * Backward: du = dy·gelu′ in u's memory (mul_fwd_f32), then linear's backward with du.
 */
export function linearGelu(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  layout: WeightLayout,
  approximate: 'none' | 'tanh',
): Tensor {
  const e = x.engine;
  const rt = e.runtime;
  // an int8 weight (inference only) has its own matmul: the plain path, then gelu
  if (int8Of(weight)) return gelu(linear(x, weight, bias, layout), approximate);
  const { M, In, Out } = linearDims('linearGelu', x, weight, bias, layout);
  const shape = [...x.shape.slice(0, -1), Out];
  const u = e.empty(shape, 'step'); // [M, Out] pre-activation
  const y = e.empty(shape, 'step'); // [M, Out]
  matmulInto(rt, u.ptr, x.ptr, weight.ptr, M, Out, In, { transposeB: layout === 'out_in', accumulate: false });
  const grad = e.needsGrad(x, weight, bias);
  const cost = M * Out * 8; // as gelu's: a transcendental counts as several operations
  const args = [y.ptr, u.ptr, bias.ptr, Out, grad ? 1 : 0] as const;
  if (approximate === 'tanh') rt.run('bias_gelu_fwd_f32__tanh', args, M, cost);
  else rt.run('bias_gelu_fwd_f32', args, M, cost);
  if (grad) {
    e.record([y], () => {
      // u holds gelu′: du = dy·gelu′ is made in its place (=), nothing to zero first
      const n = M * Out;
      rt.run('mul_fwd_f32', [u.ptr, y.grad!.ptr, u.ptr], n, n);
      linearBackward(x, weight, bias, layout, u.ptr, M, In, Out);
    });
  }
  return y;
}

function linearDims(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  layout: WeightLayout,
): { M: number; In: number; Out: number } {
  if (weight.shape.length !== 2) throw new ShapeError(`${op}: weight must be 2-D, got [${weight.shape.join(', ')}]`);
  const [Out, In] = layout === 'out_in' ? [weight.shape[0]!, weight.shape[1]!] : [weight.shape[1]!, weight.shape[0]!];
  const inDim = x.shape[x.shape.length - 1];
  if (inDim !== In) {
    throw new ShapeError(`${op}: input [${x.shape.join(', ')}] has last dimension ${inDim}, the weight expects ${In}`);
  }
  if (bias && (bias.size !== Out || bias.shape.length !== 1)) {
    throw new ShapeError(`${op}: bias [${bias.shape.join(', ')}] should be [${Out}]`);
  }
  return { M: x.size / In, In, Out };
}

/** dx += dy·Wᵀ (= if x has no gradient yet), dW += xᵀ·dy (laid out as W), db += 1ᵀ·dy, for those that require grad; dy [M, Out]. */
function linearBackward(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  layout: WeightLayout,
  dy: number,
  M: number,
  In: number,
  Out: number,
): void {
  const e = x.engine;
  const rt = e.runtime;
  const transposeB = layout === 'out_in';
  if (x.requiresGrad) {
    // dx[M,In] (+)= dy[M,Out]·W as [Out,In]
    const dx = e.gradTarget(x);
    matmulInto(rt, dx.ptr, dy, weight.ptr, M, In, Out, { transposeB: !transposeB, accumulate: dx.accumulate });
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
}
