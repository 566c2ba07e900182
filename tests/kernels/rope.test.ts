import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { rope, ropeTable } from '../../src/tensor/ops/rope.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { ropeRef } from '../ref/rope.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

// Kernels: rope_fwd_f32 against the float64 reference, with rope_bwd_f32 in the thread-count check (its values
// against finite differences in tests/grad/rope).

function positions(n: number, seed: number, max: number): Int32Array {
  return Int32Array.from(randn(n, seed, 0, 1), (u) => Math.floor(u * max));
}

describe('rotary position embeddings against float64', () => {
  let e: Engine;
  let tables: Map<string, Tensor>;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
    tables = new Map();
  });
  afterAll(async () => {
    for (const t of tables.values()) t.dispose();
    await e.dispose();
  });
  const table = (D: number, theta: number, P: number) => {
    const key = `${D} ${theta} ${P}`;
    if (!tables.has(key)) tables.set(key, ropeTable(e, D, theta, P));
    return tables.get(key)!;
  };

  // D/2 below, at and above the SIMD width; rows of one head, of q|k (rotated) and v (passed through)
  for (const D of [2, 6, 8, 10, 34, 64]) {
    it.each([1, 3, 4, 5, 7, 17, 64, 67])(`D = ${D}, rows = %i`, (N) => {
      for (const [heads, rotatedHeads] of [
        [1, 1],
        [3, 2],
        [5, 3],
      ]) {
        const W = heads! * D;
        const R = rotatedHeads! * D;
        const x = randn(N * W, N * D + heads!, -2, 2);
        const pos = positions(N, N + D, 200);
        const y = e.noGrad(() => rope(e.tensor(x, [N, W]), pos, table(D, 10_000, 200), { headDim: D, rotated: R }));
        // float32 angles p·f (rounded as transformers rounds them) differ from float64 ones by ≲ p·2⁻²⁴
        expectClose(y.toArray(), ropeRef(x, pos, W, R, D, 10_000), 2e-5, 2e-5, `D ${D} W ${W} R ${R}`);
        e.endStep();
      }
    });
  }

  it('large positions and theta 100,000 (SmolLM2): within the float32 angle error of transformers', () => {
    const [N, D] = [67, 64];
    const x = randn(N * D, 1, -2, 2);
    const pos = positions(N, 2, 8192);
    const y = e.noGrad(() => rope(e.tensor(x, [N, D]), pos, table(D, 100_000, 8192), { headDim: D }));
    // |Δangle| ≤ p·2⁻²⁴·(1 + …) ≈ 5e-4 at p = 8191: |Δy| ≤ |x|·5e-4
    expectClose(y.toArray(), ropeRef(x, pos, D, D, D, 100_000), 0, 2e-3, 'large positions');
    e.endStep();
  });

  it('position 0 is the identity; hostile values stay within their pair (NaN, ±1000)', () => {
    const D = 8;
    const x = randn(3 * D, 3, -2, 2);
    x[D] = 1000;
    x[D + 4] = -1000;
    x[2 * D + 1] = NaN;
    const pos = Int32Array.of(0, 5, 7);
    const y = e.noGrad(() => rope(e.tensor(x, [3, D]), pos, table(D, 10_000, 200), { headDim: D }));
    const v = y.toArray();
    expectBitIdentical(v.subarray(0, D), x.subarray(0, D), 'position 0');
    const ref = ropeRef(x, pos, D, D, D, 10_000);
    expectClose(v.subarray(D, 2 * D), ref.subarray(D, 2 * D), 2e-5, 1e-3, 'row at position 5 with ±1000');
    // element 1 pairs with element 1 + D/2: the NaN reaches those two and no other
    expect(Array.from(v.subarray(2 * D), Number.isNaN)).toEqual([0, 1, 0, 0, 0, 1, 0, 0].map(Boolean));
    e.endStep();
  });

  it('bad shapes and positions are ShapeErrors', () => {
    const x = e.tensor(new Float32Array(12), [2, 6]);
    const t = table(6, 10_000, 200);
    expect(() => rope(x, Int32Array.of(0, 1), t, { headDim: 5 })).toThrow(/headDim must be an even integer/);
    expect(() => rope(x, Int32Array.of(0, 1), t, { headDim: 6, rotated: 4 })).toThrow(/multiple of headDim/);
    expect(() => rope(x, Int32Array.of(0), t, { headDim: 6 })).toThrow(/1 positions for 2 rows/);
    expect(() => rope(x, Int32Array.of(0, 200), t, { headDim: 6 })).toThrow(/position 200 of row 1 is outside/);
    expect(() => rope(x, Int32Array.of(0, 1), table(2, 10_000, 200), { headDim: 6 })).toThrow(/table must be/);
    x.dispose();
    e.endStep();
  });
});

describe('rotary position embeddings are bit-identical for threads 1, 2, 3', () => {
  it('forward and backward over 3,001 rows of q|k|v (9 + 3 rotated heads of 64, 3 passed through)', async () => {
    const [N, D] = [3001, 64];
    const W = 15 * D;
    const x = randn(N * W, 4, -2, 2);
    const g = randn(N * W, 5);
    const pos = positions(N, 6, 4096);
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const t = ropeTable(e, D, 100_000, 4096);
      const tx = e.parameter('x', x, [N, W]);
      const y = rope(tx, pos, t, { headDim: D, rotated: 12 * D });
      const out = y.toArray();
      backwardWith(e, y, g);
      outs.push([out, tx.grad!.toArray()]);
      await e.dispose();
    }
    for (const o of outs.slice(1)) o.forEach((v, i) => expectBitIdentical(v, outs[0]![i]!, i ? 'dx' : 'y'));
  });
});
