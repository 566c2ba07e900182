import { describe, expect, it } from 'vitest';
import { ArgumentError, TokenIdError } from '../../src/errors.js';
import { Engine } from '../../src/tensor/engine.js';
import { embedding, gatherRows } from '../../src/tensor/ops/embedding.js';
import { expectBitIdentical, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

// Kernels: embedding_fwd_f32, embedding_bwd_f32.

describe('embedding', () => {
  it('gathers rows; repeated ids accumulate their gradients; identical for threads 1, 2, 3', async () => {
    const [V, C] = [13, 67];
    const table = randn(V * C, 1);
    const ids = Array.from({ length: 301 }, (_, i) => (i * 7 + (i % 5)) % V);
    ids[17] = 12;
    ids[18] = 12; // neighbours with the same id
    const g = randn(ids.length * C, 2);
    const runs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const t = e.parameter('table', table, [V, C]);
      const out = embedding(t, ids, [7, 43]);
      expect(out.shape).toEqual([7, 43, C]);
      const o = out.toArray();
      ids.forEach((id, n) =>
        expect(Array.from(o.subarray(n * C, (n + 1) * C))).toEqual(Array.from(table.subarray(id * C, (id + 1) * C))),
      );
      backwardWith(e, out, g);
      runs.push([o, t.grad!.toArray()]);
      await e.dispose();
    }
    // the table gradient: Σ over the positions of each id, in position order
    const want = new Float32Array(V * C);
    ids.forEach((id, n) => {
      for (let c = 0; c < C; c++) want[id * C + c] = Math.fround(want[id * C + c]! + g[n * C + c]!);
    });
    expectBitIdentical(runs[0]![1]!, want, 'dtable (sequential float32 sum)');
    for (const r of runs.slice(1)) r.forEach((v, i) => expectBitIdentical(v, runs[0]![i]!, `run ${i}`));
  });

  it('an id outside [0, V) is a TokenIdError naming it, before any kernel runs', async () => {
    const e = await Engine.create({ threads: 1 });
    const t = e.tensor(randn(20, 3), [5, 4]);
    expect(() => embedding(t, [1, 2, 5])).toThrow(TokenIdError);
    expect(() => embedding(t, [1, -1])).toThrow(/token id -1 at position 1/);
    expect(() => embedding(t, [0.5])).toThrow(TokenIdError);
    await e.dispose();
  });

  it('gatherRows is the same gather and backward on rows of an activation; a row outside [0, R) is an ArgumentError', async () => {
    const e = await Engine.create({ threads: 1 });
    const [R, C] = [6, 5];
    const data = randn(R * C, 4);
    const rows = [5, 0, 5, 2];
    const g = randn(rows.length * C, 5);
    const grads: Float32Array[] = [];
    for (const gather of [embedding, gatherRows]) {
      const x = e.parameter('x', data, [R, C]);
      const y = gather(x, rows, [2, 2]);
      expect(y.shape).toEqual([2, 2, C]);
      rows.forEach((r, n) =>
        expect(Array.from(y.toArray().subarray(n * C, (n + 1) * C))).toEqual(
          Array.from(data.subarray(r * C, (r + 1) * C)),
        ),
      );
      backwardWith(e, y, g);
      grads.push(x.grad!.toArray());
      x.dispose();
      e.endStep();
    }
    expectBitIdentical(grads[1]!, grads[0]!, 'dx');
    const x = e.tensor(data, [R, C]);
    expect(() => gatherRows(x, [0, 6])).toThrow(ArgumentError);
    expect(() => gatherRows(x, [0, 6])).toThrow(/row 6 at position 1 is outside \[0, 6\)/);
    await e.dispose();
  });
});
