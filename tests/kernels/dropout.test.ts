import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { Engine } from '../../src/tensor/engine.js';
import { dropout, dropoutKeys } from '../../src/tensor/ops/dropout.js';
import { dropoutMaskRef, dropoutRef } from '../ref/dropout.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

// Kernels: dropout_fwd_f32 (y = x·mask/(1−p)), dropout_bwd_f32 (dx += dy·mask/(1−p), mask recomputed).

function input(e: Engine, data: Float32Array): ReturnType<Engine['tensor']> {
  const t = e.empty([data.length], 'step').set(data);
  t.requiresGrad = true;
  return t;
}

describe('dropout', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const n of [1, 3, 4, 5, 7, 17, 64, 67, 1023, 1025, 100_003]) {
    it(`n=${n}: the mask is the reference hash of (seed, index); backward uses the same mask`, () => {
      const p = 0.3;
      const seed = 1234 + n;
      const x = randn(n, n, -2, 2);
      const xt = input(e, x);
      const y = dropout(xt, p, seed);
      const { key0, key1, threshold } = dropoutKeys(p, seed);
      const mask = dropoutMaskRef(n, key0, key1, threshold);
      expectClose(y.toArray(), dropoutRef(x, mask, p), 1e-7, 0, 'y');
      const before = randn(n, n + 1);
      e.gradOf(xt).set(before);
      const dy = randn(n, n + 2);
      backwardWith(e, y, dy);
      const want = Float64Array.from(before, (b, k) => b + (mask[k] ? dy[k]! / (1 - p) : 0));
      expectClose(xt.grad!.toArray(), want, 1e-6, 1e-7, 'dx (+=)');
      e.endStep();
    });
  }

  for (const p of [0.1, 0.5, 0.9]) {
    it(`p=${p}: kept fraction, neighbour pairs and two seeds agree with independence (within 5σ)`, () => {
      const n = 1 << 20;
      const ones = new Float32Array(n).fill(1);
      const a = dropout(input(e, ones), p, 7).toArray();
      const b = dropout(input(e, ones), p, 8).toArray();
      let kept = 0;
      let pairs = 0;
      let both = 0;
      for (let k = 0; k < n; k++) {
        const ka = a[k]! !== 0;
        kept += ka ? 1 : 0;
        if (k + 1 < n && ka && a[k + 1]! !== 0) pairs++;
        if (ka && b[k]! !== 0) both++;
      }
      const q = 1 - p;
      const within = (count: number, prob: number, what: string) => {
        const sigma = Math.sqrt(n * prob * (1 - prob));
        expect(
          Math.abs(count - n * prob),
          `${what}: ${count} of ${n}, expected ${n * prob} ± ${sigma.toFixed(0)}`,
        ).toBeLessThan(5 * sigma);
      };
      within(kept, q, 'kept');
      within(pairs, q * q, 'kept neighbour pairs');
      within(both, q * q, 'kept by both seeds');
      // kept elements are exactly 1/(1−p)
      expect(a.every((v) => v === 0 || v === Math.fround(1 / q))).toBe(true);
      e.endStep();
    });
  }

  it('p = 0 and inference (noGrad) are the identity without a kernel; p = 1 gives zeros', () => {
    const x = input(e, randn(10, 3));
    expect(dropout(x, 0, 1)).toBe(x);
    expect(e.noGrad(() => dropout(x, 0.5, 1))).toBe(x);
    expect(e.tape.length).toBe(0);
    expect(
      dropout(x, 1, 1)
        .toArray()
        .every((v) => v === 0),
    ).toBe(true);
    e.endStep();
  });

  it('rejects p outside [0, 1] and seeds that are not non-negative safe integers', () => {
    const x = input(e, randn(10, 3));
    for (const p of [-0.1, 1.5, NaN]) expect(() => dropout(x, p, 1)).toThrow(ArgumentError);
    for (const seed of [-1, 0.5, 2 ** 53]) expect(() => dropout(x, 0.5, seed)).toThrow(ArgumentError);
    e.endStep();
  });

  it('seeds past 2³² give masks different from their low 32 bits', () => {
    const x = input(e, new Float32Array(4096).fill(1));
    const lo = dropout(x, 0.5, 5).toArray();
    const hi = dropout(x, 0.5, 5 + 2 ** 32).toArray();
    expect(lo.some((v, k) => v !== hi[k])).toBe(true);
    e.endStep();
  });
});

describe('dropout is bit-identical for 1, 2 and 3 threads', () => {
  it('forward and backward, n = 300007', async () => {
    const n = 300_007;
    const x = randn(n, 21);
    const dy = randn(n, 22);
    const results: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const xt = input(e, x);
      const y = dropout(xt, 0.25, 99);
      backwardWith(e, y, dy);
      results.push([y.toArray(), xt.grad!.toArray()]);
      await e.dispose();
    }
    for (const r of results.slice(1)) {
      expectBitIdentical(r[0]!, results[0]![0]!, 'y');
      expectBitIdentical(r[1]!, results[0]![1]!, 'dx');
    }
  });
});
