// The reference GPT (bench/engines/simdformer-gpt.ts) written in TensorFlow.js on its wasm backend, as
// a TF.js user would: variables, tf.variableGrads, tf.train.adam + decoupled weight decay (AdamW).
// Per the known limits of the wasm backend: the embedding is one-hot × matMul (tf.gather's backward
// needs UnsortedSegmentSum, which the wasm backend lacks); one-hot is made int32, then cast. Attention
// uses batched matMul (the slow path there: only plain 2-D matMul goes to XNNPACK). Generation re-runs
// the growing prefix each step (TF.js has no KV cache).
import * as tf from '@tensorflow/tfjs';
import { median, seededRandom } from '../harness.js';
import { randomBatch, REFERENCE } from './reference-gpt.js';
import { initTfjsWasm } from './tfjs-wasm.js';

interface Layer {
  ln1g: tf.Variable; ln1b: tf.Variable; attnW: tf.Variable; attnB: tf.Variable; projW: tf.Variable; projB: tf.Variable;
  ln2g: tf.Variable; ln2b: tf.Variable; fcW: tf.Variable; fcB: tf.Variable; outW: tf.Variable; outB: tf.Variable;
}

function makeModel(seed: number) {
  const { layers: L, dModel: C, ffn: F, context: T, vocab: V } = REFERENCE;
  const rand = seededRandom(seed);
  const normal = (shape: number[], std: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = Math.max(rand(), 1e-12);
      const r = Math.sqrt(-2 * Math.log(u)) * std;
      a[i] = r * Math.cos(2 * Math.PI * rand());
      if (i + 1 < n) a[i + 1] = r * Math.sin(2 * Math.PI * rand());
    }
    return tf.variable(tf.tensor(a, shape));
  };
  const zeros = (shape: number[]) => tf.variable(tf.zeros(shape));
  const ones = (shape: number[]) => tf.variable(tf.ones(shape));
  const resid = 0.02 / Math.sqrt(2 * L);
  const layers: Layer[] = Array.from({ length: L }, () => ({
    ln1g: ones([C]), ln1b: zeros([C]), attnW: normal([C, 3 * C], 0.02), attnB: zeros([3 * C]), projW: normal([C, C], resid), projB: zeros([C]),
    ln2g: ones([C]), ln2b: zeros([C]), fcW: normal([C, F], 0.02), fcB: zeros([F]), outW: normal([F, C], resid), outB: zeros([C]),
  }));
  return { wte: normal([V, C], 0.02), wpe: normal([T, C], 0.02), layers, lnfG: ones([C]), lnfB: zeros([C]) };
}
type Model = ReturnType<typeof makeModel>;

function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).div(variance.add(1e-5).sqrt()).mul(g).add(b) as tf.Tensor2D;
}

const geluTanh = (x: tf.Tensor) => x.mul(tf.tanh(x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1)).mul(0.5);

/** Logits [B·T, V] for ids [B·T] (int32). */
function forward(m: Model, ids: tf.Tensor1D, B: number, T: number): tf.Tensor2D {
  const { dModel: C, heads: H, vocab: V } = REFERENCE;
  const D = C / H;
  const onehot = tf.oneHot(ids, V).cast('float32') as tf.Tensor2D; // (B·T, V)
  const pos = tf.tile(m.wpe.slice([0, 0], [T, C]), [B, 1]) as tf.Tensor2D;
  let x = tf.matMul(onehot, m.wte as tf.Tensor2D).add(pos) as tf.Tensor2D; // (B·T, C)
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0).sub(1).mul(1e9); // 0 on/below the diagonal, −1e9 above
  for (const l of m.layers) {
    const h = layerNorm(x, l.ln1g, l.ln1b);
    const qkv = tf.matMul(h, l.attnW as tf.Tensor2D).add(l.attnB).reshape([B, T, 3, H, D]).transpose([2, 0, 3, 1, 4]); // (3, B, H, T, D)
    const [q, k, v] = tf.unstack(qkv) as tf.Tensor4D[];
    const scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(D)).add(mask); // (B, H, T, T)
    const att = tf.matMul(tf.softmax(scores), v).transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D;
    x = x.add(tf.matMul(att, l.projW as tf.Tensor2D).add(l.projB)) as tf.Tensor2D;
    const h2 = layerNorm(x, l.ln2g, l.ln2b);
    const f = geluTanh(tf.matMul(h2, l.fcW as tf.Tensor2D).add(l.fcB)) as tf.Tensor2D;
    x = x.add(tf.matMul(f, l.outW as tf.Tensor2D).add(l.outB)) as tf.Tensor2D;
  }
  return tf.matMul(layerNorm(x, m.lnfG, m.lnfB), m.wte as tf.Tensor2D, false, true);
}

