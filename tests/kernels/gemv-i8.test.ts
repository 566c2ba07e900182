import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { gemmInt8, int8Of, quantizeWeight, type Int8Weight } from '../../src/tensor/ops/int8.js';
import { gemmPacked } from '../../src/tensor/ops/matmul.js';
import { dotF32 } from '../ref/gemv.js';
import { matmulRef } from '../ref/matmul.js';
import { expectBitIdentical, randn } from '../util/check.js';

// Kernels: gemv_f32__i8 (C = A·Wᵀ, W as int8 q [N, K] and a float32 scale per row, for M ≤ GEMV_ROWS) and
// dequantize_i8_f32 (rows q·scale as float32, for the packed matmul past it), both through gemmInt8.
// gemv_f32__i8 sums x·q in gemv_f32__nk's order and multiplies by the scale at the end: the test asks for the bits
// of that order emulated in float32 (tests/ref/gemv.ts, q as exact floats) times the scale. The dequantized
// path must give the packed matmul's bits on W = fround(q·scale). Both against a float64 reference.

/** q: n int8 values in [−127, 127], none zero (seeded). */
function randq(n: number, seed: number): Int8Array {
  const u = randn(n, seed, -127, 127);
  return Int8Array.from(u, (x) => Math.round(x) || 1);
}

/** An Int8Weight in engine memory holding q [N, K] and scale [N]. */
function int8Weight(e: Engine, q: Int8Array, scale: Float32Array, N: number, K: number): Int8Weight {
  const rt = e.runtime;
  const qp = rt.arena.alloc(N * K);
  const sp = rt.arena.alloc(N * 4);
  new Int8Array(rt.u8.buffer, qp, N * K).set(q);
  rt.f32.set(scale, sp >>> 2);
  return { q: qp, scale: sp, N, K, layout: 'out_in' };
}

function release(e: Engine, w: Int8Weight): void {
  e.runtime.arena.release(w.q);
  e.runtime.arena.release(w.scale);
}

/** C[M, N] = (C0 +) A·Wᵀ through gemmInt8; returns C. */
function run(e: Engine, a: Float32Array, w: Int8Weight, c0: Float32Array | null, M: number): Float32Array {
  const ta = e.tensor(a);
  const tc = e.tensor(c0 ?? new Float32Array(M * w.N));
  gemmInt8(e.runtime, tc.ptr, ta.ptr, w, M, c0 !== null);
  const out = tc.toArray();
  ta.dispose();
  tc.dispose();
  return out;
}

/** W = fround(q·scale) [N, K] as float32: what dequantize_i8_f32 writes. */
function dequantized(q: Int8Array, scale: Float32Array, N: number, K: number): Float32Array {
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = q[n * K + k]! * scale[n]!;
  return w;
}

const SIZES = [1, 3, 4, 5, 7, 17, 64, 67];

