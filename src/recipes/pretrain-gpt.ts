/**
 * Training a causal language model end to end — GPT-2 or LLaMA (`family`), from scratch or, for
 * fine-tuning, from a checkpoint (`from`): corpus → tokenizer → windows → Trainer, with periodic evaluation
 * (loss, perplexity, bits per byte on held-out documents), metrics as JSON lines, atomic checkpoints
 * with optimizer state, and resume that continues the identical trajectory.
 */
import { join } from 'node:path';
import { packClm, type ClmWindows } from '../data/clm.js';
import { Rng } from '../rng.js';
import { splitByKey } from '../data/split.js';
import { loadTextDocuments, type TextDocument } from '../data/text.js';
import { ArgumentError } from '../errors.js';
import { parseConfig } from '../io/config.js';
import { type Gpt2Config, type LlamaConfig } from '../io/hf/index.js';
import { readCheckpoint, resolveCheckpointDir } from '../io/checkpoint.js';
import type { LmBatch } from '../models/gpt.js';
import { asCausalLM, modelFromCheckpoint, type CausalModel } from '../models/load.js';
import type { LoraSummary } from '../models/lora.js';
import { createModel } from '../models/registry.js';
import type { Engine } from '../tensor/engine.js';
import { trainBpe } from '../tokenizers/bpe.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import type { ScheduleName } from '../train/schedule.js';
import { Trainer, type StepResult } from '../train/trainer.js';
import { adapterSaveOptions, loraOf, loraRunText, saveLoraRun, type LoraChoice } from './lora-run.js';
import { restoreTrainingState, resumeFolder, SAVE_TOTAL_LIMIT, saveTrainingCheckpoint, startAfresh } from './resume.js';
import { due, MetricsLog, type ModelShape, type OptimChoice } from './run.js';

/** The causal families a run can build from scratch: GPT-2, or LLaMA (rotary, SwiGLU, RMSNorm, grouped-query). */
export type CausalFamily = 'gpt' | 'llama';

/**
 * With `lora` (fine-tuning the model of `from`), `out` holds the adapter in PEFT's layout at the end, and the
 * generations hold the adapter with its optimizer state: a resume takes the same `from` and `lora`.
 */
export interface GptPretrainOptions extends ModelShape, OptimChoice, LoraChoice {
  /** Which family a run from scratch builds. Default 'gpt'. (A run from a checkpoint keeps its family.) */
  family?: CausalFamily;
  /** LLaMA: key/value heads (grouped-query attention; divides heads). Default heads. */
  kvHeads?: number;
  /**
   * Start from this checkpoint's weights and tokenizer (fine-tuning; any causal family) instead of fresh
   * weights: the shape options and `tokenizer` are ignored, `context` is capped at the model's.
   */
  from?: string;
  /** 'brown', a text file, or a folder of text files. */
  data: string;
  out: string;
  /** 'bytes' (256 ids), 'bpe:<size>' (trained on the training documents), or a tokenizer.json path. */
  tokenizer: string;
  steps: number;
  schedule: ScheduleName;
  weightDecay: number;
  clip: number;
  context: number;
  /** Continue from the checkpoint in `out` (its weights, optimizer state and step). */
  resume: boolean;
  evalEvery: number;
  /** Validation windows per evaluation (at most). */
  evalWindows: number;
  /** Save a generation `checkpoint-<step>/` of `out` every N steps (0: at the end only). */
  checkpointEvery: number;
  /** Generations of `out` kept (the latest and the ones before it). */
  saveTotalLimit: number;
  logEvery: number;
  onStep?: (r: StepResult & { tokensPerSecond: number }) => void;
  onEval?: (r: EvalResult) => void;
  /** Called once the model and data are ready, before the first step (samples from the untrained model, say). */
  onStart?: (model: CausalModel, data: LmData) => Promise<void> | void;
}

export interface EvalResult {
  step: number;
  loss: number;
  perplexity: number;
  bitsPerByte: number;
}

