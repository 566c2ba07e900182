// simdformer's side of the real-size-train suite: full fine-tuning steps of GPT-2 small (causal LM) and
// BERT-base (sequence classification) with the published configs and random weights, with and without
// gradient checkpointing. One process per measurement (the suite runs this in a child), so the engine's peak
// memory is this measurement's alone.
import { cpuUsage } from 'node:process';
import { parseConfig } from '../../src/io/config.js';
import type { BertBatch } from '../../src/models/bert.js';
import type { LmBatch } from '../../src/models/gpt.js';
import { createModel } from '../../src/models/registry.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { PUBLISHED, tokenIds, type PublishedName } from './real-size-models.js';

/** Dropout off on both sides (the PyTorch side has none), so that the 50-step losses can be compared. */
const NO_DROPOUT = {
  resid_pdrop: 0,
  embd_pdrop: 0,
  attn_pdrop: 0,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  classifier_dropout: 0,
};

export type TrainTask = 'gpt2' | 'bert';

export const TRAIN_TASKS: Record<TrainTask, { model: PublishedName; what: string; batch: number; seq: number }> = {
  gpt2: { model: 'gpt2', what: 'causal LM step', batch: 4, seq: 256 },
  bert: { model: 'bert-base-uncased', what: 'sequence classification step (2 labels)', batch: 16, seq: 128 },
};

export interface TrainJob {
  task: TrainTask;
  threads: number;
  checkpointing: boolean;
  batch: number;
  seq: number;
  /** Timed steps (after one untimed warm-up step). */
  steps: number;
  /** Loss trajectory mode: this many steps on the batches of `batchFor`, losses returned, no timing. */
  lossSteps?: number;
  /** Save the initial weights into this folder (model.save: Hugging Face names) for the PyTorch side to load. */
  weightsOut?: string;
  lr?: number;
}

export interface TrainMeasurement {
  /** Wall ms of each timed step, and its process CPU ms. */
  ms: number[];
  cpuMs: number[];
  /** Engine memory: peak bytes in use over the run (parameters, gradients, AdamW state, activations, scratch). */
  peakBytes: number;
  /** Of which persistent before the first step (parameters). */
  parameterBytes: number;
  /** The linear memory's size at the end (what the engine committed). */
  memoryBytes: number;
  losses: number[];
  error?: string;
}

/**
 * Batch `step` of a task: token ids from a fixed LCG (the same ones the PyTorch side reads from the job's
 * JSON). GPT-2: labels = inputs (the model shifts); BERT: label = step·B + row parity.
 */
export function batchIds(
  task: TrainTask,
  batch: number,
  seq: number,
  step: number,
): { ids: number[]; labels: number[] } {
  const vocab = task === 'gpt2' ? 50257 : 30522;
  const ids = tokenIds(batch * seq, vocab, 1000 + step);
  const labels = task === 'gpt2' ? ids : Array.from({ length: batch }, (_, i) => (ids[i * seq]! + i) % 2);
  return { ids, labels };
}

function pick(type: string): Record<string, number> {
  const keys = type === 'gpt2' ? ['resid_pdrop', 'embd_pdrop', 'attn_pdrop'] : Object.keys(NO_DROPOUT).slice(3);
  return Object.fromEntries(keys.map((k) => [k, NO_DROPOUT[k as keyof typeof NO_DROPOUT]]));
}

function makeBatch(task: TrainTask, B: number, T: number, step: number): LmBatch | BertBatch {
  const { ids, labels } = batchIds(task, B, T, step);
  if (task === 'gpt2') {
    // labels[t] = next token (Hugging Face shifts inside; this engine's loss takes them shifted), last: ignored
    const lab = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) lab[b * T + t] = t + 1 < T ? ids[b * T + t + 1]! : -100;
    return { inputIds: Int32Array.from(ids), labels: lab, B, T };
  }
  return { inputIds: Int32Array.from(ids), labels: Int32Array.from(labels), B, T };
}

export async function measureTraining(job: TrainJob): Promise<TrainMeasurement> {
  const engine = await Engine.create({ threads: job.threads });
  const json = PUBLISHED[TRAIN_TASKS[job.task].model];
  const model = createModel(engine, parseConfig({ ...json, ...pick(json.model_type) }), 42);
  if (job.weightsOut) await model.save(job.weightsOut);
  const parameterBytes = engine.memoryStats().persistentBytes;
  const trainer = new Trainer(model as never, {
    lr: job.lr ?? 1e-4,
    totalSteps: 1_000_000,
    schedule: 'constant',
    clip: 1,
    weightDecay: 0,
    gradientCheckpointing: job.checkpointing,
  });
  const out: TrainMeasurement = { ms: [], cpuMs: [], peakBytes: 0, parameterBytes, memoryBytes: 0, losses: [] };
  engine.resetPeak();
  try {
    const n = job.lossSteps ?? job.steps + 1;
    for (let s = 0; s < n; s++) {
      const batch = makeBatch(job.task, job.batch, job.seq, job.lossSteps ? s : 0);
      const c0 = cpuUsage();
      const t0 = performance.now();
      const r = trainer.step(batch);
      const ms = performance.now() - t0;
      const c = cpuUsage(c0);
      out.losses.push(r.loss);
      if (!job.lossSteps && s > 0) {
        out.ms.push(ms);
        out.cpuMs.push((c.user + c.system) / 1e3);
      }
    }
  } catch (err) {
    out.error = (err as Error).message;
  }
  const stats = engine.memoryStats();
  out.peakBytes = stats.peakBytes;
  out.memoryBytes = stats.memoryBytes;
  await engine.dispose();
  return out;
}
