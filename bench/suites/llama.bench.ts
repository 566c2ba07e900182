// LLaMA against GPT, and a SmolLM2-135M-shaped model against PyTorch.
//
// compare: the reference GPT (bench/engines/reference-gpt.ts: 4 layers, d_model 128, 4 heads, FFN 512, context
//   128, 256 byte ids, batch 8; 842,496 parameters) beside its LLaMA counterpart (`pretrain llama`'s defaults:
//   4 heads of which 2 key/value heads, SwiGLU 398, rotary positions, RMSNorm, tied head; 841,856 parameters),
//   same protocol (bench/engines/simdformer-gpt.ts measureCausal): training tokens/s = 8·128 / median step
//   (forward + backward + AdamW), generation tokens/s = 128 new tokens / (16-token prompt + 128 greedy steps).
// smollm2: SmolLM2-135M's shape (hidden 576, 30 layers, 9 heads, 3 KV heads, SwiGLU 1536, vocab 49,152, tied,
//   rope_theta 100,000; 134.5 M parameters) with seeded random weights written in Hugging Face's names, loaded
//   by loadModel; greedy generation with the KV cache (16-token prompt + 32 new tokens: tokens/s, and the cached
//   step alone), one full training step (AdamW, batch 1 × 128 tokens: the median of steps 2 and 3) or the
//   OutOfMemoryError it gives; beside the same folder in PyTorch (bench/engines/torch-llama.py) when python3
//   has torch, at the same thread counts: speed ratios, and agreement (greedy tokens, first logits, losses).
// brown: `pretrain gpt` and `pretrain llama` (their defaults, --lr if given) on the Brown corpus for --steps each:
//   held-out loss and bits per byte at equal tokens (step · 8 · 128), and training tokens/s.
//
//   npm run bench -- llama [--part compare,smollm2,brown] [--threads 1,2] [--steps 1000] [--lr 3e-4] [--python python3]
// Results: bench/results/llama.json (compare), llama-smollm2.json, llama-brown.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OutOfMemoryError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import type { LlamaConfig } from '../../src/io/hf/index.js';
import { writeSafetensors, type NamedTensor } from '../../src/io/safetensors.js';
import { GPT } from '../../src/models/gpt.js';
import { Llama } from '../../src/models/llama.js';
import { asCausalLM, loadModel } from '../../src/models/load.js';
import {
  GPT_PRETRAIN_DEFAULTS,
  LLAMA_PRETRAIN_DEFAULTS,
  llamaConfig,
  pretrainGpt,
  type EvalResult,
} from '../../src/recipes/pretrain-gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { measureCausal, referenceConfig, type GptMeasurement } from '../engines/simdformer-gpt.js';
import {
  answerParent,
  BENCH_DIR,
  childJob,
  median,
  printTable,
  runInChild,
  seededRandom,
  type Suite,
  writeResults,
} from '../harness.js';

// ------------------------------------------------------------------------------------------ compare

type CompareJob = { part: 'compare'; family: 'gpt' | 'llama'; threads: number };
type CompareRow = GptMeasurement & { family: string; parameters: number };

async function compareJob(job: CompareJob): Promise<CompareRow> {
  const engine = await Engine.create({ threads: job.threads });
  const model =
    job.family === 'gpt'
      ? new GPT(engine, referenceConfig(), 0)
      : new Llama(engine, llamaConfig(LLAMA_PRETRAIN_DEFAULTS, 256, null), 0);
  const parameters = model.parameters().reduce((s, t) => s + t.size, 0);
  const r = await measureCausal(model);
  await engine.dispose();
  return { family: job.family, parameters, ...r };
}

async function compare(threads: number[]): Promise<Record<string, unknown>> {
  const rows: CompareRow[] = [];
  for (const t of threads)
    for (const family of ['gpt', 'llama'] as const)
      rows.push(await runChild<CompareRow>({ part: 'compare', family, threads: t } satisfies CompareJob));
  printTable(rows, [
    { title: 'model', value: (r) => r.family },
    { title: 'parameters', value: (r) => r.parameters.toLocaleString('en-US') },
    { title: 'threads', value: (r) => r.threads },
    { title: 'train tok/s', value: (r) => Math.round(r.trainTokensPerSecond) },
    { title: 'generate tok/s', value: (r) => Math.round(r.generateTokensPerSecond) },
    { title: 'cached step tok/s', value: (r) => Math.round(r.cachedStepTokensPerSecond) },
    { title: 'loss first→last', value: (r) => `${r.initialLoss.toFixed(3)}→${r.finalLoss.toFixed(3)}` },
  ]);
  const ratios = threads.map((t) => {
    const [g, l] = (['gpt', 'llama'] as const).map((f) => rows.find((r) => r.family === f && r.threads === t)!);
    return {
      threads: t,
      trainLlamaOverGpt: l!.trainTokensPerSecond / g!.trainTokensPerSecond,
      generateLlamaOverGpt: l!.generateTokensPerSecond / g!.generateTokensPerSecond,
    };
  });
  console.log('\nLLaMA / GPT at equal parameters:');
  printTable(ratios, [
    { title: 'threads', value: (r) => r.threads },
    { title: 'train', value: (r) => r.trainLlamaOverGpt },
    { title: 'generate', value: (r) => r.generateLlamaOverGpt },
  ]);
  return { rows, ratios };
}

