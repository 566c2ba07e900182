import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenIdError } from '../../src/errors.js';
import { Engine } from '../../src/tensor/engine.js';
import { crossEntropy } from '../../src/tensor/ops/cross-entropy.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { crossEntropyGradRef, crossEntropyRef } from '../ref/cross-entropy.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

// Kernels: cross_entropy_fwd_f32 (loss, logsumexp, fused gradient), cross_entropy_bwd_f32 (scale, = or +=).

/** Labels in [0, V), every `ignoreEvery`-th row ignored (-100). */
function makeLabels(N: number, V: number, seed: number, ignoreEvery = 0): Int32Array {
  const u = randn(N, seed, 0, 1);
  const labels = new Int32Array(N);
  for (let i = 0; i < N; i++)
    labels[i] = ignoreEvery > 0 && i % ignoreEvery === ignoreEvery - 1 ? -100 : Math.min(V - 1, Math.floor(u[i]! * V));
  return labels;
}

/** Logits that require grad, in the step region (as a model's would be). */
function stepLogits(e: Engine, data: Float32Array, N: number, V: number): Tensor {
  const t = e.empty([N, V], 'step').set(data);
  t.requiresGrad = true;
  return t;
}

describe('cross-entropy against a float64 reference', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const CASES: [number, number][] = [
    [1, 1],
    [3, 1],
    [4, 3],
    [5, 4],
    [7, 5],
    [17, 7],
    [3, 17],
    [64, 64],
    [67, 67],
    [5, 1000],
    [3, 1027],
    [4, 50257],
  ];
  for (const [N, V] of CASES) {
    for (const eps of [0, 0.1]) {
      for (const scale of [4, 1000]) {
        it(`N=${N} V=${V} ε=${eps} logits ±${scale}: loss and gradient`, () => {
          const x = randn(N * V, N * 7 + V + scale, -scale, scale);
          const labels = makeLabels(N, V, N + V, 3);
          const logits = stepLogits(e, x, N, V);
          const loss = crossEntropy(logits, labels, { labelSmoothing: eps });
          expect(loss.shape).toEqual([]);
          const ref = crossEntropyRef(x, labels, N, V, -100, eps);
          expectClose([loss.item()], [ref.loss], 2e-6, 1e-6, 'loss');
          backwardWith(e, loss, [1]);
          // |dlogits| ≤ 1/count: an absolute tolerance on that scale
          expectClose(
            logits.grad!.toArray(),
            crossEntropyGradRef(x, labels, N, V, -100, eps),
            1e-5,
            1e-6 / Math.max(1, ref.count),
            'dlogits',
          );
          e.endStep();
        });
      }
    }
  }

  it('values that overflow exp (±1e37) and a row of one huge logit', () => {
    const N = 4;
    const V = 9;
    const x = randn(N * V, 5, -1e37, 1e37);
    for (let j = 0; j < V; j++) x[2 * V + j] = j === 4 ? 1e30 : -1e30;
    const labels = Int32Array.from([0, 8, 4, 3]);
    const logits = stepLogits(e, x, N, V);
    const loss = crossEntropy(logits, labels);
    const ref = crossEntropyRef(x, labels, N, V);
    expect(Number.isFinite(loss.item())).toBe(true);
    expectClose([loss.item()], [ref.loss], 1e-6, 0, 'loss');
    backwardWith(e, loss, [1]);
    expectClose(logits.grad!.toArray(), crossEntropyGradRef(x, labels, N, V), 1e-5, 1e-7, 'dlogits');
    e.endStep();
  });

  it('every row ignored: loss 0 and a zero gradient (PyTorch gives NaN)', () => {
    const N = 5;
    const V = 17;
    const logits = stepLogits(e, randn(N * V, 9), N, V);
    const loss = crossEntropy(logits, new Int32Array(N).fill(-100));
    expect(loss.item()).toBe(0);
    backwardWith(e, loss, [1]);
    expect(logits.grad!.toArray().every((v) => v === 0)).toBe(true);
    e.endStep();
  });

  it('a custom ignore index inside [0, V) skips those rows', () => {
    const N = 7;
    const V = 5;
    const x = randn(N * V, 10);
    const labels = Int32Array.from([0, 1, 2, 0, 4, 0, 3]);
    const loss = crossEntropy(stepLogits(e, x, N, V), labels, { ignoreIndex: 0 });
    expectClose([loss.item()], [crossEntropyRef(x, labels, N, V, 0).loss], 2e-6, 0, 'loss');
    e.endStep();
  });

  for (const [V, at, bad] of [
    [2000, 5, NaN],
    [7, 6, NaN],
    [7, 2, NaN],
    [67, 64, Infinity],
    [5, 0, Infinity],
  ] as const) {
    it(`${bad} at column ${at} of V=${V} makes the loss NaN (as PyTorch)`, () => {
      const x = randn(3 * V, 11);
      x[V + at] = bad;
      const loss = crossEntropy(stepLogits(e, x, 3, V), Int32Array.from([1, 2, 3]));
      expect(loss.item()).toBeNaN();
      e.endStep();
    });
  }

  it('adds into an existing gradient (+=) when logits.grad exists or the logits are persistent', () => {
    const N = 6;
    const V = 67;
    const x = randn(N * V, 12);
    const labels = makeLabels(N, V, 13, 4);
    const ref = crossEntropyGradRef(x, labels, N, V, -100, 0.1);
    const before = randn(N * V, 14);
    for (const region of ['step', 'persistent'] as const) {
      const logits = region === 'step' ? stepLogits(e, x, N, V) : e.parameter('logits', x, [N, V]);
      if (region === 'step') e.gradOf(logits).set(before);
      const loss = crossEntropy(logits, labels, { labelSmoothing: 0.1 });
      backwardWith(e, loss, [2.5]);
      const want = ref.map((d, i) => (region === 'step' ? before[i]! : 0) + 2.5 * d);
      expectClose(logits.grad!.toArray(), want, 1e-5, 1e-6, `dlogits (${region})`);
      e.endStep();
      if (region === 'persistent') logits.dispose();
    }
  });

  it('under noGrad writes no gradient and records nothing', () => {
    const x = randn(3 * 8, 15);
    const logits = stepLogits(e, x, 3, 8);
    const loss = e.noGrad(() => crossEntropy(logits, Int32Array.from([1, -100, 7])));
    expect(e.tape.length).toBe(0);
    expectClose([loss.item()], [crossEntropyRef(x, [1, -100, 7], 3, 8).loss], 2e-6, 0, 'loss');
    e.endStep();
  });

  it('a label outside [0, V) that is not the ignore index is a TokenIdError, before any kernel', () => {
    const logits = stepLogits(e, randn(3 * 4, 16), 3, 4);
    for (const bad of [
      [0, 4, 1],
      [0, -1, 1],
      [-100, 2, 7],
    ]) {
      expect(() => crossEntropy(logits, Int32Array.from(bad))).toThrow(TokenIdError);
    }
    expect(() => crossEntropy(logits, Int32Array.from([0, 1, 2]), { ignoreIndex: 1 })).not.toThrow();
    expect(() => crossEntropy(logits, Int32Array.from([0, -100, 2]), { ignoreIndex: 1 })).toThrow(
      /label -100 at row 1/,
    );
    expect(e.tape.length).toBe(1); // only the valid call recorded
    e.endStep();
  });
});

