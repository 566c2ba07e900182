import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { gemmPacked, gemvKn, gemvNk } from '../../src/tensor/ops/matmul.js';
import { dotF32 } from '../ref/gemv.js';
import { matmulRef } from '../ref/matmul.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';

// Kernels: gemv_f32__kn (W stored [K, N], GPT-2's Conv1D) and gemv_f32__nk (W stored [N, K], torch Linear),
// which gemm runs for M ≤ GEMV_ROWS (gemv_f32__kn up to GEMV_TRIAL_ROWS, where it is the faster). gemv_f32__kn sums each element in matmul_f32's order: the test asks for
// the packed path's bits (gemmPacked). gemv_f32__nk sums dot products in its own order: the test asks for
// the bits of that order emulated in float32 (tests/ref/gemv.ts), and for the packed path's values within
// the float32 rounding of two K-term sums. Both against a float64 reference.

type Layout = 'kn' | 'nk';

/**
 * C[M, N] = (C0 +) A·W through the GEMV kernel of W's layout (gemvKn, gemvNk), A [M, K] rows lda apart, C rows ldc apart; returns C's M×N values.
 * W is [K, N] ('kn') or [N, K] ('nk').
 */
function run(
  e: Engine,
  a: Float32Array,
  w: Float32Array,
  c0: Float32Array | null,
  M: number,
  N: number,
  K: number,
  layout: Layout,
  lda = K,
  ldc = N,
): Float32Array {
  const ta = e.tensor(a.length > 0 ? a : new Float32Array(1));
  const tw = e.tensor(w);
  const tc = e.tensor(c0 ?? new Float32Array(Math.max(1, (M - 1) * ldc + N)));
  if (layout === 'kn') gemvKn(e.runtime, tc.ptr, ldc, ta.ptr, lda, tw.ptr, N, M, N, K, c0 !== null);
  else gemvNk(e.runtime, tc.ptr, ldc, ta.ptr, lda, tw.ptr, K, M, N, K, c0 !== null);
  const all = tc.toArray();
  const out = new Float32Array(M * N);
  for (let m = 0; m < M; m++) out.set(all.subarray(m * ldc, m * ldc + N), m * N);
  for (const t of [ta, tw, tc]) t.dispose();
  return out;
}

/** The same product through the packed path (pack_a_f32, pack_b_f32, matmul_f32). */
function packed(
  e: Engine,
  a: Float32Array,
  w: Float32Array,
  c0: Float32Array | null,
  M: number,
  N: number,
  K: number,
  layout: Layout,
): Float32Array {
  const ta = e.tensor(a);
  const tw = e.tensor(w);
  const tc = e.tensor(c0 ?? new Float32Array(M * N));
  const [ldbK, ldbN] = layout === 'kn' ? [N, 1] : [1, K];
  gemmPacked(e.runtime, tc.ptr, N, ta.ptr, K, 1, tw.ptr, ldbK, ldbN, M, N, K, c0 !== null);
  const out = tc.toArray();
  for (const t of [ta, tw, tc]) t.dispose();
  return out;
}

const ROWS = [1, 2, 3, 4, 5, 7, 8];
const KN_ROWS = [9, 16, 17, 32]; // W [K, N] may run the GEMV up to GEMV_TRIAL_ROWS (timed per shape)
const SIZES = [1, 3, 4, 5, 7, 17, 64, 67];
const DEEP = [300, 600]; // K past one and two blocks of KC = 256

