import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { add, mul } from '../../src/tensor/ops/elementwise.js';
import { addNorm, layerNorm, rmsNorm } from '../../src/tensor/ops/layernorm.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { normRef } from '../ref/layernorm.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
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

// add_layernorm_fwd_f32 and layernorm_bwd_f32's second input gradient: the norm of x + r in one pass.
describe('the residual add fused into the norm (post-norm blocks)', () => {
  for (const rms of [false, true]) {
    const op = rms ? 'rmsNorm' : 'layerNorm';
    it(`${op}(x, …, residual r): the bits of ${op}(add(x, r)), forward and every gradient, threads 1, 2, 3`, async () => {
      for (const threads of [1, 2, 3]) {
        const e = await Engine.create({ threads });
        for (const [N, C] of [
          [1, 1],
          [3, 5],
          [37, 7],
          [70, 17],
          [65, 768],
        ] as const) {
          const what = `${op} N=${N} C=${C}, ${threads} threads`;
          const x = randn(N * C, N, -2, 2);
          const r = randn(N * C, N + 1, -2, 2);
          const w = randn(C, C, 0.5, 1.5);
          const b = randn(C, C + 3);
          const gy = randn(N * C, 99);
          const run = (fused: boolean) => {
            const [tx, tr] = [e.parameter('x', x, [N, C]), e.parameter('r', r, [N, C])];
            const [tw, tb] = [e.parameter('w', w, [C]), e.parameter('b', b, [C])];
            const y = fused
              ? rms
                ? rmsNorm(tx, tw, 1e-6, tb, tr)
                : layerNorm(tx, tw, tb, 1e-5, tr)
              : rms
                ? rmsNorm(add(tx, tr), tw, 1e-6, tb)
                : layerNorm(add(tx, tr), tw, tb, 1e-5);
            const out = [y.toArray()];
            backwardWith(e, y, gy);
            out.push(...[tx, tr, tw, tb].map((t) => t.grad!.toArray()));
            for (const t of [tx, tr, tw, tb]) t.dispose();
            e.endStep();
            return out;
          };
          const fused = run(true);
          const plain = run(false);
          ['y', 'dx', 'dr', 'dw', 'db'].forEach((n, i) => expectBitIdentical(fused[i]!, plain[i]!, `${what}: ${n}`));
          // without a tape: the sum is made in the output's memory, the same bits
          const noGrad = e.noGrad(() => {
            const [tx, tr, tw, tb] = [e.tensor(x, [N, C]), e.tensor(r, [N, C]), e.tensor(w, [C]), e.tensor(b, [C])];
            const y = (rms ? rmsNorm(tx, tw, 1e-6, tb, tr) : layerNorm(tx, tw, tb, 1e-5, tr)).toArray();
            for (const t of [tx, tr, tw, tb]) t.dispose();
            return y;
          });
          e.endStep();
          expectBitIdentical(noGrad, plain[0]!, `${what}: no tape`);
        }
        await e.dispose();
      }
    });
  }

  it('a residual of another shape is a ShapeError', async () => {
    const e = await Engine.create({ threads: 1 });
    const [x, r, w] = [e.tensor(randn(12, 1), [3, 4]), e.tensor(randn(12, 2), [4, 3]), e.tensor(randn(4, 3), [4])];
    expect(() => layerNorm(x, w, null, 1e-5, r)).toThrow(/residual \[4, 3\] differs from input \[3, 4\]/);
    await e.dispose();
  });
});

describe('a residual add fused into the next norm, the sum kept (pre-norm blocks: addNorm)', () => {
  for (const rms of [false, true])
    it(`${rms ? 'RMSNorm' : 'LayerNorm'}: [x + r, norm(x + r)] and every gradient, the bits of add then the norm, with the sum used again`, async () => {
      const e = await Engine.create({ threads: 2 });
      const [N, C] = [37, 19];
      const [x, r, w, b] = [randn(N * C, 1), randn(N * C, 2), randn(C, 3, 0.5, 1.5), randn(C, 4)];
      const [gy, gs] = [randn(N * C, 5), randn(N * C, 6)];
      const run = (fused: boolean) => {
        const [tx, tr] = [e.parameter('x', x, [N, C]), e.parameter('r', r, [N, C])];
        const [tw, tb] = [e.parameter('w', w, [C]), rms ? null : e.parameter('b', b, [C])];
        let s: Tensor, y: Tensor;
        if (fused) [s, y] = addNorm(tx, tr, tw, tb, 1e-5, rms);
        else {
          s = add(tx, tr);
          y = rms ? rmsNorm(s, tw, 1e-5, tb) : layerNorm(s, tw, tb, 1e-5);
        }
        // the sum goes on as the residual stream: the loss reads both it and the norm
        const loss = add(mul(y, e.tensor(gy, [N, C])), mul(s, e.tensor(gs, [N, C])));
        backwardWith(e, loss, new Float32Array(N * C).fill(1));
        const out = [s.toArray(), y.toArray(), ...[tx, tr, tw, tb].flatMap((t) => (t ? [t.grad!.toArray()] : []))];
        for (const t of [tx, tr, tw, tb]) t?.dispose();
        e.endStep();
        return out;
      };
      const fused = run(true);
      const plain = run(false);
      expect(fused.length).toBe(plain.length);
      ['s', 'y', 'dx', 'dr', 'dw', 'db']
        .slice(0, plain.length)
        .forEach((n, i) => expectBitIdentical(fused[i]!, plain[i]!, n));
      await e.dispose();
    });
});
