import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { matmul } from '../../src/tensor/ops/matmul.js';
import { matmulRef } from '../ref/matmul.js';
import { expectBitIdentical, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

// Kernels: pack_a_f32, pack_b_f32, matmul_f32 (through the matmul op, with the tape off and on).

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 13, 5],
  [3, 4, 17],
  [5, 67, 9],
  [65, 3, 129],
  [129, 257, 63],
  [512, 768, 768],
];
const LAYOUTS = [
  { transposeA: false, transposeB: false },
  { transposeA: false, transposeB: true },
  { transposeA: true, transposeB: false },
  { transposeA: true, transposeB: true },
];
const tag = (l: { transposeA: boolean; transposeB: boolean }) =>
  `${l.transposeA ? 'Aᵀ' : 'A'}·${l.transposeB ? 'Bᵀ' : 'B'}`;

/** |out − ref| ≤ 1e-5 · Σ_k |a_ik·b_kj|: relative error under 1e-5 of the sum's own scale. */
function expectMatmulClose(out: Float32Array, ref: { c: Float64Array; magnitude: Float64Array }, what: string) {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < out.length; i++) {
    const err = Math.abs(out[i]! - ref.c[i]!) / ref.magnitude[i]!;
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst relative error at [${at}]: got ${out[at]}, want ${ref.c[at]}`).toBeLessThan(1e-5);
}

describe('matmul against a float64 reference', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const [M, K, N] of SHAPES) {
    for (const layout of LAYOUTS) {
      it(`${tag(layout)} M=${M} K=${K} N=${N}`, () => {
        const a = randn(M * K, M * 31 + K);
        const b = randn(K * N, N * 17 + K, -2, 2);
        const ta = e.tensor(a, layout.transposeA ? [K, M] : [M, K]);
        const tb = e.tensor(b, layout.transposeB ? [N, K] : [K, N]);
        const c = e.noGrad(() => matmul(ta, tb, layout));
        expect(c.shape).toEqual([M, N]);
        expectMatmulClose(c.toArray(), matmulRef(a, b, M, K, N, layout.transposeA, layout.transposeB), tag(layout));
        for (const t of [ta, tb, c]) t.dispose();
      });
    }
  }

  it('accumulates into C and handles K = 0 and empty outputs', () => {
    const [M, K, N] = [9, 11, 13];
    const a = e.tensor(randn(M * K, 1), [M, K]);
    const b = e.tensor(randn(K * N, 2), [K, N]);
    const zeroK = e.noGrad(() => matmul(e.tensor(new Float32Array(0), [M, 0]), e.tensor(new Float32Array(0), [0, N])));
    expect(Array.from(zeroK.toArray())).toEqual(new Array(M * N).fill(0));
    expect(e.noGrad(() => matmul(e.tensor(new Float32Array(0), [0, K]), b)).shape).toEqual([0, N]);
    expect(() => e.noGrad(() => matmul(a, a))).toThrow(/inner dimensions differ/);
  });
});

describe('matmul is bit-identical for any thread count', () => {
  it.each([
    [129, 257, 63],
    [512, 768, 768],
    [1, 768, 3072],
  ])('M=%i K=%i N=%i over threads 1, 2, 3', async (M, K, N) => {
    const a = randn(M * K, 5);
    const b = randn(K * N, 6);
    const results: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      expect(e.threads).toBe(threads);
      const ta = e.tensor(a, [M, K]);
      const tb = e.tensor(b, [K, N]);
      const tbT = e.tensor(b, [N, K]);
      results.push(e.noGrad(() => [matmul(ta, tb).toArray(), matmul(ta, tbT, { transposeB: true }).toArray()]));
      await e.dispose();
    }
    for (const r of results.slice(1)) {
      expectBitIdentical(r[0]!, results[0]![0]!, 'A·B');
      expectBitIdentical(r[1]!, results[0]![1]!, 'A·Bᵀ');
    }
  });
});

describe('differentiable matmul', () => {
  it.each(LAYOUTS)('gradients of %o equal the analytic products', async (layout) => {
    const e = await Engine.create({ threads: 2 });
    const [M, K, N] = [7, 5, 9];
    const a = randn(M * K, 3);
    const b = randn(K * N, 4);
    const w = randn(M * N, 8);
    const ta = e.parameter('a', a, layout.transposeA ? [K, M] : [M, K]);
    const tb = e.parameter('b', b, layout.transposeB ? [N, K] : [K, N]);
    const c = matmul(ta, tb, layout);
    backwardWith(e, c, w);
    // d(Σ w·C)/dA_ik = Σ_j w_ij B_kj; d/dB_kj = Σ_i w_ij A_ik (in op(·) coordinates, then stored layout)
    const dA = new Float64Array(M * K);
    const dB = new Float64Array(K * N);
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++)
        for (let j = 0; j < N; j++) {
          const av = layout.transposeA ? a[k * M + i]! : a[i * K + k]!;
          const bv = layout.transposeB ? b[j * K + k]! : b[k * N + j]!;
          dA[layout.transposeA ? k * M + i : i * K + k]! += w[i * N + j]! * bv;
          dB[layout.transposeB ? j * K + k : k * N + j]! += w[i * N + j]! * av;
        }
    const ga = ta.grad!.toArray();
    const gb = tb.grad!.toArray();
    for (let i = 0; i < dA.length; i++) expect(ga[i]).toBeCloseTo(dA[i]!, 5);
    for (let i = 0; i < dB.length; i++) expect(gb[i]).toBeCloseTo(dB[i]!, 5);
    await e.dispose();
  });
});

describe('the relaxed-SIMD build (fused multiply-add)', () => {
  it('matches the float64 reference and is bit-identical for threads 1, 2, 3', async () => {
    const [M, K, N] = [129, 257, 63];
    const a = randn(M * K, 21);
    const b = randn(K * N, 22);
    const ref = matmulRef(a, b, M, K, N, false, true);
    const outs: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads, simd: 'relaxed' });
      expect(e.runtime.build).toBe('relaxed');
      outs.push(e.noGrad(() => matmul(e.tensor(a, [M, K]), e.tensor(b, [N, K]), { transposeB: true })).toArray());
      await e.dispose();
    }
    expectMatmulClose(outs[0]!, ref, 'relaxed A·Bᵀ');
    expectBitIdentical(outs[1]!, outs[0]!, 'relaxed, 2 threads');
    expectBitIdentical(outs[2]!, outs[0]!, 'relaxed, 3 threads');
  });
});
