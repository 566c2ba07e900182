import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { linearGelu } from '../../src/tensor/ops/linear.js';
import { geluErf, geluTanh } from '../ref/elementwise.js';
import { linearRef } from '../ref/linear.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

describe('linearGelu: gradients against finite differences', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const [approx, act] of [
    ['tanh', geluTanh],
    ['none', geluErf],
  ] as const)
    for (const layout of ['out_in', 'in_out'] as const)
      for (const [B, T, In, Out] of [
        [1, 1, 1, 1],
        [2, 3, 5, 7],
        [3, 17, 9, 4],
      ] as const) {
        it(`${approx}, ${layout}: x[${B},${T},${In}] → ${Out}`, () => {
          const M = B * T;
          const x = randn(M * In, 1 + In);
          const w = randn(In * Out, 2 + Out);
          const b = randn(Out, 3);
          const tx = e.parameter('x', x, [B, T, In]);
          const tw = e.parameter('w', w, layout === 'out_in' ? [Out, In] : [In, Out]);
          const tb = e.parameter('b', b, [Out]);
          const y = linearGelu(tx, tw, tb, layout, approx);
          const wy = randn(M * Out, 4);
          backwardWith(e, y, wy);
          const ref = (xs: Float64Array[]) => linearRef(xs[0]!, xs[1]!, xs[2]!, M, In, Out, layout).map(act);
          const fd = finiteDifferences(ref, [x, w, b], wy);
          expectClose(tx.grad!.toArray(), fd[0]!, 1e-4, 1e-5, 'dx');
          expectClose(tw.grad!.toArray(), fd[1]!, 1e-4, 1e-5, 'dW');
          expectClose(tb.grad!.toArray(), fd[2]!, 1e-4, 1e-5, 'db');
          for (const t of [tx, tw, tb]) t.dispose();
          e.endStep();
        });
      }
});
