import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { add, gelu, geluGate, mul, relu, scale, tanh } from '../../src/tensor/ops/elementwise.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { geluErf, geluTanh, map, relu as reluRef, zip } from '../ref/elementwise.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';

// Kernels: add_fwd_f32 mul_fwd_f32 scale_fwd_f32 relu_fwd_f32 tanh_fwd_f32 gelu_fwd_f32
// gelu_fwd_f32__tanh gelu_gate_fwd_f32 (forward here; the backward kernels in tests/grad/elementwise).

const SIZES = [1, 3, 4, 5, 7, 17, 64, 67, 40_003];

/** Random values plus hostile ones: ±1000, ±10, tiny, and exact zero. */
function inputs(n: number, seed: number): Float32Array {
  const x = randn(n, seed, -6, 6);
  const hostile = [1000, -1000, 10, -10, 1e-30, -1e-30, 0, 88, -88];
  for (let i = 0; i < Math.min(n, hostile.length); i++) x[(i * 7919) % n] = hostile[i]!;
  return x;
}

describe('elementwise kernels against float64', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const unaries: [string, (t: Tensor) => Tensor, (x: number) => number, number][] = [
    ['relu', relu, reluRef, 0],
    ['tanh', tanh, Math.tanh, 2e-7],
    ['gelu (erf)', (t) => gelu(t, 'none'), geluErf, 2e-6],
    ['gelu (tanh)', (t) => gelu(t, 'tanh'), geluTanh, 2e-6],
    ['scale 0.37', (t) => scale(t, 0.37), (x) => Math.fround(0.37) * x, 1e-7],
  ];
  for (const [name, op, ref, tol] of unaries) {
    it.each(SIZES)(`${name}, n = %i`, (n) => {
      const x = inputs(n, n);
      const y = e.noGrad(() => op(e.tensor(x)).toArray());
      expectClose(y, map(x, ref), tol, 1e-7, name);
      e.endStep();
    });
  }

  it.each(SIZES)('add, mul and the gated GELU, n = %i', (n) => {
    const a = inputs(n, n + 1);
    const b = randn(n, n + 2, -3, 3);
    const [ta, tb] = [e.tensor(a), e.tensor(b)];
    e.noGrad(() => {
      expectClose(
        add(ta, tb).toArray(),
        zip(a, b, (x, y) => x + y),
        1e-7,
        0,
        'add',
      );
      expectClose(
        mul(ta, tb).toArray(),
        zip(a, b, (x, y) => x * y),
        1e-7,
        0,
        'mul',
      );
      expectClose(
        geluGate(ta, tb).toArray(),
        zip(a, b, (x, y) => geluTanh(x) * y),
        2e-6,
        1e-7,
        'geluGate',
      );
    });
    e.endStep();
  });

  it('NaN in gives NaN out', () => {
    const x = Float32Array.from([NaN, 1, NaN, 2, 3]);
    for (const [name, op] of unaries) {
      if (name === 'relu') continue;
      const y = e.noGrad(() => op(e.tensor(x)).toArray());
      expect(Number.isNaN(y[0]) && Number.isNaN(y[2]), name).toBe(true);
    }
    e.endStep();
  });

  it('shape mismatch is a ShapeError', () => {
    expect(() => add(e.tensor([1, 2, 3]), e.tensor([1, 2]))).toThrow(/differ/);
  });
});

describe('elementwise kernels are bit-identical for threads 1, 2, 3', () => {
  it('gelu, tanh, geluGate over 100,003 elements', async () => {
    const x = inputs(100_003, 5);
    const y = randn(100_003, 6);
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const [tx, ty] = [e.tensor(x), e.tensor(y)];
      outs.push(
        e.noGrad(() => [
          gelu(tx).toArray(),
          gelu(tx, 'tanh').toArray(),
          tanh(tx).toArray(),
          geluGate(tx, ty).toArray(),
        ]),
      );
      await e.dispose();
    }
    for (const o of outs.slice(1)) o.forEach((v, i) => expectBitIdentical(v, outs[0]![i]!, `output ${i}`));
  });
});
