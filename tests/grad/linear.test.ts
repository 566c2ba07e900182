import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { add } from '../../src/tensor/ops/elementwise.js';
import { linear } from '../../src/tensor/ops/linear.js';
import { linearRef } from '../ref/linear.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

describe('linear: forward against float64, gradients against finite differences', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const layout of ['out_in', 'in_out'] as const)
    for (const withBias of [true, false])
      for (const [B, T, In, Out] of [
        [1, 1, 1, 1],
        [2, 3, 5, 7],
        [3, 17, 9, 4],
      ] as const) {
        it(`${layout}${withBias ? ' + bias' : ''} x[${B},${T},${In}] → ${Out}`, () => {
          const M = B * T;
          const x = randn(M * In, 1 + In);
          const w = randn(In * Out, 2 + Out);
          const b = withBias ? randn(Out, 3) : null;
          const tx = e.parameter('x', x, [B, T, In]);
          const tw = e.parameter('w', w, layout === 'out_in' ? [Out, In] : [In, Out]);
          const tb = b ? e.parameter('b', b, [Out]) : null;
          const y = linear(tx, tw, tb, layout);
          expectClose(y.toArray(), linearRef(x, w, b, M, In, Out, layout), 1e-5, 1e-6, 'forward');
          const wy = randn(M * Out, 4);
          backwardWith(e, y, wy);
          const ref = (xs: Float64Array[]) => linearRef(xs[0]!, xs[1]!, withBias ? xs[2]! : null, M, In, Out, layout);
          const fd = finiteDifferences(ref, b ? [x, w, b] : [x, w], wy);
          expectClose(tx.grad!.toArray(), fd[0]!, 1e-4, 1e-5, 'dx');
          expectClose(tw.grad!.toArray(), fd[1]!, 1e-4, 1e-5, 'dW');
          if (tb) expectClose(tb.grad!.toArray(), fd[2]!, 1e-4, 1e-5, 'db');
          for (const t of [tx, tw, tb]) t?.dispose();
          e.endStep();
        });
      }

  // the first backward to reach x writes its gradient (=, nothing zero-filled first: Engine.gradTarget), the
  // second adds into it
  it('x feeding two linears: dx is the sum of both', () => {
    const [M, In, Out] = [7, 5, 3];
    const x = randn(M * In, 11);
    const w1 = randn(Out * In, 12);
    const w2 = randn(In * Out, 13);
    const tx = e.parameter('x', x, [M, In]);
    const y = add(
      linear(tx, e.tensor(w1, [Out, In]), null, 'out_in'),
      linear(tx, e.tensor(w2, [In, Out]), null, 'in_out'),
    );
    const wy = randn(M * Out, 14);
    backwardWith(e, y, wy);
    const ref = (xs: Float64Array[]) => {
      const a = linearRef(xs[0]!, w1, null, M, In, Out, 'out_in');
      const b = linearRef(xs[0]!, w2, null, M, In, Out, 'in_out');
      return a.map((v, i) => v + b[i]!);
    };
    expectClose(tx.grad!.toArray(), finiteDifferences(ref, [x], wy)[0]!, 1e-4, 1e-5, 'dx');
    tx.dispose();
    e.endStep();
  });
});