// ------------------------------------------------------------------------------------------ smollm2

/** config.json of SmolLM2-135M (HuggingFaceTB), float32. */
const SMOLLM2 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rope_theta: 100000,
  rope_scaling: null,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
  initializer_range: 0.041666666666666664,
  hidden_act: 'silu',
  bos_token_id: 0,
  eos_token_id: 0,
  torch_dtype: 'float32',
};
const PROMPT = Array.from({ length: 16 }, (_, i) => (i * 7919 + 11) % SMOLLM2.vocab_size);
const NEW_TOKENS = 32;
const TRAIN = Array.from({ length: 129 }, (_, i) => (i * 104_729 + 7) % SMOLLM2.vocab_size);

/** Seeded random weights in LlamaForCausalLM's names: N(0, initializer_range), norms 1 (as _init_weights). */
function writeSmolLM2(dir: string): number {
  const c = parseConfig(SMOLLM2) as LlamaConfig;
  const u = seededRandom(1);
  const normal = (n: number, std: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - u())) * std;
      const t = 2 * Math.PI * u();
      a[i] = r * Math.cos(t);
      if (i + 1 < n) a[i + 1] = r * Math.sin(t);
    }
    return a;
  };
  const std = c.initializer_range;
  const [C, F, D] = [c.hidden_size, c.intermediate_size, c.head_dim];
  const tensors: NamedTensor[] = [];
  const add = (name: string, shape: number[], ones = false) => {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, data: ones ? new Float32Array(n).fill(1) : normal(n, std) });
  };
  add('model.embed_tokens.weight', [c.vocab_size, C]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.self_attn.q_proj.weight`, [c.num_attention_heads * D, C]);
    add(`${p}.self_attn.k_proj.weight`, [c.num_key_value_heads * D, C]);
    add(`${p}.self_attn.v_proj.weight`, [c.num_key_value_heads * D, C]);
    add(`${p}.self_attn.o_proj.weight`, [C, c.num_attention_heads * D]);
    add(`${p}.mlp.gate_proj.weight`, [F, C]);
    add(`${p}.mlp.up_proj.weight`, [F, C]);
    add(`${p}.mlp.down_proj.weight`, [C, F]);
    add(`${p}.input_layernorm.weight`, [C], true);
    add(`${p}.post_attention_layernorm.weight`, [C], true);
  }
  add('model.norm.weight', [C], true);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(SMOLLM2, null, 2));
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors));
  return tensors.reduce((s, t) => s + t.data.length, 0);
}

type SmolJob = { part: 'smollm2'; threads: number; dir: string };
interface SmolRow {
  engine: string;
  threads: number;
  loadSeconds: number;
  generateTokensPerSecond: number;
  cachedStepTokensPerSecond: number;
  tokens: number[];
  firstLogits: number[];
  trainStepSeconds?: number;
  trainTokensPerSecond?: number;
  trainLosses?: number[];
  trainError?: string;
  memoryMiB?: number;
}

async function smolJob(job: SmolJob): Promise<SmolRow> {
  const engine = await Engine.create({ threads: job.threads });
  const t0 = performance.now();
  const model = asCausalLM(await loadModel(engine, job.dir));
  const loadSeconds = (performance.now() - t0) / 1000;
  const V = model.vocabSize;
  const logits = engine.noGrad(() => model.forward({ inputIds: [PROMPT] }).logits.toArray());
  engine.endStep();
  const firstLogits = Array.from(logits.subarray((PROMPT.length - 1) * V, (PROMPT.length - 1) * V + 8));
  let tokens: number[] = [];
  let total = 0;
  const steps: number[] = [];
  for (let r = 0; r < 2; r++) {
    tokens = [];
    const start = performance.now();
    let last = start;
    for await (const id of model.generate(PROMPT, { maxNewTokens: NEW_TOKENS })) {
      const now = performance.now();
      if (tokens.length > 0 && r === 1) steps.push(now - last);
      last = now;
      tokens.push(id);
    }
    total = performance.now() - start;
  }
  const row: SmolRow = {
    engine: 'simdformer',
    threads: engine.threads,
    loadSeconds,
    generateTokensPerSecond: NEW_TOKENS / (total / 1000),
    cachedStepTokensPerSecond: 1000 / median(steps),
    tokens,
    firstLogits,
  };
  try {
    const trainer = new Trainer(model, {
      lr: 1e-4,
      totalSteps: 3,
      warmup: 0,
      schedule: 'constant',
      weightDecay: 0,
      clip: 0,
    });
    const T = TRAIN.length - 1;
    const batch = { inputIds: Int32Array.from(TRAIN.slice(0, T)), labels: Int32Array.from(TRAIN.slice(1)), B: 1, T };
    const times: number[] = [];
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      const t = performance.now();
      losses.push(trainer.step(batch).loss);
      times.push(performance.now() - t);
    }
    const seconds = (times[1]! + times[2]!) / 2 / 1000;
    Object.assign(row, { trainStepSeconds: seconds, trainTokensPerSecond: T / seconds, trainLosses: losses });
  } catch (err) {
    if (!(err instanceof OutOfMemoryError)) throw err;
    row.trainError = err.message;
  }
  row.memoryMiB = engine.runtime.arena.highWater / 2 ** 20;
  await engine.dispose();
  return row;
}

/** A python3 with torch, or undefined. */
function findTorch(preferred?: string): string | undefined {
  for (const py of preferred ? [preferred] : ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

function torchRow(python: string, dir: string, threads: number): SmolRow {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  const args = [
    join(BENCH_DIR, 'engines', 'torch-llama.py'),
    dir,
    String(threads),
    PROMPT.join(','),
    String(NEW_TOKENS),
    TRAIN.join(','),
  ];
  const r = spawnSync(python, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`torch-llama.py failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
  return { engine: 'pytorch', ...(JSON.parse(r.stdout) as Omit<SmolRow, 'engine'>) };
}

