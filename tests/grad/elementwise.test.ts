import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { add, gelu, geluGate, mul, relu, scale, tanh } from '../../src/tensor/ops/elementwise.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { geluErf, geluTanh, map, relu as reluRef, zip } from '../ref/elementwise.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

// Kernels: accumulate_f32 mul_bwd_f32 axpy_f32 relu_bwd_f32 tanh_bwd_f32 gelu_bwd_f32
// gelu_bwd_f32__tanh gelu_gate_bwd_f32, against finite differences of the float64 references.

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
});
