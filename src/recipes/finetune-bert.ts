/**
 * Fine-tuning an encoder (BERT or RoBERTa) for sequence classification (a label per text, or per text
 * pair) and token classification (a label per word, on its first piece; the other pieces and the special
 * tokens are -100). From a pre-trained checkpoint of either family (the body is loaded, the family's head
 * for the task initialised) or from scratch (`none`: a BERT with random weights and a WordPiece
 * vocabulary trained on the task's training texts). Metrics on the held-out
 * split: accuracy, per-class precision / recall / F1, macro F1, the confusion matrix.
 */
import { padBatch } from '../data/batch.js';
import { brownPosDataset } from '../data/brown.js';
import { Rng } from '../rng.js';
import type { ModelShape } from './run.js';
import { spamDataset } from '../data/spam.js';
import type { Splits } from '../data/split.js';
import { ArgumentError } from '../errors.js';
import { parseConfig, serializeConfig } from '../io/config.js';
import { type BertConfig } from '../io/hf/index.js';
import { nodeCheckpointFiles } from '../io/node.js';
import { getFloat32 } from '../io/safetensors.js';
import { Bert, BERT_FAMILY, type BertBatch, type BertHead } from '../models/bert.js';
import { loadModel } from '../models/load.js';
import { createModel } from '../models/registry.js';
import { ROBERTA_FAMILY } from '../models/roberta.js';
import type { Engine } from '../tensor/engine.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { trainWordPiece } from '../tokenizers/wordpiece.js';
import { metrics, type Metrics } from '../train/metrics.js';
import { Trainer, withLossOptions } from '../train/trainer.js';
import { jsonTextNestsWithin } from '../io/json.js';
import { loraOf, saveLoraRun, type LoraChoice } from './lora-run.js';

export type Task = 'classify' | 'tag';
export interface TextExample {
  text: string;
  pair?: string;
  label: string;
}
export interface TagExample {
  words: string[];
  tags: string[];
}

export interface FinetuneOptions extends LoraChoice {
  task: Task;
  /** 'spam' | 'brown-pos' | a .jsonl file ({text, pair?, label} or {words, tags} per line). */
  data: string;
  /** A pre-trained BERT or RoBERTa checkpoint, or 'none'. */
  from: string;
  out: string;
  epochs: number;
  /** Use this fraction of the training split (the "5 % of the data" experiment). Default 1. */
  fraction: number;
  batch: number;
  maxLen: number;
  lr: number;
  freeze: boolean;
  /**
   * Class weights in the loss: 'balanced' (n / (K · n_k) over the training labels, as scikit-learn),
   * one weight per label in sorted label order, or none.
   */
  classWeights?: 'balanced' | number[];
  /**
   * Decay of a moving average of the weights (off when absent): the averaged weights are evaluated and
   * saved, and the live weights' scores are returned beside theirs (`live`).
   */
  ema?: number;
  seed: number;
  /** Recompute each block in backward instead of keeping its activations (TrainerOptions). Default false. */
  gradientCheckpointing?: boolean;
  /** Model shape when `from` is 'none'. */
  scratch: ModelShape & { vocabSize: number; preNorm?: boolean };
  onStep?: (step: number, total: number, loss: number) => void;
}

/**
 * A task's examples: the embedded sets, or a .jsonl file of {text, pair?, label} (classify) or {words, tags}
 * (tag) per line, split 80/10/10 by line. A line that is not such an object is an ArgumentError naming it.
 */