async function smollm2(threads: number[], python?: string): Promise<Record<string, unknown>> {
  const dir = join(tmpdir(), `simdformer-smollm2-135m-${process.pid}`);
  try {
    const parameters = writeSmolLM2(dir);
    console.log(`SmolLM2-135M shape: ${parameters.toLocaleString('en-US')} parameters (random, seeded) in ${dir}`);
    const py = findTorch(python);
    if (!py) console.log('python3 with torch not found: PyTorch left out (apt-get install python3-torch)');
    const rows: SmolRow[] = [];
    for (const t of threads) {
      rows.push(await runChild<SmolRow>({ part: 'smollm2', threads: t, dir } satisfies SmolJob));
      if (py) rows.push(torchRow(py, dir, t));
    }
    printTable(rows, [
      { title: 'engine', value: (r) => r.engine },
      { title: 'threads', value: (r) => r.threads },
      { title: 'load s', value: (r) => r.loadSeconds, digits: 1 },
      { title: 'generate tok/s', value: (r) => r.generateTokensPerSecond },
      { title: 'cached step tok/s', value: (r) => r.cachedStepTokensPerSecond },
      { title: 'train step s', value: (r) => r.trainStepSeconds ?? r.trainError, digits: 1 },
      { title: 'train tok/s', value: (r) => r.trainTokensPerSecond, digits: 1 },
      { title: 'memory MiB', value: (r) => r.memoryMiB, digits: 0 },
    ]);
    const ours = rows.filter((r) => r.engine === 'simdformer');
    const agreement = rows
      .filter((r) => r.engine === 'pytorch')
      .map((p) => {
        const s = ours.find((r) => r.threads === p.threads)!;
        let same = 0;
        while (same < s.tokens.length && s.tokens[same] === p.tokens[same]) same++;
        return {
          threads: p.threads,
          generateOverPyTorch: s.generateTokensPerSecond / p.generateTokensPerSecond,
          cachedStepOverPyTorch: s.cachedStepTokensPerSecond / p.cachedStepTokensPerSecond,
          trainOverPyTorch:
            s.trainTokensPerSecond && p.trainTokensPerSecond
              ? s.trainTokensPerSecond / p.trainTokensPerSecond
              : undefined,
          greedyTokensAgreeing: `${same} of ${s.tokens.length}`,
          firstLogitsMaxDiff: Math.max(...s.firstLogits.map((x, i) => Math.abs(x - p.firstLogits[i]!))),
          firstLossDiff: s.trainLosses && p.trainLosses ? Math.abs(s.trainLosses[0]! - p.trainLosses[0]!) : undefined,
        };
      });
    if (agreement.length > 0) {
      console.log('\nsimdformer / PyTorch, same weights and threads:');
      printTable(agreement, [
        { title: 'threads', value: (r) => r.threads },
        { title: 'generate', value: (r) => r.generateOverPyTorch },
        { title: 'cached step', value: (r) => r.cachedStepOverPyTorch },
        { title: 'train', value: (r) => r.trainOverPyTorch },
        { title: 'greedy tokens equal', value: (r) => r.greedyTokensAgreeing },
        { title: 'max |Δ first logits|', value: (r) => r.firstLogitsMaxDiff.toExponential(1) },
        { title: '|Δ first loss|', value: (r) => r.firstLossDiff?.toExponential(1) },
      ]);
    }
    return { parameters, config: SMOLLM2, rows, agreement };
  } finally {
    if (existsSync(dir)) rmSync(dir, { recursive: true });
  }
}

