import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { crossEntropy } from '../../src/tensor/ops/cross-entropy.js';
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
