import { describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { layerNorm, rmsNorm } from '../../src/tensor/ops/layernorm.js';
import { normRef } from '../ref/layernorm.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

// Finite differences of the float64 reference against layernorm_bwd_f32 and sum_rows_f32 (LayerNorm and RMSNorm).

describe('LayerNorm and RMSNorm gradients by finite differences', () => {
  for (const rms of [false, true]) {
    const op = rms ? 'rmsNorm' : 'layerNorm';
    it(`${op} gradients (input, weight, bias) against finite differences`, async () => {
      const e = await Engine.create({ threads: 2 });
      for (const [N, C] of [
        [1, 1],
        [3, 5],
        [37, 7],
        [70, 17],
      ] as const) {
        const x = randn(N * C, N, -2, 2);
        const w = randn(C, C, 0.5, 1.5);
        const b = randn(C, C + 3);
        const gw = randn(N * C, 99);
        const tx = e.parameter('x', x, [N, C]);
        const tw = e.parameter('w', w, [C]);
        const tb = e.parameter('b', b, [C]);
        const y = rms ? rmsNorm(tx, tw, 1e-6, tb) : layerNorm(tx, tw, tb, 1e-5);
        backwardWith(e, y, gw);
        const fd = finiteDifferences((xs) => normRef(xs[0]!, xs[1]!, xs[2]!, C, rms ? 1e-6 : 1e-5, rms), [x, w, b], gw);
        expectClose(tx.grad!.toArray(), fd[0]!, 2e-3, 2e-4, `${op} dx`);
        expectClose(tw.grad!.toArray(), fd[1]!, 1e-3, 1e-4, `${op} dw`);
        expectClose(tb.grad!.toArray(), fd[2]!, 1e-3, 1e-4, `${op} db`);
        for (const t of [tx, tw, tb]) t.dispose();
        e.endStep();
      }
      await e.dispose();
    });
  }
});
