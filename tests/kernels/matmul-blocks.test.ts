import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MATMUL_TILE_NAMES, MATMUL_TILES } from '../../src/runtime/kernels.js';
import { Engine } from '../../src/tensor/engine.js';
import { gemmPacked } from '../../src/tensor/ops/matmul.js';
import { matmulRef } from '../ref/matmul.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';

// gemmPacked with a pack budget smaller than the panels (the LM head's case at real size): C made in blocks of
// rows and columns must have the bits of the whole product, in every layout, tile and mode (= and +=).
describe('gemmPacked in blocks under a pack budget', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const shapes: [number, number, number][] = [
    [131, 267, 67], // ragged in every dimension: several row and column blocks, ragged last ones
    [67, 385, 5],
    [300, 17, 33],
  ];
  for (const tile of MATMUL_TILE_NAMES) {
    for (const [M, N, K] of shapes) {
      for (const transposeB of [false, true]) {
        it(`${tile}: ${M}×${K} · ${K}×${N}${transposeB ? ' (B stored [N, K])' : ''}`, () => {
          const { MB, NB } = MATMUL_TILES[tile];
          const a = randn(M * K, M + K, -1, 1);
          const b = randn(K * N, N + 2 * K, -1, 1);
          const c0 = randn(M * N, 7, -1, 1);
          const [ldbK, ldbN] = transposeB ? [1, K] : [N, 1];
          const ta = e.tensor(a);
          const tb = e.tensor(b);
          // a budget of one tile's rows and columns: blocks of MB rows and NB columns
          const small = 2 * Math.max(MB, NB) * K * 4;
          expect(small).toBeLessThan((M + N) * K * 4); // the budget does split this product
          for (const accumulate of [false, true]) {
            const run = (budget?: number) => {
              const tc = e.tensor(c0);
              gemmPacked(e.runtime, tc.ptr, N, ta.ptr, K, 1, tb.ptr, ldbK, ldbN, M, N, K, accumulate, tile, budget);
              const out = tc.toArray();
              tc.dispose();
              return out;
            };
            const whole = run();
            const blocks = run(small);
            expectBitIdentical(blocks, whole, `${tile} accumulate=${accumulate}`);
            const ref = matmulRef(a, b, M, K, N, false, transposeB).c;
            if (accumulate) for (let i = 0; i < ref.length; i++) ref[i]! += c0[i]!;
            expectClose(blocks, ref, 1e-4, 1e-4);
          }
          ta.dispose();
          tb.dispose();
        });
      }
    }
  }
});
