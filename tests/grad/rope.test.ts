import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { rope, ropeTable } from '../../src/tensor/ops/rope.js';
import { ropeRef } from '../ref/rope.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

// Kernel: rope_bwd_f32 (dx += Rᵀ·dy, pass-through columns dx += dy), against finite differences of the reference.

describe('rotary position embedding gradients', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const [N, heads, rotatedHeads, D] of [
    [1, 1, 1, 2],
    [3, 2, 2, 6],
    [5, 3, 2, 10],
    [7, 5, 4, 8],
  ]) {
    it(`rows ${N}, ${rotatedHeads} of ${heads} heads rotated, D = ${D}`, () => {
      const W = heads! * D!;
      const R = rotatedHeads! * D!;
      const x = randn(N! * W, N! + D!, -2, 2);
      const w = randn(N! * W, N! + D! + 1);
      const pos = Int32Array.from({ length: N! }, (_, i) => (i * 37) % 50);
      const table = ropeTable(e, D!, 10_000, 50);
      const tx = e.parameter('x', x, [N!, W]);
      // dx accumulates: start from a nonzero gradient to check the += of both column ranges
      e.gradOf(tx).set(randn(N! * W, 99));
      const before = tx.grad!.toArray();
      backwardWith(e, rope(tx, pos, table, { headDim: D!, rotated: R }), w);
      const [fd] = finiteDifferences((xs) => ropeRef(xs[0]!, pos, W, R, D!, 10_000), [x], w);
      const got = tx.grad!.toArray().map((g, i) => g - before[i]!);
      expectClose(got, fd!, 1e-4, 1e-5, 'drope');
      for (const t of [tx, table]) t.dispose();
      e.endStep();
    });
  }
});