export const GPT_PRETRAIN_DEFAULTS: Omit<GptPretrainOptions, 'data' | 'out'> = {
  tokenizer: 'bytes',
  steps: 1000,
  batch: 8,
  lr: 3e-4,
  warmup: 50,
  schedule: 'cosine',
  weightDecay: 0.01,
  clip: 1,
  context: 128,
  layers: 4,
  dModel: 128,
  heads: 4,
  ffn: 512,
  seed: 0,
  resume: false,
  evalEvery: 100,
  evalWindows: 64,
  checkpointEvery: 500,
  saveTotalLimit: SAVE_TOTAL_LIMIT,
  logEvery: 10,
};

/**
 * `pretrain llama`'s defaults: the reference GPT's LLaMA counterpart (4 layers, width 128, 4 heads, context
 * 128, byte ids) with 2 key/value heads and a SwiGLU width of 398, which gives it GPT's parameter count
 * (841,856 against 842,496 with 256 ids: no position table, no biases, three FFN matrices, tied head).
 */
export const LLAMA_PRETRAIN_DEFAULTS: Omit<GptPretrainOptions, 'data' | 'out'> = {
  ...GPT_PRETRAIN_DEFAULTS,
  family: 'llama',
  kvHeads: 2,
  ffn: 398,
};

export interface LmData {
  tokenizer: Tokenizer;
  train: ClmWindows;
  validation: ClmWindows;
  /** UTF-8 bytes per token of the validation text (for bits per byte). */
  bytesPerToken: number;
}

/** Documents → tokenizer (trained on the training side only) → windows of context + 1. */
export async function prepareLmData(docs: TextDocument[], tokenizerSpec: string, context: number): Promise<LmData> {
  const split = splitByKey(docs, (d) => d.id, { train: 0.95, validation: 0.05, test: 0 });
  if (split.validation.length === 0) split.validation.push(split.train.pop()!);
  if (split.train.length === 0) throw new ArgumentError('the corpus needs at least two documents (one is held out)');
  const tokenizer = await makeTokenizer(
    tokenizerSpec,
    split.train.map((d) => d.text),
  );
  const eosId = tokenizer.eosId ?? tokenizer.encode('\n', undefined, { addSpecialTokens: false }).ids[0]!;
  const encode = (d: TextDocument) => tokenizer.encode(d.text, undefined, { addSpecialTokens: false }).ids;
  const trainIds = split.train.map(encode);
  const valIds = split.validation.map(encode);
  const valTokens = valIds.reduce((s, d) => s + d.length + 1, 0);
  const valBytes = split.validation.reduce((s, d) => s + new TextEncoder().encode(d.text).length + 1, 0);
  return {
    tokenizer,
    train: packClm(trainIds, { eosId, contextLength: context }),
    validation: packClm(valIds, { eosId, contextLength: context }),
    bytesPerToken: valBytes / valTokens,
  };
}

async function makeTokenizer(spec: string, texts: string[]): Promise<Tokenizer> {
  if (spec === 'bytes') return Tokenizer.fromJson(trainBpe(texts, { vocabSize: 256 }));
  const bpe = /^bpe:(\d+)$/.exec(spec);
  if (bpe) return Tokenizer.fromJson(trainBpe(texts, { vocabSize: Number(bpe[1]), specialTokens: ['<|endoftext|>'] }));
  const fs = await import('node:fs/promises');
  return Tokenizer.fromJson(await fs.readFile(spec, 'utf8'));
}

/** The batch of a step: a function of (seed, step) only, so a resumed run sees the same batches. */
export function batchAt(windows: ClmWindows, seed: number, step: number, B: number): LmBatch {
  const { N, T } = windows;
  const epochSize = Math.floor(N / B) || 1;
  const epoch = Math.floor(step / epochSize);
  const order = Array.from({ length: N }, (_, i) => i);
  new Rng(seed).fork(`epoch-${epoch}`).shuffle(order);
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const w = order[((step % epochSize) * B + b) % N]!;
    const win = windows.windows.subarray(w * (T + 1), (w + 1) * (T + 1));
    inputIds.set(win.subarray(0, T), b * T);
    labels.set(win.subarray(1, T + 1), b * T);
  }
  return { inputIds, labels, B, T };
}

