import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { layerNorm, rmsNorm } from '../../src/tensor/ops/layernorm.js';
import { normRef } from '../ref/layernorm.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

// Kernels: layernorm_fwd_f32, layernorm_bwd_f32, sum_rows_f32 (LayerNorm and RMSNorm): forward against float64
// and bit-identity across threads here, gradients by finite differences in tests/grad/layernorm.

describe('LayerNorm and RMSNorm', () => {
  for (const rms of [false, true]) {
    const op = rms ? 'rmsNorm' : 'layerNorm';
    it.each([
      [1, 1],
      [3, 4],
      [5, 7],
      [17, 64],
      [67, 67],
      [100, 129],
    ])(`${op} forward against float64, N = %i, C = %i`, async (N, C) => {
      const e = await Engine.create({ threads: 2 });
      const x = randn(N * C, N + C, -3, 3);
      const w = randn(C, C, 0.5, 1.5);
      const b = randn(C, C + 1);
      for (const bias of [b, null]) {
        const y = e.noGrad(() =>
          rms
            ? rmsNorm(e.tensor(x, [N, C]), e.tensor(w), 1e-6, bias && e.tensor(bias))
            : layerNorm(e.tensor(x, [N, C]), e.tensor(w), bias && e.tensor(bias), 1e-5),
        );
        expectClose(y.toArray(), normRef(x, w, bias, C, rms ? 1e-6 : 1e-5, rms), 1e-5, 1e-5, op);
      }
      await e.dispose();
    });
  }

  it('a constant row gives no NaN (variance 0: rstd = 1/√eps)', async () => {
    const e = await Engine.create({ threads: 1 });
    const y = e.noGrad(() =>
      layerNorm(e.tensor(new Float32Array(9).fill(1000), [1, 9]), e.tensor(new Float32Array(9).fill(1)), null, 1e-5),
    );
    expect(Array.from(y.toArray())).toEqual(new Array(9).fill(0));
    await e.dispose();
  });

  it('outputs and all gradients are bit-identical for threads 1, 2, 3', async () => {
    const [N, C] = [300, 67];
    const x = randn(N * C, 1, -3, 3);
    const w = randn(C, 2, 0.5, 1.5);
    const b = randn(C, 3);
    const g = randn(N * C, 4);
    const runs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const [tx, tw, tb] = [e.parameter('x', x, [N, C]), e.parameter('w', w, [C]), e.parameter('b', b, [C])];
      const y = layerNorm(tx, tw, tb, 1e-5);
      const out = y.toArray();
      backwardWith(e, y, g);
      runs.push([out, tx.grad!.toArray(), tw.grad!.toArray(), tb.grad!.toArray()]);
      await e.dispose();
    }
    for (const r of runs.slice(1)) r.forEach((v, i) => expectBitIdentical(v, runs[0]![i]!, `output ${i}`));
  });
});
