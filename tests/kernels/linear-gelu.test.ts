import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { gelu } from '../../src/tensor/ops/elementwise.js';
import { linear, linearGelu } from '../../src/tensor/ops/linear.js';
import { geluErf, geluTanh } from '../ref/elementwise.js';
import { linearRef } from '../ref/linear.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';

// Kernels: bias_gelu_fwd_f32 bias_gelu_fwd_f32__tanh (through linearGelu; the derivative they write with a
// gradient wanted, which its backward multiplies by, in tests/grad/linear-gelu.test.ts).

const APPROX = [
  ['tanh', geluTanh],
  ['none', geluErf],
] as const;

/** A bias with hostile columns: ±1000 (GELU's far tails) and ±9 (exp's steep part) among normal values. */
function hostileBias(n: number, seed: number): Float32Array {
  const b = randn(n, seed);
  for (let i = 0; i < n; i += 5) b[i] = [1000, -1000, 9, -9][(i / 5) % 4]!;
  return b;
}

describe('linearGelu: gelu(x·W + b) against float64', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const [approx, ref] of APPROX)
    for (const layout of ['out_in', 'in_out'] as const)
      for (const [M, In, Out] of [
        [1, 1, 1],
        [3, 5, 7],
        [17, 4, 67],
        [5, 67, 17],
        [64, 3, 5],
      ] as const) {
        it(`${approx}, ${layout}: x[${M}, ${In}] → ${Out}`, () => {
          const x = randn(M * In, 10 + In);
          const w = randn(In * Out, 20 + Out);
          const b = hostileBias(Out, 30 + M);
          const y = e.noGrad(() =>
            linearGelu(
              e.tensor(x, [M, In]),
              e.tensor(w, layout === 'out_in' ? [Out, In] : [In, Out]),
              e.tensor(b),
              layout,
              approx,
            ),
          );
          const want = linearRef(x, w, b, M, In, Out, layout).map(ref);
          expectClose(y.toArray(), want, 1e-5, 1e-5, 'y');
          e.endStep();
        });
      }

  it('is the unfused linear → gelu bit for bit where In ≤ 256 (one k block), within rounding past it', () => {
    for (const [approx] of APPROX)
      for (const layout of ['out_in', 'in_out'] as const)
        for (const [M, In, Out] of [
          [37, 128, 67],
          [9, 256, 33],
          [37, 515, 67],
        ] as const) {
          const x = e.tensor(randn(M * In, 1), [M, In]);
          const w = e.tensor(
            randn(In * Out, 2).map((v) => v * 0.05),
            layout === 'out_in' ? [Out, In] : [In, Out],
          );
          const b = e.tensor(randn(Out, 3));
          const [fused, unfused] = e.noGrad(() => [
            linearGelu(x, w, b, layout, approx).toArray(),
            gelu(linear(x, w, b, layout), approx).toArray(),
          ]);
          if (In <= 256) expectBitIdentical(fused, unfused, `${approx} ${layout} ${M}×${In}×${Out}`);
          else expectClose(fused, unfused, 1e-5, 1e-6, `${approx} ${layout} ${M}×${In}×${Out}`);
          e.endStep();
        }
  });

  it('y is the same bits with a gradient wanted (the derivative written over u) as without', () => {
    for (const [approx] of APPROX) {
      const [M, In, Out] = [13, 9, 67];
      const x = e.parameter('x', randn(M * In, 4), [M, In]);
      const w = e.tensor(randn(In * Out, 5), [Out, In]);
      const b = e.tensor(hostileBias(Out, 6));
      const withGrad = linearGelu(x, w, b, 'out_in', approx).toArray();
      const without = e.noGrad(() => linearGelu(x, w, b, 'out_in', approx).toArray());
      expectBitIdentical(withGrad, without, approx);
      x.dispose();
      e.endStep();
    }
  });

  it('bad shapes are ShapeErrors', () => {
    const x = e.tensor(randn(6, 1), [2, 3]);
    expect(() => linearGelu(x, e.tensor(randn(8, 2), [4, 2]), e.tensor(randn(4, 3)), 'out_in', 'tanh')).toThrow(
      /last dimension 3, the weight expects 2/,
    );
    expect(() => linearGelu(x, e.tensor(randn(12, 2), [4, 3]), e.tensor(randn(5, 3)), 'out_in', 'tanh')).toThrow(
      /bias \[5\] should be \[4\]/,
    );
    e.endStep();
  });
});

describe('linearGelu is bit-identical for threads 1, 2, 3', () => {
  it('forward and every gradient, x[301, 67] → 515', async () => {
    const [M, In, Out] = [301, 67, 515];
    const x = randn(M * In, 7);
    const w = randn(In * Out, 8).map((v) => v * 0.1);
    const b = hostileBias(Out, 9);
    const dy = randn(M * Out, 10);
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      for (const approx of ['tanh', 'none'] as const) {
        const tx = e.parameter('x', x, [M, In]);
        const tw = e.parameter('w', w, [In, Out]);
        const tb = e.parameter('b', b, [Out]);
        const y = linearGelu(tx, tw, tb, 'in_out', approx);
        e.gradOf(y).view().set(dy);
        e.tape.replay();
        outs[threads] ??= [];
        outs[threads]!.push(y.toArray(), tx.grad!.toArray(), tw.grad!.toArray(), tb.grad!.toArray());
        e.endStep();
        for (const t of [tx, tw, tb]) t.dispose();
      }
      await e.dispose();
    }
    for (const t of [2, 3])
      outs[t]!.forEach((v, i) => expectBitIdentical(v, outs[1]![i]!, `threads ${t}, output ${i}`));
  });
});
