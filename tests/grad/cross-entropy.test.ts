import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { crossEntropy, logSumExp } from '../../src/tensor/ops/cross-entropy.js';
import { crossEntropyRef } from '../ref/cross-entropy.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

// Finite differences of the float64 reference against cross_entropy_fwd_f32's fused gradient as scaled by
// cross_entropy_bwd_f32, with an upstream gradient w ≠ 1.

describe('cross-entropy gradient by finite differences', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const CASES: [number, number][] = [
    [1, 1],
    [1, 3],
    [3, 4],
    [4, 5],
    [5, 7],
    [3, 17],
    [7, 3],
  ];
  for (const [N, V] of CASES) {
    for (const eps of [0, 0.1]) {
      it(`N=${N} V=${V} ε=${eps}`, () => {
        const x = randn(N * V, N * 13 + V, -3, 3);
        const labels = Int32Array.from({ length: N }, (_, i) => (i % 3 === 1 ? -100 : (i * 7 + 2) % V));
        const w = [0.7];
        const logits = e.empty([N, V], 'step').set(x);
        logits.requiresGrad = true;
        const loss = crossEntropy(logits, labels, { labelSmoothing: eps });
        backwardWith(e, loss, w);
        const [want] = finiteDifferences(([l]) => [crossEntropyRef(l!, labels, N, V, -100, eps).loss], [x], w);
        expectClose(logits.grad!.toArray(), want!, 1e-4, 1e-6, 'dlogits');
        e.endStep();
      });
    }
  }

  it('class weights (PyTorch `weight`): loss Σ w[y]·l / Σ w[y] and its gradient, against float64', () => {
    const [N, V] = [9, 5];
    const x = randn(N * V, 99, -3, 3);
    const labels = Int32Array.from({ length: N }, (_, i) => (i === 4 ? -100 : (i * 3 + 1) % V));
    const cw = [0.5, 2, 1.25, 0, 3];
    const ref = (l: Float64Array) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < N; i++) {
        const y = labels[i]!;
        if (y < 0) continue;
        const row = l.subarray(i * V, (i + 1) * V);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, b) => a + Math.exp(b - max), 0));
        num += cw[y]! * (lse - row[y]!);
        den += cw[y]!;
      }
      return [num / den];
    };
    const logits = e.empty([N, V], 'step').set(x);
    logits.requiresGrad = true;
    const loss = crossEntropy(logits, labels, { classWeights: cw });
    expectClose(loss.toArray(), Float64Array.from(ref(Float64Array.from(x))), 1e-5, 1e-6, 'loss');
    backwardWith(e, loss, [1.3]);
    const [want] = finiteDifferences(([l]) => ref(l!), [x], [1.3]);
    expectClose(logits.grad!.toArray(), want!, 1e-4, 1e-6, 'dlogits');
    e.endStep();
  });
});

describe('logSumExp (decoding: log-probabilities = logits − lse)', () => {
  it('equals log Σ e^x in float64 per row, at ragged widths and hostile values', async () => {
    const e = await Engine.create({ threads: 2 });
    for (const [N, V] of [
      [1, 1],
      [3, 7],
      [4, 67],
      [5, 50257],
    ] as const) {
      const x = randn(N * V, N + V, -30, 30);
      x[0] = 1000; // overflow in a plain Σ e^x
      if (V > 1) x[1] = -1000;
      const lse = logSumExp(e.tensor(x, [N, V]));
      const ref = Array.from({ length: N }, (_, r) => {
        const row = Array.from(x.subarray(r * V, (r + 1) * V));
        const max = Math.max(...row);
        return max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      });
      expectClose(lse, ref, 1e-6, 1e-6, `N=${N} V=${V}`);
      e.endStep();
    }
    expect(logSumExp(e.tensor(new Float32Array([NaN, 0]), [1, 2]))[0]).toBeNaN();
    await e.dispose();
  });
});
