// The loss-area kernels, simdformer at 1 thread and all threads, plain JS (float32 loops) alongside.
// Own timing loop (warm-up, median; an untimed set-up before each call gives every call a fresh step);
// `npm run bench -- loss [--quick]`; results to bench/results/loss.json.
// Counting:
//   cross_entropy_fwd_f32  G elem/s = N·V / seconds / 1e9   (with grad: also writes g, N·V floats)
//   cross_entropy_bwd_f32  GB/s     = 8·N·V / seconds / 1e9  (reads g, writes dlogits; += also reads it)
//   dropout_fwd_f32/_bwd   GB/s     = 8·n (fwd: read x, write y) or 12·n (bwd: read dy, dx; write dx)
//   adamw_f32              GB/s     = 28·n (read p, m, v, g; write p, m, v)
//   grad_norm_f32          GB/s     = 4·n;  grad_scale_f32: 8·n
import os from 'node:os';
import { Engine } from '../../src/tensor/engine.js';
import { adamwStep } from '../../src/tensor/ops/adamw.js';
import { crossEntropy } from '../../src/tensor/ops/cross-entropy.js';
import { dropout } from '../../src/tensor/ops/dropout.js';
import { clipGradNorm, gradNorm } from '../../src/tensor/ops/grad-norm.js';
import { AdamWState } from '../../src/train/adamw.js';
import { randn } from '../../tests/util/random.js';
import { type Suite, writeResults } from '../harness.js';

const SEED = 20241128;