describe('int8 GEMV and the dequantized path against scalar references', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const M of [1, 2, 3, 5, 8]) {
    it(`gemv_f32__i8: M = ${M}, K in ${[...SIZES, 300].join(', ')}, N in ${SIZES.join(', ')}: the documented order`, () => {
      for (const K of [...SIZES, 300]) {
        for (const N of SIZES) {
          const what = `M=${M} K=${K} N=${N}`;
          const a = randn(M * K, M * 1000 + K, -3, 3);
          const q = randq(N * K, K * 7 + N);
          const scale = randn(N, N + 5, 0.001, 0.05);
          const bias = randn(M * N, N + 3);
          const w = int8Weight(e, q, scale, N, K);
          const out = run(e, a, w, null, M);
          const withBias = run(e, a, w, bias, M);
          release(e, w);
          const order = new Float32Array(M * N);
          for (let m = 0; m < M; m++)
            for (let n = 0; n < N; n++)
              order[m * N + n] = dotF32(a.subarray(m * K, (m + 1) * K), q.subarray(n * K, (n + 1) * K), K) * scale[n]!;
          expectBitIdentical(out, order, what);
          expectBitIdentical(
            withBias,
            order.map((x, i) => bias[i]! + x),
            `${what} (accumulate)`,
          );
          const ref = matmulRef(a, dequantized(q, scale, N, K), M, K, N, false, true);
          const err = out.map((x, i) => Math.abs(x - ref.c[i]!) / ref.magnitude[i]!);
          expect(Math.max(...err), what).toBeLessThan(1e-5);
        }
      }
    });
  }

  it('past GEMV_ROWS: dequantized panels give the packed matmul bits of W = q·scale', () => {
    for (const [M, K, N] of [
      [9, 67, 33],
      [17, 5, 7],
      [64, 300, 67],
      // K = 5001: 209 rows per 4 MiB panel, so N = 450 spans three panels (the last ragged)
      [11, 5001, 450],
    ] as const) {
      const what = `M=${M} K=${K} N=${N}`;
      const a = randn(M * K, M + K, -2, 2);
      const q = randq(N * K, N + K);
      const scale = randn(N, N, 0.001, 0.05);
      const bias = randn(M * N, 9);
      const w = int8Weight(e, q, scale, N, K);
      const out = run(e, a, w, null, M);
      const withBias = run(e, a, w, bias, M);
      release(e, w);
      const tw = e.tensor(dequantized(q, scale, N, K));
      const ta = e.tensor(a);
      const tc = e.tensor(new Float32Array(M * N));
      const tb = e.tensor(bias);
      gemmPacked(e.runtime, tc.ptr, N, ta.ptr, K, 1, tw.ptr, 1, K, M, N, K, false);
      gemmPacked(e.runtime, tb.ptr, N, ta.ptr, K, 1, tw.ptr, 1, K, M, N, K, true);
      expectBitIdentical(out, tc.toArray(), what);
      expectBitIdentical(withBias, tb.toArray(), `${what} (accumulate)`);
      const ref = matmulRef(a, tw.toArray(), M, K, N, false, true);
      for (const t of [tw, ta, tc, tb]) t.dispose();
      const err = out.map((x, i) => Math.abs(x - ref.c[i]!) / ref.magnitude[i]!);
      expect(Math.max(...err), what).toBeLessThan(1e-5);
    }
  });

  for (const layout of ['out_in', 'in_out'] as const) {
    it(`quantizeWeight (${layout}): q·scale within scale/2 of every weight, scale = max|W|/127 per output channel`, () => {
      const [N, K] = [37, 67];
      const data = randn(N * K, 77, -3, 3);
      const at = (n: number, k: number) => (layout === 'out_in' ? n * K + k : k * N + n);
      for (let k = 0; k < K; k++) data[at(5, k)] = 0; // channel 5: all zeros (scale 0, q 0)
      data[at(6, 3)] = 1e4; // channel 6: one large weight, the rest rounds to small q
      const t = e.tensor(data, layout === 'out_in' ? [N, K] : [K, N]);
      const form = quantizeWeight(t, layout);
      expect(int8Of(t)).toBe(form);
      expect(t.disposed).toBe(true);
      expect(t.requiresGrad).toBe(false);
      const q = new Int8Array(e.runtime.u8.buffer, form.q, N * K).slice();
      const scale = e.runtime.f32.slice(form.scale >>> 2, (form.scale >>> 2) + N);
      for (let n = 0; n < N; n++) {
        let max = 0;
        for (let k = 0; k < K; k++) max = Math.max(max, Math.abs(data[at(n, k)]!));
        expect(scale[n], `scale of channel ${n}`).toBe(Math.fround(max / 127));
        for (let k = 0; k < K; k++) {
          const w = data[at(n, k)]!;
          const qv = q[n * K + k]!;
          expect(Math.abs(qv), `q[${n}, ${k}]`).toBeLessThanOrEqual(127);
          // exact q·s (float64) and the float32 product the kernels use (one more rounding, ≤ |w|·2⁻²⁴)
          const bound = scale[n]! / 2 + Math.abs(w) * 2 ** -22;
          expect(Math.abs(qv * scale[n]! - w), `channel ${n}, k ${k}`).toBeLessThanOrEqual(bound);
          expect(Math.abs(Math.fround(qv * scale[n]!) - w), `channel ${n}, k ${k} (f32)`).toBeLessThanOrEqual(bound);
        }
      }
      expect(scale[5]).toBe(0);
      expect(q.subarray(5 * K, 6 * K).every((v) => v === 0)).toBe(true);
      expect(q[6 * K + 3]).toBe(127);
      e.runtime.arena.release(form.q);
      e.runtime.arena.release(form.scale);
    });
  }
});

describe('int8 matmul is bit-identical for any thread count', () => {
  it.each([
    [1, 768, 5001],
    [4, 513, 2049],
    [8, 67, 1031],
    [12, 301, 999],
    [40, 257, 129],
  ] as const)('M=%i K=%i N=%i over threads 1, 2, 3', async (M, K, N) => {
    const a = randn(M * K, 5);
    const q = randq(N * K, 6);
    const scale = randn(N, 7, 0.001, 0.05);
    const outs: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      expect(e.threads).toBe(threads);
      outs.push(run(e, a, int8Weight(e, q, scale, N, K), null, M));
      await e.dispose();
    }
    expectBitIdentical(outs[1]!, outs[0]!, '2 threads');
    expectBitIdentical(outs[2]!, outs[0]!, '3 threads');
  });

  it('relaxed build: close to the reference, bit-identical for threads 1, 2, 3', async () => {
    const [M, K, N] = [3, 301, 67];
    const a = randn(M * K, 15);
    const q = randq(N * K, 16);
    const scale = randn(N, 17, 0.001, 0.05);
    const ref = matmulRef(a, dequantized(q, scale, N, K), M, K, N, false, true);
    const outs: Float32Array[] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads, simd: 'relaxed' });
      expect(e.runtime.build).toBe('relaxed');
      const out = run(e, a, int8Weight(e, q, scale, N, K), null, M);
      const err = out.map((x, i) => Math.abs(x - ref.c[i]!) / ref.magnitude[i]!);
      expect(Math.max(...err)).toBeLessThan(1e-5);
      outs.push(out);
      await e.dispose();
    }
    expectBitIdentical(outs[1]!, outs[0]!, '2 threads');
    expectBitIdentical(outs[2]!, outs[0]!, '3 threads');
  });
});
