// Kernels: softmax_fwd_f32, softmax_bwd_f32 (forward here, backward in tests/grad/softmax).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { softmax } from '../../src/tensor/ops/softmax.js';
import { refSoftmax, refSoftmaxBackward } from '../ref/softmax.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

const SIZES = [1, 3, 4, 5, 7, 17, 64, 67];
let engines: Engine[] = [];

beforeAll(async () => {
  engines = await Promise.all([1, 2, 3].map((threads) => Engine.create({ threads, maxMemoryMiB: 256 })));
});
afterAll(async () => {
  await Promise.all(engines.map((e) => e.dispose()));
});

/** Forward and backward of softmax on engine e; returns y and dx (for seeded dy). */
function run(
  e: Engine,
  data: Float32Array,
  shape: number[],
  opts: { scale?: number; causal?: boolean },
  dy: Float32Array,
) {
  const x = e.tensor(data, shape);
  x.requiresGrad = true;
  const y = softmax(x, opts);
  const out = y.toArray();
  backwardWith(e, y, dy);
  const dx = x.grad!.toArray();
  e.endStep();
  x.dispose();
  return { y: out, dx };
}

function check(shape: number[], opts: { scale?: number; causal?: boolean }, data: Float32Array, seed: number) {
  const T = shape[shape.length - 1]!;
  const rows = data.length / T;
  const Tq = shape.length >= 2 ? shape[shape.length - 2]! : 1;
  const dy = randn(data.length, seed + 1);
  const ref = refSoftmax(data, rows, T, { ...opts, Tq });
  const { y, dx } = run(engines[0]!, data, shape, opts, dy);
  expectClose(y, ref, 1e-5, 1e-7, `softmax y ${JSON.stringify({ shape, opts })}`);
  const refDx = refSoftmaxBackward(ref, dy, rows, T, opts.scale ?? 1);
  const bound = Math.max(1, Math.abs(opts.scale ?? 1));
  expectClose(dx, refDx, 1e-4, 1e-6 * bound, `softmax dx ${JSON.stringify({ shape, opts })}`);
  return y;
}

describe('softmax kernel vs float64 reference', () => {
  it('every size, plain and scaled', () => {
    let seed = 1;
    for (const rows of [1, 3, 5, 17]) {
      for (const T of SIZES) {
        for (const scale of [1, 0.125]) check([rows, T], { scale }, randn(rows * T, seed++, -3, 3), seed);
      }
    }
  });

  it('causal blocks with the Tk − Tq offset (Tq < Tk, Tq = Tk, and Tq > Tk giving empty rows)', () => {
    let seed = 100;
    for (const Tq of [1, 3, 4, 7, 17, 67]) {
      for (const Tk of [1, 4, 5, 17, 64, 67]) {
        const y = check([2, Tq, Tk], { causal: true, scale: 0.5 }, randn(2 * Tq * Tk, seed++, -4, 4), seed);
        // masked entries are exactly 0, and a row with no key is all zeros (never NaN)
        for (let r = 0; r < 2 * Tq; r++) {
          const lim = Math.min(Tk, Math.max(0, (r % Tq) + Tk - Tq + 1));
          for (let j = lim; j < Tk; j++) expect(y[r * Tk + j]).toBe(0);
        }
      }
    }
  });

  it('hostile values: ±1000, overflow in exp, a huge scale, an all −∞ row', () => {
    for (const T of [3, 5, 17, 67]) {
      const x = randn(4 * T, T, -1000, 1000);
      check([4, T], {}, x, 7);
      check([4, T], { scale: 50 }, x, 8);
      check([4, T], { scale: -3 }, x, 9);
      check([4, T], { causal: true }, x, 10);
      const big = x.map((v, i) => (i % 2 ? 90 + Math.abs(v) / 100 : 88.8));
      check([4, T], {}, big, 11);
      const inf = randn(2 * T, 3);
      inf.fill(-Infinity, 0, T); // row 0: every score −∞
      inf[T + 1 < 2 * T ? T + 1 : T] = -Infinity;
      const y = check([2, T], {}, inf, 12);
      expect(Array.from(y.subarray(0, T)).every((v) => v === 0)).toBe(true);
      expect(y.every((v) => !Number.isNaN(v))).toBe(true);
    }
  });

  it('bit-identical outputs and gradients for threads 1, 2, 3', () => {
    for (const [shape, opts] of [
      [[201, 67], { scale: 0.3 }],
      [[3, 67, 131], { causal: true }],
    ] as const) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = randn(n, 77, -5, 5);
      const dy = randn(n, 78);
      const [a, ...rest] = engines.map((e) => run(e, data, [...shape], opts, dy));
      for (const b of rest) {
        expectBitIdentical(b.y, a!.y, 'softmax y');
        expectBitIdentical(b.dx, a!.dx, 'softmax dx');
      }
    }
  });
});
