// LoRA fine-tuning where full fine-tuning does not fit (issue #18): one LoRA training step (r 8, alpha 16,
// dropout 0, PEFT's default targets: gpt2 c_attn, llama q_proj + v_proj; forward, backward, clipping, AdamW over
// the adapters; model dropout off on both sides) of GPT-2 small and medium (published configs) and a SmolLM2-135M-shaped LLaMA (hidden 576,
// 30 layers, 9 heads, 3 KV heads, SwiGLU 1536, vocab 49,152, tied, rope_theta 100,000), random weights, batch
// B × T random ids; beside PyTorch 1.13 doing the same step with LoRA written by hand
// (bench/engines/torch-lora.py: no peft, no transformers), each engine and model in its own process.
//   tokens/s      = B·T / median wall time of a step (after one warm-up step); "CPU" columns: over process CPU
//                   time (all threads), steadier on a shared machine
//   engine MiB    = the engine's memory high-water mark (arena.highWater: weights, adapters, their gradients
//                   and AdamW state, the step's activations); process MiB = peak resident set (both sides)
// By default without gradient checkpointing (activations of the whole step held until backward);
// --gradient-checkpointing recomputes each block in backward (simdformer's side; PyTorch's keeps its activations).
//
//   npm run bench -- lora [--models gpt2,smollm2,gpt2-medium] [--threads 2] [--batch 4] [--seq 256] [--runs 1]
//                         [--gradient-checkpointing] [--no-pytorch]
// Results: bench/results/lora-<batch>x<seq>[-checkpointing].json.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../src/io/config.js';
import type { LmBatch } from '../../src/models/gpt.js';
import { asCausalLM } from '../../src/models/load.js';
import { applyLora } from '../../src/models/lora.js';
import { createModel } from '../../src/models/registry.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { pythonWithTorch } from '../engines/pytorch-real-size.js';
import { PUBLISHED } from '../engines/real-size-models.js';
import {
  answerParent,
  BENCH_DIR,
  childJob,
  machine,
  median,
  printTable,
  runInChild,
  type Suite,
  writeResults,
} from '../harness.js';

/** GPT-2's dropout off (the PyTorch side has none): the step's work is the same on both sides. */
const NO_DROPOUT = { resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };
const MODELS = {
  gpt2: { ...PUBLISHED.gpt2, ...NO_DROPOUT },
  'gpt2-medium': { ...PUBLISHED['gpt2-medium'], ...NO_DROPOUT },
  smollm2: {
    model_type: 'llama',
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    vocab_size: 49152,
    max_position_embeddings: 8192,
    rope_theta: 100000,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    initializer_range: 0.041666666666666664,
    bos_token_id: 0,
    eos_token_id: 0,
  },
} as const;
type ModelName = keyof typeof MODELS;

interface Job {
  model: ModelName;
  threads: number;
  batch: number;
  seq: number;
  runs: number;
  checkpointing: boolean;
}

interface Measured {
  stepsMs: number[];
  cpuMs: number[];
  losses: number[];
  engineMiB?: number;
  processMiB: number;
  trainable: number;
  error?: string;
}

/** n ids in [0, vocab) from a small LCG. */
function ids(n: number, vocab: number, seed: number): Int32Array {
  let s = seed >>> 0 || 1;
  return Int32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

async function measureSimdformer(job: Job): Promise<Measured> {
  const engine = await Engine.create({ threads: job.threads });
  try {
    const config = parseConfig({ ...MODELS[job.model] });
    const model = asCausalLM(createModel(engine, config, 0));
    const lora = applyLora(model, { r: 8, alpha: 16, dropout: 0 });
    const trainer = new Trainer(lora.trainable(model), {
      lr: 1e-4,
      totalSteps: 100,
      weightDecay: 0,
      clip: 1,
      gradientCheckpointing: job.checkpointing,
    });
    const { batch: B, seq: T } = job;
    const vocab = model.vocabSize;
    const stream = ids(B * (T + 1), vocab, 1);
    const inputIds = new Int32Array(B * T);
    const labels = new Int32Array(B * T);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        inputIds[b * T + t] = stream[b * (T + 1) + t]!;
        labels[b * T + t] = stream[b * (T + 1) + t + 1]!;
      }
    const batch: LmBatch = { inputIds, labels, B, T };
    const out: Measured = { stepsMs: [], cpuMs: [], losses: [], processMiB: 0, trainable: lora.summary().trainable };
    for (let i = 0; i <= job.runs; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = trainer.step(batch);
      const c = process.cpuUsage(c0);
      out.losses.push(r.loss);
      if (i > 0) {
        out.stepsMs.push(performance.now() - t0);
        out.cpuMs.push((c.user + c.system) / 1e3);
      }
    }
    out.engineMiB = engine.runtime.arena.highWater / 2 ** 20;
    out.processMiB = process.resourceUsage().maxRSS / 1024;
    return out;
  } catch (e) {
    return {
      stepsMs: [],
      cpuMs: [],
      losses: [],
      processMiB: process.resourceUsage().maxRSS / 1024,
      trainable: 0,
      error: `${(e as Error).name}: ${(e as Error).message}`,
      engineMiB: engine.runtime.arena.highWater / 2 ** 20,
    };
  } finally {
    await engine.dispose();
  }
}