describe('cross-entropy is bit-identical for 1, 2 and 3 threads', () => {
  it('loss and gradient, N=67 V=1027 and N=5 V=50257, ε = 0.1', async () => {
    for (const [N, V] of [
      [67, 1027],
      [5, 50257],
    ] as const) {
      const x = randn(N * V, N + V, -20, 20);
      const labels = makeLabels(N, V, 17, 5);
      const results: Float32Array[][] = [];
      for (const threads of [1, 2, 3]) {
        const e = await Engine.create({ threads });
        const logits = stepLogits(e, x, N, V);
        const loss = crossEntropy(logits, labels, { labelSmoothing: 0.1 });
        backwardWith(e, loss, [1]);
        results.push([loss.toArray(), logits.grad!.toArray()]);
        await e.dispose();
      }
      for (const r of results.slice(1)) {
        expectBitIdentical(r[0]!, results[0]![0]!, `loss N=${N} V=${V}`);
        expectBitIdentical(r[1]!, results[0]![1]!, `dlogits N=${N} V=${V}`);
      }
    }
  });
});

describe('cross-entropy in the relaxed-SIMD build (fused multiply-add in exp)', () => {
  it('loss and gradient against the reference, bit-identical for 1 and 2 threads', async () => {
    const [N, V] = [7, 1027];
    const x = randn(N * V, 23, -30, 30);
    const labels = makeLabels(N, V, 24, 3);
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2]) {
      const e = await Engine.create({ threads, simd: 'relaxed' });
      expect(e.runtime.build).toBe('relaxed');
      const logits = stepLogits(e, x, N, V);
      const loss = crossEntropy(logits, labels, { labelSmoothing: 0.1 });
      backwardWith(e, loss, [1]);
      outs.push([loss.toArray(), logits.grad!.toArray()]);
      await e.dispose();
    }
    const ref = crossEntropyRef(x, labels, N, V, -100, 0.1);
    expectClose(outs[0]![0]!, [ref.loss], 2e-6, 0, 'loss');
    expectClose(outs[0]![1]!, crossEntropyGradRef(x, labels, N, V, -100, 0.1), 1e-5, 1e-7, 'dlogits');
    expectBitIdentical(outs[1]![0]!, outs[0]![0]!, 'loss, 2 threads');
    expectBitIdentical(outs[1]![1]!, outs[0]![1]!, 'dlogits, 2 threads');
  });
});