export async function loadTaskData(task: Task, data: string): Promise<Splits<TextExample> | Splits<TagExample>> {
  if (task === 'classify' && data === 'spam') {
    const s = spamDataset();
    const conv = (xs: typeof s.train) => xs.map((m) => ({ text: m.text, label: m.label }));
    return { train: conv(s.train), validation: conv(s.validation), test: conv(s.test) };
  }
  if (task === 'tag' && data === 'brown-pos') {
    const s = brownPosDataset();
    const conv = (xs: typeof s.train) => xs.map((x) => ({ words: x.words, tags: x.tags as string[] }));
    return { train: conv(s.train), validation: conv(s.validation), test: conv(s.test) };
  }
  if (!data.endsWith('.jsonl'))
    throw new ArgumentError(`--data ${data}: expected ${task === 'classify' ? 'spam' : 'brown-pos'} or a .jsonl file`);
  const fs = await import('node:fs/promises');
  let text: string;
  try {
    text = await fs.readFile(data, 'utf8');
  } catch (e) {
    throw new ArgumentError(
      `--data ${data}: could not be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const examples = text
    .split('\n')
    .map((l, i) => ({ l, line: i + 1 }))
    .filter(({ l }) => l.trim())
    .map(({ l, line }) => {
      let row: unknown;
      try {
        if (!jsonTextNestsWithin(l)) throw new Error('nested too deeply');
        row = JSON.parse(l);
      } catch {
        throw new ArgumentError(`${data}:${line} is not JSON`);
      }
      return task === 'classify' ? classifyExample(row, `${data}:${line}`) : tagExample(row, `${data}:${line}`);
    });
  const { splitByKey } = await import('../data/split.js');
  const keyed = examples.map((x, i) => ({ x, i }));
  const s = splitByKey(keyed, (k) => String(k.i), { train: 0.8, validation: 0.1, test: 0.1 });
  const conv = (xs: typeof keyed) => xs.map(({ x }) => x);
  return { train: conv(s.train), validation: conv(s.validation), test: conv(s.test) } as
    Splits<TextExample> | Splits<TagExample>;
}

const isText = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function classifyExample(row: unknown, where: string): TextExample {
  const r = row as Record<string, unknown>;
  if (row === null || typeof row !== 'object' || Array.isArray(row) || !isText(r.text) || !isText(r.label)) {
    throw new ArgumentError(
      `${where}: expected {"text": "…", "pair"?: "…", "label": "…"}, got ${JSON.stringify(row)?.slice(0, 80)}`,
    );
  }
  if (r.pair !== undefined && !isText(r.pair)) throw new ArgumentError(`${where}: "pair" should be text`);
  return { text: String(r.text), pair: r.pair === undefined ? undefined : String(r.pair), label: String(r.label) };
}

function tagExample(row: unknown, where: string): TagExample {
  const r = row as Record<string, unknown>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (row === null || typeof row !== 'object' || !strings(r.words) || !strings(r.tags)) {
    throw new ArgumentError(
      `${where}: expected {"words": ["…"], "tags": ["…"]}, got ${JSON.stringify(row)?.slice(0, 80)}`,
    );
  }
  const { words, tags } = r as { words: string[]; tags: string[] };
  if (words.length !== tags.length || words.length === 0) {
    throw new ArgumentError(
      `${where}: ${words.length} words and ${tags.length} tags; expected one tag per word, at least one`,
    );
  }
  return { words, tags };
}

/** The encoder families a checkpoint may hold, by model_type. */
const ENCODERS = { bert: BERT_FAMILY, roberta: ROBERTA_FAMILY };

/** Fine-tunes an encoder on the engine for the task; saves it to `out` and scores it on validation and test. */
export async function finetune(engine: Engine, opts: FinetuneOptions) {
  const data = await loadTaskData(opts.task, opts.data);
  const classify = opts.task === 'classify';
  const labels = taskLabels(opts.task, data);
  const labelId = new Map(labels.map((l, i) => [l, i]));
  const id2label = Object.fromEntries(labels.map((l, i) => [i, l]));
  const head: BertHead = classify ? 'sequence-classification' : 'token-classification';
  let model: Bert;
  let tokenizer: Tokenizer;
  if (opts.from === 'none') {
    const texts = data.train.map((x) =>
      classify ? `${(x as TextExample).text} ${(x as TextExample).pair ?? ''}` : (x as TagExample).words.join(' '),
    );
    tokenizer = Tokenizer.fromJson(trainWordPiece(texts, { vocabSize: opts.scratch.vocabSize }));
    const s = opts.scratch;
    const config = parseConfig({
      model_type: 'bert',
      architectures: [BERT_FAMILY.architectures[head]],
      vocab_size: tokenizer.vocabSize,
      hidden_size: s.dModel,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      intermediate_size: s.ffn,
      max_position_embeddings: Math.max(128, opts.maxLen),
      pad_token_id: tokenizer.padId ?? 0,
      id2label,
      pre_norm: s.preNorm ?? false,
    }) as BertConfig;
    model = new Bert(engine, config, opts.seed);
  } else {
    const { readCheckpoint } = await nodeCheckpointFiles();
    const ck = await readCheckpoint(opts.from);
    const type = ck.config.parsed.model_type;
    if (!(type in ENCODERS) || !ck.tokenizer)
      throw new ArgumentError(
        `--from ${opts.from}: expected a BERT or RoBERTa checkpoint with its tokenizer.json, got ${type}${ck.tokenizer ? '' : ' without one'}`,
      );
    tokenizer = Tokenizer.fromJson(ck.tokenizer);
    const raw = serializeConfig(ck.config.parsed);
    delete raw['label2id'];
    const architecture = ENCODERS[type as keyof typeof ENCODERS].architectures[head];
    model = createModel(engine, parseConfig({ ...raw, architectures: [architecture], id2label }), opts.seed) as Bert;
    const get = (n: string) =>
      ck.tensors.tensors.has(n)
        ? { shape: ck.tensors.tensors.get(n)!.shape, data: getFloat32(ck.tensors, n) }
        : undefined;
    model.loadHF(get, [...ck.tensors.tensors.keys()], true);
  }
  model.tokenizer = tokenizer;
  if (opts.freeze) {
    model.setTrainable(false);
    for (const m of model.classificationHead()) m.setTrainable(true);
  }
  const lora = loraOf(model, opts, opts.from, opts.seed);
  const toBatch = batcher(opts.task, tokenizer, labelId, opts.maxLen);
  const rng = new Rng(opts.seed);
  const train = rng
    .fork('subset')
    .shuffle([...data.train] as Example[])
    .slice(0, Math.max(1, Math.round(data.train.length * opts.fraction)));
  let classWeights: Float32Array | undefined;
  if (opts.classWeights) {
    const K = labels.length;
    if (opts.classWeights === 'balanced') {
      const counts = new Array<number>(K).fill(0);
      for (const x of train) for (const l of labelsOf(opts.task, x)) counts[labelId.get(l)!]!++;
      const n = counts.reduce((a, b) => a + b, 0);
      classWeights = Float32Array.from(counts, (c) => (c > 0 ? n / (K * c) : 0));
    } else {
      if (opts.classWeights.length !== K)
        throw new ArgumentError(`${opts.classWeights.length} class weights for ${K} labels (${labels.join(', ')})`);
      classWeights = Float32Array.from(opts.classWeights);
    }
  }
  const stepsPerEpoch = Math.ceil(train.length / opts.batch);
  const total = stepsPerEpoch * opts.epochs;
  const withWeights = withLossOptions(model, { classWeights });
  const trainer = new Trainer(lora ? lora.trainable(withWeights) : withWeights, {
    lr: opts.lr,
    totalSteps: total,
    warmup: Math.round(total * 0.06),
    schedule: 'linear',
    weightDecay: 0.01,
    clip: 1,
    seed: opts.seed,
    ema: opts.ema,
    gradientCheckpointing: opts.gradientCheckpointing,
  });
  const started = performance.now();
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = rng.fork(`epoch-${epoch}`).shuffle([...train]);
    for (let i = 0; i < order.length; i += opts.batch) {
      const r = trainer.step(toBatch(order.slice(i, i + opts.batch)));
      opts.onStep?.(trainer.globalStep, total, r.loss);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const evaluate = (xs: Example[]): Metrics => {
    const { gold, probs } = predictLabels(model, xs, toBatch, opts.batch, labels);
    return metrics(gold, argmaxRows(probs, labels.length), labels);
  };
  const scores = () => ({ validation: evaluate(data.validation as Example[]), test: evaluate(data.test as Example[]) });
  const live = trainer.average ? scores() : undefined;
  trainer.average?.apply();
  const { validation, test } = scores();
  if (!lora) await model.save(opts.out);
  const summary = lora && (await saveLoraRun(lora, opts.out, opts.from, opts.merge));
  return { model, validation, test, live, seconds, trainExamples: train.length, steps: total, lora: summary };
}

type Example = TextExample | TagExample;

/**
 * Examples → encoder batches. Classification: `[CLS] text [SEP] (pair [SEP])` (RoBERTa: `<s> text </s>
 * (</s> pair </s>)`, as its tokenizer's post-processor says) cut to maxLen, its last token
 * kept a [SEP]. Tagging: `[CLS]` + each word's pieces + `[SEP]`, the label on a word's first piece (-100
 * elsewhere); words that would run past maxLen are left out.
 */
function batcher(
  task: Task,
  tokenizer: Tokenizer,
  labelId: ReadonlyMap<string, number>,
  maxLen: number,
): (xs: Example[]) => BertBatch {
  const classify = task === 'classify';
  const encoded = new Map<string, number[]>();
  const pieces = (w: string) => {
    let p = encoded.get(w);
    if (!p) encoded.set(w, (p = tokenizer.encodeWord(w)));
    return p;
  };
  const { clsId, sepId, padId } = tokenizer as Required<Pick<Tokenizer, 'clsId' | 'sepId' | 'padId'>>;
  return (xs) => {
    const ids: number[][] = [];
    const types: number[][] = [];
    const tagLabels: number[][] = [];
    for (const x of xs) {
      if (classify) {
        const e = tokenizer.encode((x as TextExample).text, (x as TextExample).pair);
        const seq = e.ids.slice(0, maxLen);
        if (seq.length === maxLen && seq[seq.length - 1] !== sepId) seq[seq.length - 1] = sepId;
        ids.push(seq);
        types.push(e.tokenTypeIds.slice(0, maxLen));
      } else {
        const seq = [clsId];
        const lab = [-100];
        const t = x as TagExample;
        t.words.forEach((w, i) => {
          const p = pieces(w);
          if (seq.length + p.length >= maxLen) return;
          p.forEach((id, j) => {
            seq.push(id);
            lab.push(j === 0 ? labelId.get(t.tags[i]!)! : -100);
          });
        });
        seq.push(sepId);
        lab.push(-100);
        ids.push(seq);
        types.push(seq.map(() => 0));
        tagLabels.push(lab);
      }
    }
    const padded = padBatch(ids, padId);
    const T = padded.T;
    const tokenTypeIds = new Int32Array(padded.B * T);
    types.forEach((t, b) => tokenTypeIds.set(t, b * T));
    let labelsArr: Int32Array;
    if (classify) labelsArr = Int32Array.from(xs.map((x) => labelId.get((x as TextExample).label)!));
    else {
      labelsArr = new Int32Array(padded.B * T).fill(-100);
      tagLabels.forEach((l, b) => labelsArr.set(l, b * T));
    }
    return {
      inputIds: padded.inputIds,
      attentionMask: padded.attentionMask,
      tokenTypeIds,
      labels: labelsArr,
      B: padded.B,
      T,
    };
  };
}

/**
 * The model's label probabilities at each labelled row (a text, or a word's first piece), in the order
 * of `labels` (the model's own `id2label` may order them otherwise), and the gold label ids; eval mode.
 */
function predictLabels(
  model: Bert,
  xs: Example[],
  toBatch: (xs: Example[]) => BertBatch,
  batch: number,
  labels: readonly string[],
): { gold: number[]; probs: Float64Array } {
  const engine = model.engine;
  const K = labels.length;
  const column = Array.from({ length: K }, (_, k) => labels.indexOf(model.config.id2label[k]!));
  if (model.config.num_labels !== K || column.includes(-1)) {
    throw new ArgumentError(
      `the model's labels (${Object.values(model.config.id2label).join(', ')}) are not the task's (${labels.join(', ')})`,
    );
  }
  model.train(false);
  const gold: number[] = [];
  const probs: number[] = [];
  for (let i = 0; i < xs.length; i += batch) {
    const b = toBatch(xs.slice(i, i + batch));
    const logits = engine.noGrad(() => model.run(b).logits.toArray());
    engine.endStep();
    const rows = model.task === 'sequence-classification' ? b.B : b.B * b.T;
    for (let r = 0; r < rows; r++) {
      const y = b.labels![r]!;
      if (y < 0) continue;
      gold.push(y);
      const row = logits.subarray(r * K, (r + 1) * K);
      const max = Math.max(...row);
      const z = row.reduce((a, x) => a + Math.exp(x - max), 0);
      const p = new Array<number>(K);
      for (let k = 0; k < K; k++) p[column[k]!] = Math.exp(row[k]! - max) / z;
      probs.push(...p);
    }
  }
  return { gold, probs: Float64Array.from(probs) };
}

function argmaxRows(probs: Float64Array, K: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < probs.length / K; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[r * K + k]! > probs[r * K + best]!) best = k;
    out.push(best);
  }
  return out;
}

export interface EvaluateOptions {
  task: Task;
  /** As FinetuneOptions.data. */
  data: string;
  /** Fine-tuned checkpoints; more than one are an ensemble: the mean of their label probabilities. */
  from: string[];
  split: 'validation' | 'test';
  /** Tokens per example; default each model's max_position_embeddings. */
  maxLen?: number;
  batch: number;
}

/** Scores fine-tuned classifiers or taggers (one, or an ensemble) on a split of their task. */
export async function evaluateFinetuned(engine: Engine, opts: EvaluateOptions): Promise<Metrics> {
  const data = await loadTaskData(opts.task, opts.data);
  const labels = taskLabels(opts.task, data);
  const labelId = new Map(labels.map((l, i) => [l, i]));
  const xs = data[opts.split] as Example[];
  const head = opts.task === 'classify' ? 'sequence-classification' : 'token-classification';
  let gold: number[] | undefined;
  let sum: Float64Array | undefined;
  for (const dir of opts.from) {
    const model = await loadModel(engine, dir);
    try {
      if (model.kind !== 'encoder' || model.task !== head)
        throw new ArgumentError(
          `${dir}: expected a BERT or RoBERTa fine-tuned for ${opts.task === 'classify' ? 'sequence' : 'token'} classification`,
        );
      if (!model.tokenizer) throw new ArgumentError(`${dir}: the checkpoint has no tokenizer.json`);
      const maxLen = opts.maxLen ?? model.maxLength;
      const r = predictLabels(model, xs, batcher(opts.task, model.tokenizer, labelId, maxLen), opts.batch, labels);
      if (gold && (r.gold.length !== gold.length || r.gold.some((g, i) => g !== gold![i]))) {
        throw new ArgumentError(
          `${dir} labels other words than ${opts.from[0]}: their tokenizers cut different words at the length limit; pass a --max-len that fits every sentence`,
        );
      }
      gold = r.gold;
      if (!sum) sum = r.probs;
      else for (let i = 0; i < sum.length; i++) sum[i]! += r.probs[i]!;
    } finally {
      model.dispose();
    }
  }
  return metrics(gold!, argmaxRows(sum!, labels.length), labels);
}

/** The task's labels: every label of the three splits, sorted (the order of a fine-tuned head's classes). */
function taskLabels(task: Task, data: Splits<TextExample> | Splits<TagExample>): string[] {
  return [...new Set([...data.train, ...data.validation, ...data.test].flatMap((x) => labelsOf(task, x)))].sort();
}

/** An example's labels: its one label (classification) or its words' tags. */
function labelsOf(task: Task, x: Example): string[] {
  return task === 'classify' ? [(x as TextExample).label] : (x as TagExample).tags;
}
