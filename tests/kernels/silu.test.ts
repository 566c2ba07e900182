import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { silu, siluGate } from '../../src/tensor/ops/silu.js';
import { map, zip } from '../ref/elementwise.js';
import { silu as siluRef, siluGate as siluGateRef } from '../ref/silu.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

// Kernels: silu_fwd_f32 silu_gate_fwd_f32 against float64 here, with silu_bwd_f32 silu_gate_bwd_f32 in the
// thread-count check (their values against finite differences in tests/grad/silu).

const SIZES = [1, 3, 4, 5, 7, 17, 64, 67, 40_003];

/** Random values plus hostile ones: ±1000, ±88 (the exp clamp), ±10, tiny, and exact zero. */
function inputs(n: number, seed: number): Float32Array {
  const x = randn(n, seed, -8, 8);
  const hostile = [1000, -1000, 88, -88, 89, -89, 10, -10, 1e-30, 0];
  for (let i = 0; i < Math.min(n, hostile.length); i++) x[(i * 7919) % n] = hostile[i]!;
  return x;
}

describe('SiLU kernels against float64', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  it.each(SIZES)('silu, n = %i', (n) => {
    const x = inputs(n, n);
    const y = e.noGrad(() => silu(e.tensor(x)).toArray());
    expectClose(y, map(x, siluRef), 2e-6, 1e-7, 'silu');
    e.endStep();
  });

  it.each(SIZES)('siluGate, n = %i', (n) => {
    const a = inputs(n, n + 1);
    const b = randn(n, n + 2, -3, 3);
    const y = e.noGrad(() => siluGate(e.tensor(a), e.tensor(b)).toArray());
    expectClose(y, zip(a, b, siluGateRef), 2e-6, 1e-7, 'siluGate');
    e.endStep();
  });

  it('the tails: silu(x) = x for large x, 0 for very negative x, derivatives 1 and 0', () => {
    const x = e.parameter('x', [1000, 100, -100, -1000], [4]);
    const y = silu(x);
    const v = y.toArray();
    expect([v[0], v[1]]).toEqual([1000, 100]);
    expect(Math.abs(v[2]!) + Math.abs(v[3]!)).toBeLessThan(1e-30);
    backwardWith(e, y, [1, 1, 1, 1]);
    const g = x.grad!.toArray();
    expect([g[0], g[1]]).toEqual([1, 1]);
    expect(Math.abs(g[2]!) + Math.abs(g[3]!)).toBeLessThan(1e-30);
    x.dispose();
    e.endStep();
  });

  it('NaN in gives NaN out', () => {
    const x = Float32Array.from([NaN, 1, NaN, 2, 3]);
    const y = e.noGrad(() => silu(e.tensor(x)).toArray());
    expect(Number.isNaN(y[0]) && Number.isNaN(y[2]) && !Number.isNaN(y[1])).toBe(true);
    e.endStep();
  });

  it('siluGate of two shapes is a ShapeError', () => {
    expect(() => siluGate(e.tensor([1, 2, 3]), e.tensor([1, 2]))).toThrow(/gate \[3\] and up \[2\] differ/);
  });
});

describe('SiLU kernels are bit-identical for threads 1, 2, 3', () => {
  it('silu and siluGate, forward and backward, over 100,003 elements', async () => {
    const n = 100_003;
    const [a, b, g] = [inputs(n, 5), randn(n, 6), randn(n, 7)];
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const [ta, tb] = [e.parameter('a', a, [n]), e.parameter('b', b, [n])];
      const y = silu(ta);
      const out = [y.toArray()];
      backwardWith(e, y, g);
      out.push(ta.grad!.toArray());
      e.endStep();
      ta.grad!.view().fill(0);
      const z = siluGate(ta, tb);
      out.push(z.toArray());
      backwardWith(e, z, g);
      out.push(ta.grad!.toArray(), tb.grad!.toArray());
      outs.push(out);
      await e.dispose();
    }
    for (const o of outs.slice(1)) o.forEach((v, i) => expectBitIdentical(v, outs[0]![i]!, `output ${i}`));
  });
});
