import { ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

const ROWS = 32; // rows per backward chunk (assembly/kernels/layernorm.ts)

/**
 * Normalises the last dimension C of x: LayerNorm (x − mean)·rstd·w + b, or RMSNorm x·rstd·w (T5).
 * Saves mean and rstd per row for backward; the weight and bias gradients are summed over fixed chunks
 * of 32 rows, then the chunks in order (bit-identical for any thread count).
 */
function norm(x: Tensor, weight: Tensor, bias: Tensor | null, eps: number, rms: boolean): Tensor {
  const e = x.engine;
  const rt = e.runtime;
  const C = x.shape[x.shape.length - 1] ?? 0;
  if (weight.size !== C || (bias && bias.size !== C)) {
    throw new ShapeError(
      `${rms ? 'rmsNorm' : 'layerNorm'}: input [${x.shape.join(', ')}] needs weight${bias ? ' and bias' : ''} of ${C}, got [${weight.shape.join(', ')}]`,
    );
  }
  const N = C === 0 ? 0 : x.size / C;
  const y = e.empty(x.shape, 'step');
  const mean = e.empty([N], 'step'); // (N,)
  const rstd = e.empty([N], 'step'); // (N,)
  rt.run(
    'layernorm_fwd_f32',
    [y.ptr, mean.ptr, rstd.ptr, x.ptr, weight.ptr, bias?.ptr ?? 0, C, eps, rms ? 1 : 0],
    N,
    N * C * 4,
  );
  if (e.needsGrad(x, weight, bias)) {
    e.record([y], () => {
      const chunks = Math.ceil(N / ROWS);
      const parts = rt.arena.allocStep(chunks * C * 4 * (bias ? 2 : 1)); // (chunks, C) for dw [, db]
      const dbParts = bias ? parts + chunks * C * 4 : 0;
      const dx = x.requiresGrad ? e.gradOf(x).ptr : 0;
      rt.run(
        'layernorm_bwd_f32',
        [dx, parts, dbParts, y.grad!.ptr, x.ptr, mean.ptr, rstd.ptr, weight.ptr, N, C, rms ? 1 : 0],
        chunks,
        N * C * 8,
      );
      if (weight.requiresGrad) rt.run('sum_rows_f32', [e.gradOf(weight).ptr, parts, chunks, C], C, chunks * C);
      if (bias?.requiresGrad) rt.run('sum_rows_f32', [e.gradOf(bias).ptr, dbParts, chunks, C], C, chunks * C);
    });
  }
  return y;
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): Tensor {
  return norm(x, weight, bias, eps, false);
}

export function rmsNorm(x: Tensor, weight: Tensor, eps: number, bias: Tensor | null = null): Tensor {
  return norm(x, weight, bias, eps, true);
}
