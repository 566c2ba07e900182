import { ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

const ROWS = 32; // rows per backward chunk (assembly/kernels/layernorm.ts)

/**
 * Normalises the last dimension C of x: LayerNorm (x − mean)·rstd·w + b, or RMSNorm x·rstd·w (T5). With
 * `residual`, the norm of x + residual in one pass (post-norm blocks: norm(x + f(x))), the same bits as add then
 * the norm; backward adds the sum's gradient into both inputs' in the same pass.
 * Saves mean and rstd per row for backward; the weight and bias gradients are summed over fixed chunks
 * of 32 rows, then the chunks in order (bit-identical for any thread count).
 */
function norm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  eps: number,
  rms: boolean,
  residual: Tensor | null = null,
  keepSum = false,
): [sum: Tensor, y: Tensor] {
  const e = x.engine;
  const rt = e.runtime;
  const C = x.shape[x.shape.length - 1] ?? 0;
  const what = rms ? 'rmsNorm' : 'layerNorm';
  if (weight.size !== C || (bias && bias.size !== C)) {
    throw new ShapeError(
      `${what}: input [${x.shape.join(', ')}] needs weight${bias ? ' and bias' : ''} of ${C}, got [${weight.shape.join(', ')}]`,
    );
  }
  if (residual && (residual.shape.length !== x.shape.length || residual.shape.some((d, i) => d !== x.shape[i]))) {
    throw new ShapeError(`${what}: residual [${residual.shape.join(', ')}] differs from input [${x.shape.join(', ')}]`);
  }
  const N = C === 0 ? 0 : x.size / C;
  const y = e.empty(x.shape, 'step');
  const mean = e.empty([N], 'step'); // (N,)
  const rstd = e.empty([N], 'step'); // (N,)
  const grad = e.needsGrad(x, weight, bias, residual);
  // the normalised input: x, or the sum x + residual (kept for backward or for the caller, or made in y's memory)
  const s = !residual ? x : grad || keepSum ? e.empty(x.shape, 'step') : y;
  const tail = [weight.ptr, bias?.ptr ?? 0, C, eps, rms ? 1 : 0] as const;
  if (residual) {
    rt.run('add_layernorm_fwd_f32', [y.ptr, s.ptr, mean.ptr, rstd.ptr, x.ptr, residual.ptr, ...tail], N, N * C * 4);
  } else {
    rt.run('layernorm_fwd_f32', [y.ptr, mean.ptr, rstd.ptr, x.ptr, ...tail], N, N * C * 4);
  }
  if (grad) {
    e.record(keepSum && residual ? [y, s] : [y], () => {
      const chunks = Math.ceil(N / ROWS);
      const parts = rt.arena.allocStep(chunks * C * 4 * (bias ? 2 : 1)); // (chunks, C) for dw [, db]
      const dbParts = bias ? parts + chunks * C * 4 : 0;
      const dy = e.gradOf(y).ptr;
      const normBwd = (dx: number, dx2: number) =>
        rt.run(
          'layernorm_bwd_f32',
          [dx, dx2, parts, dbParts, dy, s.ptr, mean.ptr, rstd.ptr, weight.ptr, N, C, rms ? 1 : 0],
          chunks,
          N * C * 8,
        );
      if (keepSum && residual) {
        // the sum's gradient: what its later uses added, plus the norm's; then into both inputs of the add, as
        // add's backward would (the same bits as add, then norm)
        normBwd(e.gradOf(s).ptr, 0);
        for (const t of [x, residual])
          if (t.requiresGrad) rt.run('accumulate_f32', [e.gradOf(t).ptr, s.grad!.ptr], N * C, N * C);
      } else {
        // dx and dx2: the gradients of the add's two inputs (either may be the only one wanted)
        const [dx, dx2] = [x, residual].filter((t) => t?.requiresGrad).map((t) => e.gradOf(t!).ptr);
        normBwd(dx ?? 0, dx2 ?? 0);
      }
      if (weight.requiresGrad) rt.run('sum_rows_f32', [e.gradOf(weight).ptr, parts, chunks, C], C, chunks * C);
      if (bias?.requiresGrad) rt.run('sum_rows_f32', [e.gradOf(bias).ptr, dbParts, chunks, C], C, chunks * C);
    });
  }
  return [s, y];
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor | null, eps: number, residual?: Tensor): Tensor {
  return norm(x, weight, bias, eps, false, residual ?? null)[1];
}

export function rmsNorm(x: Tensor, weight: Tensor, eps: number, bias: Tensor | null = null, residual?: Tensor): Tensor {
  return norm(x, weight, bias, eps, true, residual ?? null)[1];
}

/**
 * [x + residual, norm(x + residual)] in one pass (pre-norm blocks: a sub-layer's residual add and the next
 * sub-layer's norm), LayerNorm or (rms) RMSNorm: the same bits, forward and gradients, as add then the norm. The
 * sum is a tensor of its own (the residual stream goes on from it); its gradient reaches x and residual.
 */
export function addNorm(
  x: Tensor,
  residual: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  eps: number,
  rms: boolean,
): [sum: Tensor, y: Tensor] {
  return norm(x, weight, bias, eps, rms, residual, true);
}
