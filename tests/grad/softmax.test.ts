import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { softmax, type SoftmaxOptions } from '../../src/tensor/ops/softmax.js';
import { refSoftmax } from '../ref/softmax.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

let e: Engine;
beforeAll(async () => {
  e = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
});
afterAll(async () => {
  await e.dispose();
});

describe('softmax gradient by finite differences', () => {
  const cases: [number[], SoftmaxOptions][] = [
    [[3, 5], {}],
    [[2, 7], { scale: 0.7 }],
    [[2, 3, 5], { causal: true, scale: 1.3 }],
    [[1, 5, 3], { causal: true }],
    [[4, 4], { scale: -2 }],
  ];
  for (const [shape, opts] of cases) {
    it(`shape [${shape.join(', ')}] ${JSON.stringify(opts)}`, () => {
      const T = shape[shape.length - 1]!;
      const Tq = shape.length > 2 ? shape[shape.length - 2]! : 1;
      const n = shape.reduce((a, b) => a * b, 1);
      const data = randn(n, n + T, -2, 2);
      const w = randn(n, 5);
      const x = e.tensor(data, shape);
      x.requiresGrad = true;
      const y = softmax(x, opts);
      backwardWith(e, y, w);
      const fd = finiteDifferences(([xs]) => refSoftmax(xs!, n / T, T, { ...opts, Tq }), [data], w)[0]!;
      expectClose(x.grad!.toArray(), fd, 1e-3, 1e-6, 'dx');
      e.endStep();
      x.dispose();
    });
  }
});