/** Median seconds of `runs` calls after `warm` unmeasured ones; `setup` runs before every call, untimed. */
function time(fn: () => void, runs: number, warm = 3, setup?: () => void): number {
  for (let i = 0; i < warm; i++) {
    setup?.();
    fn();
  }
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    setup?.();
    const t0 = performance.now();
    fn();
    t.push((performance.now() - t0) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

/** Plain-JS float32 cross-entropy forward (max, Σexp, loss) and gradient, for the side-by-side column. */
function plainCrossEntropy(x: Float32Array, labels: Int32Array, N: number, V: number, g: Float32Array | null): number {
  let total = 0;
  for (let i = 0; i < N; i++) {
    const o = i * V;
    let m = -Infinity;
    for (let j = 0; j < V; j++) if (x[o + j]! > m) m = x[o + j]!;
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(x[o + j]! - m);
    const lse = m + Math.log(s);
    total += lse - x[o + labels[i]!]!;
    if (g) {
      for (let j = 0; j < V; j++) g[o + j] = Math.exp(x[o + j]! - lse) / N;
      g[o + labels[i]!]! -= 1 / N;
    }
  }
  return total / N;
}

interface Row {
  kernel: string;
  shape: string;
  threads: number | 'plain-js';
  ms: number;
  rate: string;
}

async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const runs = quick ? 3 : 7;
  const [N, V] = quick ? [64, 50257] : [256, 50257];
  const n = quick ? 1 << 20 : 1 << 23;
  const rows: Row[] = [];
  const add = (kernel: string, shape: string, threads: Row['threads'], s: number, rate: string) =>
    rows.push({ kernel, shape, threads, ms: +(s * 1000).toFixed(3), rate });
  const logitsData = randn(N * V, SEED, -8, 8);
  const labels = Int32Array.from(randn(N, SEED + 1), (u) => Math.floor((u * 0.5 + 0.5) * V) % V);
  const xData = randn(n, SEED + 2);

  for (const threads of [1, Math.max(2, os.availableParallelism())]) {
    const e = await Engine.create({ threads });
    const ce = `${N}×${V}`;
    // cross-entropy forward without a gradient (inference / eval) and with one (training); every call
    // starts a fresh step (untimed), as a training loop does
    let logits = e.empty([N, V], 'step');
    const fresh = () => {
      e.endStep();
      logits = e.empty([N, V], 'step').set(logitsData);
      logits.requiresGrad = true;
    };
    let s = time(() => e.noGrad(() => crossEntropy(logits, labels)), runs, 3, fresh);
    add('cross_entropy_fwd_f32 (no grad)', ce, threads, s, `${((N * V) / s / 1e9).toFixed(2)} G elem/s`);
    s = time(() => crossEntropy(logits, labels), runs, 3, fresh);
    add('cross_entropy_fwd_f32 (with g)', ce, threads, s, `${((N * V) / s / 1e9).toFixed(2)} G elem/s`);
    // backward: g becomes dlogits (in-place scale) vs += into an existing gradient
    const ready = (existingGrad: boolean) => () => {
      fresh();
      if (existingGrad) e.gradOf(logits);
      e.gradOf(crossEntropy(logits, labels)).view()[0] = 1;
    };
    s = time(() => e.tape.replay(), runs, 3, ready(false));
    add('cross_entropy_bwd_f32 (in place)', ce, threads, s, `${((8 * N * V) / s / 1e9).toFixed(2)} GB/s`);
    s = time(() => e.tape.replay(), runs, 3, ready(true));
    add('cross_entropy_bwd_f32 (+=)', ce, threads, s, `${((12 * N * V) / s / 1e9).toFixed(2)} GB/s`);
    e.endStep();

    // dropout
    let x = e.empty([n], 'step');
    const freshX = () => {
      e.endStep();
      x = e.empty([n], 'step').set(xData);
      x.requiresGrad = true;
    };
    s = time(() => dropout(x, 0.1, 7), runs, 3, freshX);
    add('dropout_fwd_f32', `${n}`, threads, s, `${((8 * n) / s / 1e9).toFixed(2)} GB/s`);
    s = time(
      () => e.tape.replay(),
      runs,
      3,
      () => {
        freshX();
        e.gradOf(x);
        e.gradOf(dropout(x, 0.1, 7)).set(xData);
      },
    );
    add('dropout_bwd_f32', `${n}`, threads, s, `${((12 * n) / s / 1e9).toFixed(2)} GB/s`);
    e.endStep();

    // AdamW, grad norm, clipping over one flat parameter of n elements
    const p = e.parameter('w', xData, [n]);
    e.gradOf(p).set(xData);
    const state = new AdamWState(e);
    s = time(() => adamwStep([p], state, { lr: 1e-4 }), runs);
    add('adamw_f32', `${n}`, threads, s, `${((28 * n) / s / 1e9).toFixed(2)} GB/s`);
    s = time(() => gradNorm([p]), runs);
    add('grad_norm_f32', `${n}`, threads, s, `${((4 * n) / s / 1e9).toFixed(2)} GB/s`);
    s = time(
      () => clipGradNorm([p], 1e-3),
      runs,
      3,
      () => p.grad!.set(xData),
    ); // clips every call: norm + scale
    add('grad_norm_f32 + grad_scale_f32', `${n}`, threads, s, `${((12 * n) / s / 1e9).toFixed(2)} GB/s`);
    state.dispose();
    p.dispose();
    await e.dispose();
  }

  // plain JS alongside (one row block, fewer rows so it stays short)
  const Np = Math.min(N, 16);
  const g = new Float32Array(Np * V);
  let s = time(() => plainCrossEntropy(logitsData, labels, Np, V, null), 3, 1);
  add('plain-js cross-entropy fwd', `${Np}×${V}`, 'plain-js', s, `${((Np * V) / s / 1e9).toFixed(2)} G elem/s`);
  s = time(() => plainCrossEntropy(logitsData, labels, Np, V, g), 3, 1);
  add('plain-js cross-entropy fwd + grad', `${Np}×${V}`, 'plain-js', s, `${((Np * V) / s / 1e9).toFixed(2)} G elem/s`);

  console.table(rows);
  console.log(`wrote ${writeResults('loss', { runs, rows })}`);
}

const suite: Suite = {
  description: 'cross-entropy, dropout, AdamW, grad norm and clipping',
  kernels: [
    'cross_entropy_fwd_f32',
    'cross_entropy_bwd_f32',
    'dropout_fwd_f32',
    'dropout_bwd_f32',
    'adamw_f32',
    'grad_norm_f32',
    'grad_scale_f32',
  ],
  run,
};
export default suite;