// ------------------------------------------------------------------------------------------ brown

async function brown(steps: number, threads: number, lr?: number): Promise<Record<string, unknown>> {
  const runs: Record<string, { evals: EvalResult[]; seconds: number; tokensPerSecond: number }> = {};
  for (const [family, defaults] of [
    ['gpt', GPT_PRETRAIN_DEFAULTS],
    ['llama', LLAMA_PRETRAIN_DEFAULTS],
  ] as const) {
    const out = join(tmpdir(), `simdformer-brown-${family}-${process.pid}`);
    const engine = await Engine.create({ threads });
    const evals: EvalResult[] = [];
    try {
      const r = await pretrainGpt(engine, {
        ...defaults,
        ...(lr !== undefined && { lr }),
        data: 'brown',
        out,
        steps,
        evalEvery: Math.max(1, Math.round(steps / 4)),
        checkpointEvery: 0,
        onEval: (ev) => evals.push(ev),
      });
      const tokens = steps * defaults.batch * defaults.context;
      runs[family] = { evals, seconds: r.seconds, tokensPerSecond: tokens / r.seconds };
    } finally {
      await engine.dispose();
      rmSync(out, { recursive: true, force: true });
    }
  }
  const rows = runs.gpt!.evals.map((g, i) => {
    const l = runs.llama!.evals[i]!;
    const tokens = g.step * GPT_PRETRAIN_DEFAULTS.batch * GPT_PRETRAIN_DEFAULTS.context;
    return { step: g.step, tokens, gptLoss: g.loss, llamaLoss: l.loss, gptBpb: g.bitsPerByte, llamaBpb: l.bitsPerByte };
  });
  printTable(rows, [
    { title: 'step', value: (r) => r.step },
    { title: 'tokens', value: (r) => r.tokens.toLocaleString('en-US') },
    { title: 'GPT held-out loss', value: (r) => r.gptLoss, digits: 3 },
    { title: 'LLaMA held-out loss', value: (r) => r.llamaLoss, digits: 3 },
    { title: 'GPT bits/byte', value: (r) => r.gptBpb, digits: 3 },
    { title: 'LLaMA bits/byte', value: (r) => r.llamaBpb, digits: 3 },
  ]);
  for (const [f, r] of Object.entries(runs))
    console.log(`${f}: ${Math.round(r.tokensPerSecond)} tokens/s over the run (${r.seconds.toFixed(0)} s)`);
  return { steps, threads, lr: lr ?? GPT_PRETRAIN_DEFAULTS.lr, rows, runs };
}

// ------------------------------------------------------------------------------------------ suite

type Job = CompareJob | SmolJob;

const runChild = <T>(job: Job): Promise<T> => runInChild<T>('llama', job);

const suite: Suite = {
  description:
    'LLaMA vs GPT at equal parameters (tokens/s, 1 and 2 threads); SmolLM2-135M shape vs PyTorch; Brown loss',
  async run(args) {
    const job = childJob<Job>(args);
    if (job !== undefined) {
      await answerParent(() => (job.part === 'compare' ? compareJob(job) : smolJob(job)));
      return;
    }
    const { values } = parseArgs({
      args,
      options: {
        part: { type: 'string' },
        threads: { type: 'string' },
        steps: { type: 'string' },
        python: { type: 'string' },
        lr: { type: 'string' },
      },
      strict: true,
    });
    const parts = (values.part ?? 'compare,smollm2').split(',');
    const threads = (values.threads ?? `1,${Math.min(2, os.availableParallelism())}`).split(',').map(Number);
    // one results file per part: llama.json (compare), llama-smollm2.json, llama-brown.json
    if (parts.includes('compare')) console.log(`wrote ${writeResults('llama', await compare(threads))}`);
    if (parts.includes('smollm2'))
      console.log(`wrote ${writeResults('llama-smollm2', await smollm2(threads, values.python))}`);
    if (parts.includes('brown')) {
      const lr = values.lr === undefined ? undefined : Number(values.lr);
      const r = await brown(Number(values.steps ?? 1000), threads[threads.length - 1]!, lr);
      console.log(`wrote ${writeResults('llama-brown', r)}`);
    }
  },
};

export default suite;
