import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { dropout, dropoutKeys } from '../../src/tensor/ops/dropout.js';
import { dropoutMaskRef, dropoutRef } from '../ref/dropout.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

// Finite differences of the float64 reference (mask fixed by the seed) against dropout_bwd_f32.

describe('dropout gradient by finite differences', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const n of [1, 3, 4, 5, 7, 17, 64, 67]) {
    it(`n=${n}`, () => {
      const p = 0.4;
      const x = randn(n, n + 40);
      const w = randn(n, n + 41);
      const xt = e.empty([n], 'step').set(x);
      xt.requiresGrad = true;
      backwardWith(e, dropout(xt, p, 77), w);
      const { key0, key1, threshold } = dropoutKeys(p, 77);
      const mask = dropoutMaskRef(n, key0, key1, threshold);
      const [want] = finiteDifferences(([v]) => dropoutRef(v!, mask, p), [x], w);
      expectClose(xt.grad!.toArray(), want!, 1e-5, 1e-7, 'dx');
      e.endStep();
    });
  }
});