function measurePyTorch(python: string, job: Job): Measured {
  const args = [join(BENCH_DIR, 'engines', 'torch-lora.py'), '--model', job.model, '--threads', String(job.threads)];
  args.push('--batch', String(job.batch), '--seq', String(job.seq), '--runs', String(job.runs));
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(job.threads), OMP_NUM_THREADS: String(job.threads) };
  const r = spawnSync(python, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    return {
      stepsMs: [],
      cpuMs: [],
      losses: [],
      processMiB: 0,
      trainable: 0,
      error: r.stderr.trim().split('\n').pop(),
    };
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    steps_ms: number[];
    cpu_ms: number[];
    losses: number[];
    max_rss_mib: number;
    trainable: number;
  };
  return { stepsMs: j.steps_ms, cpuMs: j.cpu_ms, losses: j.losses, processMiB: j.max_rss_mib, trainable: j.trainable };
}

interface Row {
  model: string;
  threads: number;
  tokens: number;
  trainable: number;
  simdformer?: number;
  pytorch?: number;
  ratio?: number;
  simdformerCpu?: number;
  pytorchCpu?: number;
  ratioCpu?: number;
  engineMiB?: number;
  processMiB?: number;
  pytorchMiB?: number;
  note?: string;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      models: { type: 'string', default: 'gpt2,smollm2,gpt2-medium' },
      threads: { type: 'string' },
      batch: { type: 'string', default: '4' },
      seq: { type: 'string', default: '256' },
      runs: { type: 'string', default: '1' },
      'gradient-checkpointing': { type: 'boolean' },
      'no-pytorch': { type: 'boolean' },
    },
    strict: true,
  });
  const m = machine();
  const models = values.models.split(',') as ModelName[];
  for (const name of models)
    if (!(name in MODELS)) throw new Error(`unknown model ${name}: ${Object.keys(MODELS).join(', ')}`);
  const threadCounts = (values.threads ?? String(m.cores)).split(',').map(Number);
  const py = values['no-pytorch'] ? { error: '--no-pytorch' } : pythonWithTorch();
  console.log(`lora: ${m.cpu}, ${m.cores} logical cores, Node ${m.node}, load average ${m.loadavg.join(' ')}`);
  console.log(`PyTorch: ${'error' in py ? `not measured (${py.error})` : `${py.torch} (${py.python})`}`);
  const rows: Row[] = [];
  const raw: Record<string, unknown>[] = [];
  for (const model of models)
    for (const threads of threadCounts) {
      const job: Job = {
        model,
        threads,
        batch: Number(values.batch),
        seq: Number(values.seq),
        runs: Number(values.runs),
        checkpointing: values['gradient-checkpointing'] === true,
      };
      const tokens = job.batch * job.seq;
      const s = await runInChild<Measured>('lora', job);
      const p = 'error' in py ? undefined : measurePyTorch(py.python, job);
      raw.push({ job, simdformer: s, pytorch: p });
      const rate = (ms: number[]) => (ms.length ? tokens / (median(ms) / 1e3) : undefined);
      const row: Row = {
        model,
        threads,
        tokens,
        trainable: s.trainable,
        simdformer: rate(s.stepsMs),
        pytorch: p && rate(p.stepsMs),
        simdformerCpu: rate(s.cpuMs),
        pytorchCpu: p && rate(p.cpuMs),
        engineMiB: s.engineMiB,
        processMiB: s.processMiB,
        pytorchMiB: p?.processMiB,
        note: [s.error, p?.error].filter(Boolean).join('; ') || undefined,
      };
      if (row.simdformer && row.pytorch) row.ratio = row.simdformer / row.pytorch;
      if (row.simdformerCpu && row.pytorchCpu) row.ratioCpu = row.simdformerCpu / row.pytorchCpu;
      rows.push(row);
      console.log(
        `${model} ${threads} thread(s): simdformer ${s.stepsMs.map((x) => x.toFixed(0)).join(', ')} ms (loss ${s.losses.map((x) => x.toFixed(3)).join(' → ')}), ` +
          `PyTorch ${p?.stepsMs.map((x) => x.toFixed(0)).join(', ') ?? '—'} ms (loss ${p?.losses.map((x) => x.toFixed(3)).join(' → ') ?? '—'})${row.note ? `; ${row.note}` : ''}`,
      );
    }
  console.log(
    `\nLoRA r 8 training step, batch ${values.batch} × ${values.seq}${values['gradient-checkpointing'] ? ', gradient checkpointing' : ''} (load average now ${machine().loadavg.join(' ')}):`,
  );
  printTable(rows, [
    { title: 'model', value: (r) => r.model },
    { title: 'threads', value: (r) => r.threads, digits: 0 },
    { title: 'adapter params', value: (r) => r.trainable, digits: 0 },
    { title: 'simdformer tok/s', value: (r) => r.simdformer, digits: 1 },
    { title: 'PyTorch tok/s', value: (r) => r.pytorch, digits: 1 },
    { title: 'ratio', value: (r) => r.ratio },
    { title: 'ratio (CPU time)', value: (r) => r.ratioCpu },
    { title: 'engine MiB', value: (r) => r.engineMiB, digits: 0 },
    { title: 'process MiB', value: (r) => r.processMiB, digits: 0 },
    { title: 'PyTorch MiB', value: (r) => r.pytorchMiB, digits: 0 },
    { title: 'note', value: (r) => r.note },
  ]);
  const path = writeResults(
    `lora-${values.batch}x${values.seq}${values['gradient-checkpointing'] ? '-checkpointing' : ''}`,
    {
      checkpointing: values['gradient-checkpointing'] === true,
      pytorch: 'error' in py ? null : py.torch,
      rows,
      raw,
    },
  );
  console.log(`\nresults: ${path}`);
}

const suite: Suite = {
  description: 'LoRA r=8 training step: GPT-2 small/medium, SmolLM2-135M shape; tokens/s and memory vs PyTorch',
  async run(args) {
    const job = childJob<Job>(args);
    if (job) return answerParent(() => measureSimdformer(job));
    await main(args);
  },
};
export default suite;
