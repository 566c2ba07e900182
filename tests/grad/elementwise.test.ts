import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { add, gelu, geluGate, mul, relu, scale, tanh } from '../../src/tensor/ops/elementwise.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { erf, geluErf, geluTanh, map, relu as reluRef, zip } from '../ref/elementwise.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

// Kernels: accumulate_f32 mul_bwd_f32 axpy_f32 relu_bwd_f32 tanh_bwd_f32 gelu_fwd_f32 (its derivative, d)
// gelu_fwd_f32__tanh (d) gelu_gate_bwd_f32, against finite differences of the float64 references.

describe('elementwise gradients', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const unaries: [string, (t: Tensor) => Tensor, (x: number) => number][] = [
    ['relu', relu, reluRef],
    ['tanh', tanh, Math.tanh],
    ['gelu (erf)', (t) => gelu(t, 'none'), geluErf],
    ['gelu (tanh)', (t) => gelu(t, 'tanh'), geluTanh],
    ['scale', (t) => scale(t, -1.7), (x) => Math.fround(-1.7) * x],
  ];
  for (const [name, op, ref] of unaries) {
    it.each([1, 5, 17, 67])(`${name}, n = %i`, (n) => {
      const x = randn(n, n, -4, 4);
      const w = randn(n, n + 9);
      const tx = e.parameter('x', x, [n]);
      const y = op(tx);
      backwardWith(e, y, w);
      const [fd] = finiteDifferences((xs) => map(xs[0]!, ref), [x], w);
      expectClose(tx.grad!.toArray(), fd!, 1e-4, 1e-5, `d${name}`);
      tx.dispose();
      e.endStep();
    });
  }

  it.each([1, 5, 17, 67])('add, mul, geluGate (both inputs, and one input twice), n = %i', (n) => {
    const a = randn(n, n, -3, 3);
    const b = randn(n, n + 1, -3, 3);
    const w = randn(n, n + 2);
    const cases: [string, (x: Tensor, y: Tensor) => Tensor, (x: number, y: number) => number][] = [
      ['add', add, (x, y) => x + y],
      ['mul', mul, (x, y) => x * y],
      ['geluGate', geluGate, (x, y) => geluTanh(x) * y],
    ];
    for (const [name, op, ref] of cases) {
      const ta = e.parameter('a', a, [n]);
      const tb = e.parameter('b', b, [n]);
      backwardWith(e, op(ta, tb), w);
      const fd = finiteDifferences((xs) => zip(xs[0]!, xs[1]!, ref), [a, b], w);
      expectClose(ta.grad!.toArray(), fd[0]!, 1e-4, 1e-5, `${name} da`);
      expectClose(tb.grad!.toArray(), fd[1]!, 1e-4, 1e-5, `${name} db`);
      // the same tensor as both inputs: gradients of both uses add up
      const tc = e.parameter('c', a, [n]);
      backwardWith(e, op(tc, tc), w);
      const [fdSame] = finiteDifferences((xs) => zip(xs[0]!, xs[0]!, ref), [a], w);
      expectClose(tc.grad!.toArray(), fdSame!, 1e-4, 1e-5, `${name}(a, a)`);
      for (const t of [ta, tb, tc]) t.dispose();
      e.endStep();
    }
  });

  // the derivative the forward writes beside y, in the tails and the steep parts (random values between them),
  // against the float64 derivative; and y with a gradient wanted is y without, bit for bit
  const k = Math.sqrt(2 / Math.PI);
  const geluErfGrad = (x: number) =>
    0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI);
  const geluTanhGrad = (x: number) => {
    const t = Math.tanh(k * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
  };
  for (const [approx, ref] of [
    ['none', geluErfGrad],
    ['tanh', geluTanhGrad],
  ] as const)
    it(`gelu (${approx}): the forward's derivative in the tails, and the forward's bits without a gradient`, () => {
      const far = [1000, -1000, 15.5, -15.5, 10.6, -10.6, 9, -9, 4.5, -4.5, 1e-3, -1e-3, 0];
      const x = Float32Array.from(
        { length: 67 },
        (_, i) => far[i % far.length]! + (i >= far.length ? (i % 7) * 0.37 : 0),
      );
      const tx = e.parameter('x', x, [67]);
      const y = gelu(tx, approx);
      const ones = new Float32Array(67).fill(1);
      backwardWith(e, y, ones);
      expectClose(tx.grad!.toArray(), map(x, ref), 2e-6, 1e-6, `gelu' (${approx})`);
      const plain = e.noGrad(() => gelu(tx, approx));
      expectBitIdentical(y.toArray(), plain.toArray(), `gelu (${approx}) with and without a gradient`);
      tx.dispose();
      e.endStep();
    });
});