/** Validation batches: the first `max` windows, in order. */
export function* validationBatches(windows: ClmWindows, B: number, max: number): Generator<LmBatch> {
  const n = Math.min(windows.N, max);
  const { T } = windows;
  for (let i = 0; i < n; i += B) {
    const b = Math.min(B, n - i);
    const inputIds = new Int32Array(b * T);
    const labels = new Int32Array(b * T);
    for (let j = 0; j < b; j++) {
      const win = windows.windows.subarray((i + j) * (T + 1), (i + j + 1) * (T + 1));
      inputIds.set(win.subarray(0, T), j * T);
      labels.set(win.subarray(1), j * T);
    }
    yield { inputIds, labels, B: b, T };
  }
}

/** The config of a fresh LLaMA of this shape (tied head, as small LLaMAs such as SmolLM2 have). */
export function llamaConfig(
  o: Pick<GptPretrainOptions, 'context' | 'layers' | 'dModel' | 'heads' | 'ffn' | 'kvHeads'>,
  vocabSize: number,
  eosId: number | null,
): LlamaConfig {
  return parseConfig({
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: vocabSize,
    hidden_size: o.dModel,
    intermediate_size: o.ffn,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kvHeads ?? o.heads,
    max_position_embeddings: o.context,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    bos_token_id: eosId,
    eos_token_id: eosId,
  }) as LlamaConfig;
}

export function gptConfig(
  o: Pick<GptPretrainOptions, 'context' | 'layers' | 'dModel' | 'heads' | 'ffn'>,
  vocabSize: number,
  eosId: number | null,
): Gpt2Config {
  return parseConfig({
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: vocabSize,
    n_positions: o.context,
    n_embd: o.dModel,
    n_layer: o.layers,
    n_head: o.heads,
    n_inner: o.ffn,
    activation_function: 'gelu_new',
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    bos_token_id: eosId,
    eos_token_id: eosId,
  }) as Gpt2Config;
}

export interface PretrainResult {
  model: CausalModel;
  trainer: Trainer<LmBatch>;
  data: LmData;
  lastEval?: EvalResult;
  seconds: number;
  /** A LoRA run's rank, alpha and trainable parameters (adapters). */
  lora?: LoraSummary;
}

/**
 * Trains (or resumes) a causal LM on the engine as the options say: a fresh GPT-2 or LLaMA, or the model of
 * `from`. A crash leaves the last checkpoint written.
 */
