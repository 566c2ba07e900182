import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { Engine } from '../../src/tensor/engine.js';
import { linear } from '../../src/tensor/ops/linear.js';
import { loraAddInto, loraMergeInto } from '../../src/tensor/ops/lora.js';
import { loraLinearRef } from '../ref/lora.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

describe('lora: forward against float64, gradients against finite differences, merge', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  // [M, In, Out, r, offset, width]: whole outputs, a middle part (v of q|k|v), ragged sizes past the tiles
  const cases = [
    [1, 1, 1, 1, 0, 1],
    [3, 5, 7, 2, 0, 7],
    [17, 9, 12, 3, 4, 5],
    [6, 67, 21, 8, 14, 7],
  ] as const;
  for (const layout of ['out_in', 'in_out'] as const)
    for (const [M, In, Out, r, offset, width] of cases) {
      const dims = { M, In, Out, r, offset, width };
      const s = 16 / r;
      it(`${layout} x[${M},${In}] → ${Out}, r ${r}, columns ${offset}+${width}`, () => {
        const x = randn(M * In, 1 + In);
        const w = randn(In * Out, 2 + Out);
        const b = randn(Out, 3);
        const A = randn(r * In, 4 + r);
        const B = randn(width * r, 5 + width);
        const tx = e.parameter('x', x, [M, In]);
        const tw = e.tensor(w, layout === 'out_in' ? [Out, In] : [In, Out]); // frozen base
        const tb = e.tensor(b, [Out]);
        const tA = e.parameter('A', A, [r, In]);
        const tB = e.parameter('B', B, [width, r]);
        const y = linear(tx, tw, tb, layout);
        loraAddInto(y, tx, tA, tB, s, { offset, width });
        expectClose(y.toArray(), loraLinearRef(x, w, b, A, B, s, dims, layout), 1e-5, 1e-5, 'forward');
        const wy = randn(M * Out, 6);
        backwardWith(e, y, wy);
        const ref = (xs: Float64Array[]) => loraLinearRef(xs[0]!, w, b, xs[1]!, xs[2]!, s, dims, layout);
        const fd = finiteDifferences(ref, [x, A, B], wy);
        expectClose(tx.grad!.toArray(), fd[0]!, 1e-4, 1e-4, 'dx');
        expectClose(tA.grad!.toArray(), fd[1]!, 1e-4, 1e-4, 'dA');
        expectClose(tB.grad!.toArray(), fd[2]!, 1e-4, 1e-4, 'dB');
        expect(tw.grad, 'a frozen base weight gets no gradient buffer').toBeNull();
        expect(tb.grad).toBeNull();
        e.endStep();

        // merged: the plain layer with W + s·B·A gives the same output
        loraMergeInto(tw, layout, tA, tB, s, { offset, width });
        const merged = e.noGrad(() => linear(tx, tw, tb, layout).toArray());
        expectClose(merged, loraLinearRef(x, w, b, A, B, s, dims, layout), 1e-5, 1e-5, 'merged');
        e.endStep();
        for (const t of [tx, tw, tb, tA, tB]) t.dispose();
      });
    }

  it('refuses A, B or columns that do not fit', () => {
    const x = e.tensor(randn(6, 1), [2, 3]);
    const w = e.tensor(randn(12, 2), [4, 3]);
    const y = e.noGrad(() => linear(x, w, null, 'out_in'));
    const A = e.tensor(randn(6, 3), [2, 3]);
    expect(() => loraAddInto(y, x, A, e.tensor(randn(8, 4), [4, 2]), 1, { offset: 1, width: 4 })).toThrow(ShapeError);
    expect(() => loraAddInto(y, x, A, e.tensor(randn(6, 4), [2, 3]), 1, { offset: 0, width: 2 })).toThrow(ShapeError);
    expect(() =>
      loraAddInto(y, x, e.tensor(randn(8, 5), [2, 4]), e.tensor(randn(8, 4), [4, 2]), 1, { offset: 0, width: 4 }),
    ).toThrow(ShapeError);
    e.endStep();
  });
});