describe('GEMV against the packed matmul (bit for bit) and a float64 reference', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const layout of ['kn', 'nk'] as const) {
    for (const M of layout === 'kn' ? [...ROWS, ...KN_ROWS] : ROWS) {
      it(`${layout}: M = ${M}, K and N in ${[...SIZES, ...DEEP].join(', ')}`, () => {
        for (const K of [...SIZES, ...DEEP]) {
          for (const N of SIZES) {
            const a = randn(M * K, M * 1000 + K);
            const w = randn(K * N, K * 7 + N, -2, 2);
            const bias = randn(M * N, N + 3);
            const what = `${layout} M=${M} K=${K} N=${N}`;
            const out = run(e, a, w, null, M, N, K, layout);
            const withBias = run(e, a, w, bias, M, N, K, layout);
            const ref = matmulRef(a, w, M, K, N, false, layout === 'nk');
            if (layout === 'kn') {
              expectBitIdentical(out, packed(e, a, w, null, M, N, K, layout), what);
              expectBitIdentical(withBias, packed(e, a, w, bias, M, N, K, layout), `${what} (accumulate)`);
            } else {
              const order = new Float32Array(M * N);
              for (let m = 0; m < M; m++)
                for (let n = 0; n < N; n++)
                  order[m * N + n] = dotF32(a.subarray(m * K, (m + 1) * K), w.subarray(n * K, (n + 1) * K), K);
              expectBitIdentical(out, order, `${what}: the documented order`);
              expectBitIdentical(
                withBias,
                order.map((x, i) => Math.fround(bias[i]! + x)),
                `${what} (accumulate)`,
              );
              // two float32 sums of the same K terms differ by at most 2·γ_K·Σ|a·w| (γ_K ≈ K·2⁻²⁴)
              const p = packed(e, a, w, null, M, N, K, layout);
              const gap = out.map((x, i) => Math.abs(x - p[i]!) / ref.magnitude[i]!);
              expect(Math.max(...gap), `${what}: against the packed path`).toBeLessThanOrEqual((2 * K) / 2 ** 24);
            }
            // |out − ref| ≤ 1e-5 · Σ_k |a·w|: float32 rounding over K terms, far below it at these K
            const err = out.map((x, i) => Math.abs(x - ref.c[i]!) / ref.magnitude[i]!);
            expect(Math.max(...err), what).toBeLessThan(1e-5);
          }
        }
      });
    }

    it(`${layout}: strided rows of A and C, hostile values`, () => {
      const [M, N, K] = [3, 37, 70];
      const lda = K + 5;
      const ldc = N + 3;
      const a = randn(M * lda, 11, -1000, 1000);
      a[lda + 3] = NaN; // row 1: every column NaN
      a[2 * lda + 7] = Infinity; // row 2: ±inf
      const w = randn(K * N, 12, -1000, 1000);
      const out = run(e, a, w, null, M, N, K, layout, lda, ldc);
      const dense = new Float32Array(M * K);
      for (let m = 0; m < M; m++) dense.set(a.subarray(m * lda, m * lda + K), m * K);
      if (layout === 'kn') expectBitIdentical(out, packed(e, dense, w, null, M, N, K, layout), layout);
      const ref = matmulRef(dense, w, M, K, N, false, layout === 'nk');
      for (let n = 0; n < N; n++) expect(out[N + n]).toBeNaN();
      expectClose(out.subarray(0, N), ref.c.subarray(0, N), 1e-4, 1e-2, `${layout} row 0`);
      // row 2: inf times each (nonzero) weight dominates its column: ±inf with the reference's sign
      expect(Array.from(out.subarray(2 * N)), `${layout} row 2`).toEqual(Array.from(ref.c.subarray(2 * N)));
    });
  }
});

describe('GEMV is bit-identical for any thread count', () => {
  it.each([
    ['kn', 1, 768, 3072],
    ['kn', 4, 3072, 768],
    ['nk', 1, 768, 50257],
    ['nk', 4, 512, 2049],
    ['nk', 8, 64, 1031],
  ] as const)('%s M=%i K=%i N=%i over threads 1, 2, 3', async (layout, M, K, N) => {
    const a = randn(M * K, 5);
    const w = randn(K * N, 6);
    const outs: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      expect(e.threads).toBe(threads);
      outs.push(run(e, a, w, null, M, N, K, layout));
      await e.dispose();
    }
    expectBitIdentical(outs[1]!, outs[0]!, '2 threads');
    expectBitIdentical(outs[2]!, outs[0]!, '3 threads');
  });
});

describe('the relaxed-SIMD build (fused multiply-add)', () => {
  it('kn has the packed kernel bits there too; nk is close to the reference and bit-identical for threads 1, 2, 3', async () => {
    const nk: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads, simd: 'relaxed' });
      expect(e.runtime.build).toBe('relaxed');
      for (const [M, K, N] of [
        [1, 300, 67],
        [4, 67, 33],
        [5, 17, 64],
      ] as const) {
        const a = randn(M * K, 31);
        const w = randn(K * N, 32);
        const what = `relaxed M=${M} K=${K} N=${N}`;
        expectBitIdentical(run(e, a, w, null, M, N, K, 'kn'), packed(e, a, w, null, M, N, K, 'kn'), `kn ${what}`);
        const out = run(e, a, w, null, M, N, K, 'nk');
        const ref = matmulRef(a, w, M, K, N, false, true);
        const err = out.map((x, i) => Math.abs(x - ref.c[i]!) / ref.magnitude[i]!);
        expect(Math.max(...err), `nk ${what}`).toBeLessThan(1e-5);
        if (M === 4) nk.push(out);
      }
      await e.dispose();
    }
    expectBitIdentical(nk[1]!, nk[0]!, 'nk, 2 threads');
    expectBitIdentical(nk[2]!, nk[0]!, 'nk, 3 threads');
  });
});