export async function pretrainGpt(engine: Engine, opts: GptPretrainOptions): Promise<PretrainResult> {
  const docs = await loadTextDocuments(opts.data);
  let model: CausalModel;
  let data: LmData;
  // the generation resumed from: its files are read together, and checked to be of one save
  const resumed = opts.resume ? await resumeFolder(opts.out, opts.lora !== undefined) : undefined;
  // a LoRA run's saves hold the adapter alone: its model is the base of --from, resumed or not
  const source =
    resumed !== undefined && !opts.lora
      ? resumed
      : opts.from !== undefined
        ? await resolveCheckpointDir(opts.from)
        : undefined;
  if (source !== undefined) {
    const flag = source === resumed ? '--resume' : '--from';
    const ck = await readCheckpoint(source);
    if (!ck.tokenizer) throw new ArgumentError(`${flag}: ${source} has no tokenizer.json`);
    model = asCausalLM(modelFromCheckpoint(engine, ck), `${flag}: ${source}`);
    // a pre-training run resumes at its own context; fine-tuning (resumed too) reads windows of --context, at
    // most the model's
    const context = opts.from === undefined ? model.contextLength : Math.min(opts.context, model.contextLength);
    data = await prepareLmData(docs, join(source, 'tokenizer.json'), context);
  } else {
    data = await prepareLmData(docs, opts.tokenizer, opts.context);
    const eos = data.tokenizer.eosId ?? null;
    const config =
      opts.family === 'llama'
        ? llamaConfig(opts, data.tokenizer.vocabSize, eos)
        : gptConfig(opts, data.tokenizer.vocabSize, eos);
    model = asCausalLM(createModel(engine, config, opts.seed));
  }
  model.tokenizer = data.tokenizer;
  const T = data.train.T;
  if (data.train.N < opts.batch)
    throw new ArgumentError(
      `the training text gives ${data.train.N} windows of ${T + 1} tokens, fewer than one batch of ${opts.batch}`,
    );
  const lora = loraOf(model, opts, opts.from, opts.seed);
  const trainer = new Trainer(lora ? lora.trainable(model) : model, {
    lr: opts.lr,
    totalSteps: opts.steps,
    warmup: opts.warmup,
    schedule: opts.schedule,
    weightDecay: opts.weightDecay,
    clip: opts.clip,
    gradientCheckpointing: opts.gradientCheckpointing,
  });
  const runOptions = {
    seed: opts.seed,
    batch: opts.batch,
    context: T,
    ...(lora && { lora: loraRunText(lora.settings) }),
  };
  // a LoRA run saves its adapter (on the base of --from) where a full run saves its model
  const trained = lora ? { adapter: lora, save: adapterSaveOptions(lora, opts.from) } : model;
  if (resumed !== undefined) await restoreTrainingState(resumed, trainer, runOptions, lora);
  // a run started afresh replaces the run saved in `out` (its generations), as it truncates metrics.jsonl
  if (resumed === undefined) await startAfresh(opts.out);
  const metrics = await MetricsLog.open(opts.out, opts.resume);
  const evaluate = (): EvalResult => {
    const loss = trainer.evaluate(validationBatches(data.validation, opts.batch, opts.evalWindows));
    return {
      step: trainer.globalStep,
      loss,
      perplexity: Math.exp(loss),
      bitsPerByte: loss / Math.LN2 / data.bytesPerToken,
    };
  };
  await opts.onStart?.(model, data);
  const start = performance.now();
  let lastEval: EvalResult | undefined;
  let windowStart = performance.now();
  let windowTokens = 0;
  while (trainer.globalStep < opts.steps) {
    const r = trainer.step(batchAt(data.train, opts.seed, trainer.globalStep, opts.batch));
    windowTokens += opts.batch * T;
    const line: Record<string, number> = { step: r.step, loss: r.loss, lr: r.lr };
    const now = performance.now();
    const tokensPerSecond = windowTokens / ((now - windowStart) / 1000);
    const last = trainer.globalStep === opts.steps;
    const logged = due(opts.logEvery, r.step, last);
    if (logged) {
      line.tokensPerSecond = Math.round(tokensPerSecond);
      windowStart = now;
      windowTokens = 0;
    }
    if (due(opts.evalEvery, trainer.globalStep, last)) {
      lastEval = evaluate();
      line.valLoss = lastEval.loss;
      line.valBitsPerByte = lastEval.bitsPerByte;
    }
    if (r.step % opts.logEvery === 0 || line.valLoss !== undefined) await metrics.write(line);
    if (due(opts.checkpointEvery, trainer.globalStep, last))
      await saveTrainingCheckpoint(opts.out, trained, trainer, runOptions, opts.saveTotalLimit);
    if (line.valLoss !== undefined) opts.onEval?.(lastEval!);
    opts.onStep?.({ ...r, tokensPerSecond });
  }
  const seconds = (performance.now() - start) / 1000;
  const summary = lora && (await saveLoraRun(lora, opts.out, opts.from, opts.merge));
  return { model, trainer, data, lastEval, seconds, lora: summary };
}