export interface TfjsGptMeasurement {
  threads: number;
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  initialLoss: number;
  finalLoss: number;
  note: string;
}

/** Trains `steps` steps (median step time after 2 warm-up steps) and greedily generates 128 tokens after a 16-token prompt. */
export async function measureTfjsGpt(threads: number, opts: { steps?: number; newTokens?: number } = {}): Promise<TfjsGptMeasurement> {
  const { threads: running, cleanup } = await initTfjsWasm(threads, threads === 1 ? 'out-of-the-box' : 'threads-forced');
  const m = makeModel(0);
  const { batch: B, context: T, vocab: V } = REFERENCE;
  const lr = 3e-4;
  const wd = 0.01;
  const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const vars = [m.wte, m.wpe, m.lnfG, m.lnfB, ...m.layers.flatMap((l) => Object.values(l))];
  const steps = opts.steps ?? 8;
  const times: number[] = [];
  const losses: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const batch = randomBatch(s);
    const t0 = performance.now();
    const lossValue = tf.tidy(() => {
      const ids = tf.tensor1d(batch.inputIds, 'int32');
      const targets = tf.oneHot(tf.tensor1d(batch.targets, 'int32'), V).cast('float32');
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(targets, forward(m, ids, B, T)) as tf.Scalar, vars);
      for (const v of vars) v.assign(v.mul(1 - lr * wd)); // AdamW's decoupled decay
      optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      return value.dataSync()[0]!;
    });
    losses.push(lossValue);
    if (s >= 2) times.push(performance.now() - t0);
  }
  const newTokens = opts.newTokens ?? 128;
  const prompt = Array.from(randomBatch(99).inputIds.subarray(0, 16));
  const t0 = performance.now();
  const seq = [...prompt];
  for (let n = 0; n < newTokens; n++) {
    const window = seq.slice(-T);
    const next = tf.tidy(() => {
      const logits = forward(m, tf.tensor1d(window, 'int32'), 1, window.length);
      return logits.slice([window.length - 1, 0], [1, V]).argMax(-1).dataSync()[0]!;
    });
    seq.push(next);
  }
  const genSeconds = (performance.now() - t0) / 1000;
  cleanup();
  return {
    threads: running,
    trainTokensPerSecond: (B * T) / (median(times) / 1000),
    generateTokensPerSecond: newTokens / genSeconds,
    initialLoss: losses[0]!,
    finalLoss: losses[losses.length - 1]!,
    note: `tfjs ${tf.version_core} wasm (${running === 1 ? 'simd build, out of the box' : 'threaded-simd build, threads forced'}); no KV cache`,
  };
}

// npx tsx bench/engines/tfjs-gpt.ts --threads 1
if (process.argv[1]?.endsWith('tfjs-gpt.ts')) {
  const i = process.argv.indexOf('--threads');
  const threads = i > 0 ? Number(process.argv[i + 1]) : 1;
  console.log(await measureTfjsGpt(threads, { steps: 3, newTokens: 16 }));
  process.exit(0);
}
