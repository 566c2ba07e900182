/**
 * What every recipe shares: the option groups (the model's shape, the optimizer's schedule), the
 * `metrics.jsonl` writer, the evaluation and checkpoint cadence, and a wall-clock budget. A recipe takes
 * an Engine (its caller creates and disposes it) and writes its files with Node's fs: recipes are the
 * command line's back-ends, never exported by src/index.ts.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentError } from '../errors.js';
import { parseConfig } from '../io/config.js';
import { createModel } from '../models/registry.js';
import type { Seq2SeqModel } from '../models/load.js';
import type { Engine } from '../tensor/engine.js';

/** The shape of a model built from scratch. */
export interface ModelShape {
  layers: number;
  /** Model width (n_embd, hidden_size, d_model). */
  dModel: number;
  heads: number;
  /** Feed-forward width. */
  ffn: number;
}

/**
 * A T5 or BART of the given shape (encoder and decoder alike) over V ids, with random weights from
 * `seed`; `fields` are the other config.json fields (special ids, dropout, positions, activation).
 */
export function seq2seqModel(
  engine: Engine,
  family: 't5' | 'bart',
  shape: ModelShape,
  V: number,
  fields: Record<string, unknown>,
  seed: number,
): Seq2SeqModel {
  const { dModel, layers, heads, ffn } = shape;
  const config =
    family === 't5'
      ? { d_model: dModel, d_kv: dModel / heads, d_ff: ffn, num_layers: layers, num_heads: heads }
      : {
          d_model: dModel,
          encoder_layers: layers,
          decoder_layers: layers,
          encoder_attention_heads: heads,
          decoder_attention_heads: heads,
          encoder_ffn_dim: ffn,
          decoder_ffn_dim: ffn,
        };
  return createModel(
    engine,
    parseConfig({ model_type: family, vocab_size: V, ...config, ...fields }),
    seed,
  ) as Seq2SeqModel;
}

/** AdamW with warm-up and decay (Trainer options). */
export interface OptimChoice {
  batch: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warm-up steps. */
  warmup: number;
  /** Seed of initialisation, order, masks and noise. */
  seed: number;
  /** Recompute each block in backward instead of keeping its activations (TrainerOptions). Default false. */
  gradientCheckpointing?: boolean;
}

/** True at every `every`-th step (0: never) and at the last: when to evaluate, log or save. */
export const due = (every: number, step: number, last: boolean): boolean => (every > 0 && step % every === 0) || last;

/** `<dir>/metrics.jsonl`, one JSON object per line: started afresh, or appended to when a run resumes. */
export class MetricsLog {
  private constructor(readonly path: string) {}

  static async open(dir: string, append = false): Promise<MetricsLog> {
    await mkdir(dir, { recursive: true });
    const log = new MetricsLog(join(dir, 'metrics.jsonl'));
    if (!append) await writeFile(log.path, '');
    return log;
  }

  write(line: object): Promise<void> {
    return appendFile(this.path, JSON.stringify(line) + '\n');
  }
}

/**
 * A wall-clock budget over a schedule of `totalSteps`: the schedule runs on the larger of the steps taken
 * and the budget's used share of the steps, so its decay (and every cycle) ends on time on a slower
 * machine; `finished` once either runs out. Pass `trainer.learningRate(budget.position(step))` as the step's lr.
 */
export class TimeBudget {
  private readonly startedAt = performance.now();

  constructor(
    readonly seconds: number,
    readonly totalSteps: number,
  ) {
    if (!(seconds > 0)) throw new ArgumentError(`budgetSeconds must be > 0, got ${seconds}`);
  }

  position(step: number): number {
    const used = (performance.now() - this.startedAt) / 1000 / this.seconds;
    return Math.max(step, Math.floor(used * this.totalSteps));
  }

  finished(step: number): boolean {
    return this.position(step) >= this.totalSteps;
  }
}
