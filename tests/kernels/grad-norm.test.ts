import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { clipGradNorm, gradNorm, scaleGrads } from '../../src/tensor/ops/grad-norm.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { gradNormRef } from '../ref/grad-norm.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';

// Kernels: grad_norm_f32 (float64 partial Σg² per 4096-element chunk), grad_scale_f32 (clipping).

const SIZES = [1, 3, 4, 5, 7, 17, 64, 67, 4095, 4097, 70_001];

function withGrads(e: Engine, seed: number, scale = 1): { params: Tensor[]; grads: Float32Array[] } {
  const params = SIZES.map((n, i) => e.parameter(`p${i}`, randn(n, seed + i), [n]));
  const grads = params.map((p, i) => {
    const g = randn(p.size, seed + 100 + i, -scale, scale);
    e.gradOf(p).set(g);
    return g;
  });
  return { params, grads };
}

describe('gradient norm and clipping', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  it('the norm matches a float64 sum over every parameter; a parameter without grad is left out', () => {
    const { params, grads } = withGrads(e, 1);
    const extra = e.parameter('nograd', randn(9, 2), [9]);
    expectClose([gradNorm([...params, extra])], [gradNormRef(grads)], 1e-12, 0, 'norm');
    expect(gradNorm([extra])).toBe(0);
    for (const p of [...params, extra]) p.dispose();
  });

  it('huge gradients (1e30) do not overflow: squares are summed in float64', () => {
    const { params, grads } = withGrads(e, 3, 1e30);
    const norm = gradNorm(params);
    expect(Number.isFinite(norm)).toBe(true);
    expectClose([norm], [gradNormRef(grads)], 1e-12, 0, 'norm');
    for (const p of params) p.dispose();
  });

  it('clips to maxNorm when above it, as clip_grad_norm_; leaves the bits alone when below', () => {
    const { params, grads } = withGrads(e, 5);
    const norm = gradNormRef(grads);
    expect(clipGradNorm(params, norm * 2)).toBeCloseTo(norm, 9);
    params.forEach((p, i) => expectBitIdentical(p.grad!.toArray(), grads[i]!, `unclipped ${p.name}`));
    const maxNorm = norm / 3;
    expect(clipGradNorm(params, maxNorm)).toBeCloseTo(norm, 9);
    const c = maxNorm / (norm + 1e-6);
    params.forEach((p, i) =>
      expectClose(
        p.grad!.toArray(),
        Float64Array.from(grads[i]!, (g) => g * c),
        1e-6,
        0,
        `clipped ${p.name}`,
      ),
    );
    expectClose([gradNorm(params)], [maxNorm], 1e-6, 0, 'norm after clipping');
    scaleGrads(params, 0.5);
    expectClose([gradNorm(params)], [maxNorm / 2], 1e-6, 0, 'norm after scaleGrads(0.5)');
    for (const p of params) p.dispose();
  });

  it('a NaN or infinite gradient makes the norm NaN or inf', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const { params } = withGrads(e, 7);
      params[9]!.grad!.view()[1234] = bad;
      const norm = clipGradNorm(params, 1);
      if (Number.isNaN(bad)) expect(norm).toBeNaN();
      else expect(norm).toBe(Infinity);
      for (const p of params) p.dispose();
    }
  });
});

describe('gradient norm is bit-identical for 1, 2 and 3 threads', () => {
  it('norm and clipped gradients over 3 parameters of ~100k elements', async () => {
    const sizes = [100_003, 65_536, 99_999];
    const results: { norm: number; grads: Float32Array[] }[] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const params = sizes.map((n, i) => {
        const p = e.parameter(`w${i}`, randn(n, i), [n]);
        e.gradOf(p).set(randn(n, 50 + i, -3, 3));
        return p;
      });
      const norm = clipGradNorm(params, 1);
      results.push({ norm, grads: params.map((p) => p.grad!.toArray()) });
      await e.dispose();
    }
    for (const r of results.slice(1)) {
      expect(Object.is(r.norm, results[0]!.norm)).toBe(true);
      r.grads.forEach((g, i) => expectBitIdentical(g, results[0]!.grads[i]!, `grad ${i}`));
    }
  });
});
