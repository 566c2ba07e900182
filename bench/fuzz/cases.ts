/**
 * Fuzz cases over every parser path: checkpoint folders of every family (model.safetensors, config.json,
 * tokenizer.json mutated; files missing, empty, or folders in their place; run folders with generations),
 * a run's training state for --resume (trainer_state.json, optimizer.safetensors), the CLI's data files (text,
 * .jsonl), generation with bad prompts and options, and the CLI's flags. Each case goes through the public entry
 * (loadModel and a short forward, restoreTrainingState, loadTextDocuments, model.generate, the command's parser)
 * and must end in success or one of the project's typed errors (SimdformerError); anything else is a finding.
 *
 * Case i of seed s is a function of (s, i) alone (Rng(s).fork(`case-i`)), so any finding is replayed by number.
 * Used by `npm run fuzz` (bench/fuzz/run.ts: many cases, each watched for hangs and memory) and by
 * tests/io/fuzz.test.ts (a few thousand, in the suite).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRETRAIN_BERT, PRETRAIN_GPT, PRETRAIN_SEQ2SEQ, gptOptions } from '../../src/cli/commands/pretrain.js';
import { parseFlags, type CommandSpec } from '../../src/cli/args.js';
import { DEMO } from '../../src/cli/commands/demo.js';
import { EVAL } from '../../src/cli/commands/eval.js';
import { FINETUNE } from '../../src/cli/commands/finetune.js';
import { FINETUNE_SEQ2SEQ } from '../../src/cli/commands/finetune-seq2seq.js';
import { GENERATE, run as runGenerate } from '../../src/cli/commands/generate.js';
import { PREDICT } from '../../src/cli/commands/predict.js';
import { loadTextDocuments } from '../../src/data/text.js';
import { SimdformerError } from '../../src/errors.js';
import { encodeCheckpoint } from '../../src/io/checkpoint-format.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { parseConfig, type ModelConfig } from '../../src/io/config.js';
import { loadModel, type PretrainedModel } from '../../src/models/load.js';
import { createModel } from '../../src/models/registry.js';
import { loadTaskData } from '../../src/recipes/finetune-bert.js';
import { restoreTrainingState, saveTrainingCheckpoint } from '../../src/recipes/resume.js';
import { Rng } from '../../src/rng.js';
import type { Engine } from '../../src/tensor/engine.js';
import { trainBpe } from '../../src/tokenizers/bpe.js';
import { trainWordPiece } from '../../src/tokenizers/wordpiece.js';
import { Trainer } from '../../src/train/trainer.js';
import {
  INTERESTING,
  LARGE_SIZES,
  jsonBytes,
  mutateBytes,
  mutateJson,
  mutateSafetensors,
  parseJson,
  pick,
  show,
  utf8,
  type Json,
} from './mutate.js';

export type Outcome = 'ok' | 'typed' | 'untyped';

export interface CaseResult {
  i: number;
  kind: string;
  what: string;
  outcome: Outcome;
  /** The error, when there was one: its class and message (and the top of the stack when untyped). */
  error?: { name: string; message: string; stack?: string };
  /** Bytes of the files the case gave. */
  fileBytes: number;
  /** Most engine memory held while loading (persistent blocks, bytes above what was held before). */
  loadBytes: number;
  /** Wall time of the case. */
  ms: number;
}

interface Seed {
  name: string;
  files: Map<string, Uint8Array>;
}

export interface FuzzContext {
  engine: Engine;
  /** A scratch folder of this process. */
  dir: string;
  seeds: Seed[];
  /** A run's folder files (a generation): model files, optimizer.safetensors, trainer_state.json. */
  run: Map<string, Uint8Array>;
  runOptions: Record<string, number>;
  /** A tiny GPT, T5 and BART with tokenizers, for generation cases and the CLI's generate. */
  models: PretrainedModel[];
  /** Most persistent bytes held since `trackFrom` was called (the arena's blocks, watched). */
  peak: () => number;
  trackFrom: () => void;
}

const TEXT =
  'The quick brown fox jumps over the lazy dog. A cat sat on the mat and watched the dog run. ' +
  'Numbers 0 1 2 3 4 5 6 7 8 9; punctuation: commas, dots. Ünïcödé ünd émoji 🦊 too.';
const texts = Array.from({ length: 20 }, (_, i) => `${TEXT} ${i}`);

function seedFiles(model: PretrainedModel, tokenizer: Record<string, unknown>): Map<string, Uint8Array> {
  return encodeCheckpoint({ config: model.config, tensors: model.hfTensors(), tokenizer });
}

/** The base checkpoints (one per family, and the transformers-written GPT-2 fixture when given) and the run. */
export async function makeContext(engine: Engine, dir: string, fixture?: string): Promise<FuzzContext> {
  const bpe = trainBpe(texts, { vocabSize: 300, specialTokens: ['<|endoftext|>', '<pad>', '</s>', '<unk>'] });
  const wordpiece = trainWordPiece(texts, { vocabSize: 120 });
  const V = 300;
  const configs: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      'gpt2',
      {
        model_type: 'gpt2',
        vocab_size: V,
        n_positions: 24,
        n_embd: 8,
        n_layer: 2,
        n_head: 2,
        bos_token_id: 296,
        eos_token_id: 296,
      },
      bpe,
    ],
    [
      'bert',
      {
        model_type: 'bert',
        architectures: ['BertForPreTraining'],
        vocab_size: 120,
        hidden_size: 8,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 12,
        max_position_embeddings: 32,
      },
      wordpiece,
    ],
    [
      't5',
      {
        model_type: 't5',
        vocab_size: V,
        d_model: 8,
        d_kv: 4,
        d_ff: 12,
        num_layers: 1,
        num_decoder_layers: 2,
        num_heads: 2,
        relative_attention_num_buckets: 8,
        pad_token_id: 297,
        eos_token_id: 298,
        decoder_start_token_id: 297,
      },
      bpe,
    ],
    [
      'bart',
      {
        model_type: 'bart',
        vocab_size: V,
        d_model: 8,
        max_position_embeddings: 32,
        encoder_layers: 1,
        decoder_layers: 1,
        encoder_attention_heads: 2,
        decoder_attention_heads: 2,
        encoder_ffn_dim: 12,
        decoder_ffn_dim: 12,
        pad_token_id: 297,
        bos_token_id: 296,
        eos_token_id: 298,
        decoder_start_token_id: 298,
        forced_eos_token_id: 298,
      },
      bpe,
    ],
  ];
  const seeds: Seed[] = [];
  const models: PretrainedModel[] = [];
  for (const [name, json, tokenizer] of configs) {
    const model = createModel(engine, parseConfig(json), 7);
    seeds.push({ name, files: seedFiles(model, tokenizer) });
    if (name === 'bert') model.dispose();
    else {
      const { Tokenizer } = await import('../../src/tokenizers/tokenizer.js');
      model.tokenizer = Tokenizer.fromJson(tokenizer);
      models.push(model);
    }
  }
  if (fixture) {
    const files = new Map<string, Uint8Array>();
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json'])
      files.set(f, new Uint8Array(await readFile(join(fixture, f)))); // a copy: Buffer.slice does not copy
    seeds.push({ name: 'hf-gpt2', files });
  }

  // a run's generation: the GPT after one step, its optimizer state and trainer_state.json
  const gpt = models[0]! as import('../../src/models/gpt.js').GPT;
  const trainer = new Trainer(gpt, { lr: 1e-3, totalSteps: 10 });
  const ids = Int32Array.from({ length: 8 }, (_, i) => (i * 37) % V);
  trainer.step({ inputIds: ids, labels: ids, B: 1, T: 8 });
  const runOptions = { seed: 0, batch: 1 };
  const gen = await saveTrainingCheckpoint(join(dir, 'run-seed'), gpt, trainer, runOptions, 1);
  const run = new Map<string, Uint8Array>();
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'optimizer.safetensors', 'trainer_state.json'])
    run.set(f, new Uint8Array(await readFile(join(gen, f))));
  await rm(join(dir, 'run-seed'), { recursive: true, force: true });

  // the arena's persistent blocks, watched: the most held while a case loads
  const arena = engine.runtime.arena;
  let base = arena.usedBytes;
  let peak = 0;
  const alloc = arena.alloc.bind(arena);
  arena.alloc = (bytes: number, what?: string) => {
    const ptr = alloc(bytes, what);
    peak = Math.max(peak, arena.usedBytes - base);
    return ptr;
  };
  return {
    engine,
    dir,
    seeds,
    run,
    runOptions,
    models,
    peak: () => peak,
    trackFrom: () => {
      base = arena.usedBytes;
      peak = 0;
    },
  };
}

const KINDS = [
  ['safetensors', 30],
  ['config', 24],
  ['tokenizer', 14],
  ['files', 8],
  ['resume', 7],
  ['generate', 7],
  ['data', 5],
  ['cli', 5],
] as const;

function kindOf(rng: Rng): (typeof KINDS)[number][0] {
  let r = rng.int(100);
  for (const [k, w] of KINDS) {
    if (r < w) return k;
    r -= w;
  }
  return 'safetensors';
}

/** Runs case `i` of `seed` in the context; never throws (what it threw is the outcome). */
export async function runCase(ctx: FuzzContext, seed: number, i: number): Promise<CaseResult> {
  const rng = new Rng(seed).fork(`case-${i}`);
  const kind = kindOf(rng);
  const result: CaseResult = { i, kind, what: '', outcome: 'ok', fileBytes: 0, loadBytes: 0, ms: 0 };
  const t0 = performance.now();
  const log: string[] = [];
  try {
    await CASES[kind](ctx, rng, log, result);
  } catch (e) {
    const err = e as Error;
    result.outcome = e instanceof SimdformerError ? 'typed' : 'untyped';
    result.error = { name: err?.name ?? typeof e, message: String(err?.message ?? e).slice(0, 500) };
    if (result.outcome === 'untyped') result.error.stack = err?.stack?.split('\n').slice(0, 6).join('\n');
  } finally {
    ctx.engine.endStep();
  }
  result.what = log.join('; ');
  result.ms = performance.now() - t0;
  return result;
}

type CaseFn = (ctx: FuzzContext, rng: Rng, log: string[], result: CaseResult) => Promise<void>;

const CASES: Record<(typeof KINDS)[number][0], CaseFn> = {
  safetensors: (ctx, rng, log, result) =>
    checkpointCase(ctx, rng, log, result, (files) => {
      const n = 1 + rng.int(2);
      for (let k = 0; k < n; k++) {
        const [bytes, what] =
          rng.int(3) === 0
            ? mutateBytes(files.get('model.safetensors')!, rng)
            : mutateSafetensors(files.get('model.safetensors')!, rng);
        files.set('model.safetensors', bytes);
        log.push(`model.safetensors: ${what}`);
      }
    }),
  config: (ctx, rng, log, result) =>
    checkpointCase(ctx, rng, log, result, (files, seed) => {
      const config = parseJson(files.get('config.json')!) as Record<string, Json>;
      switch (rng.int(5)) {
        case 0: {
          const [bytes, what] = mutateBytes(files.get('config.json')!, rng);
          files.set('config.json', bytes);
          log.push(`config.json: ${what}`);
          return;
        }
        case 1: {
          // a size field far larger than the weights (the hangs and blow-ups of the first fuzz run)
          const key = pick(rng, SIZE_KEYS[seed] ?? ['vocab_size']);
          config[key] = pick(rng, LARGE_SIZES);
          log.push(`config.json: ${key} ${show(config[key])}`);
          break;
        }
        case 2: {
          config['model_type'] = pick(rng, ['gpt2', 'bert', 't5', 'bart', 'llama', '', null, 5] as Json[]);
          log.push(`config.json: model_type ${show(config['model_type'])}`);
          break;
        }
        case 3: {
          const key = pick(rng, [...Object.keys(config), ...EXTRA_KEYS]);
          config[key] = pick(rng, INTERESTING);
          log.push(`config.json: ${key} ${show(config[key])}`);
          break;
        }
        default: {
          const [tree, what] = mutateJson(config, rng);
          files.set('config.json', jsonBytes(tree));
          log.push(`config.json: ${what}`);
          return;
        }
      }
      files.set('config.json', jsonBytes(config));
    }),
  tokenizer: (ctx, rng, log, result) =>
    checkpointCase(ctx, rng, log, result, (files) => {
      const bytes = files.get('tokenizer.json')!;
      if (rng.int(4) === 0) {
        const [b, what] = mutateBytes(bytes, rng);
        files.set('tokenizer.json', b);
        log.push(`tokenizer.json: ${what}`);
        return;
      }
      const [tree, what] = mutateJson(parseJson(bytes)!, rng, (p) => p[0] === 'model' || p[0] === 'added_tokens');
      files.set('tokenizer.json', jsonBytes(tree));
      log.push(`tokenizer.json: ${what}`);
    }),
  files: (ctx, rng, log, result) => filesCase(ctx, rng, log, result),
  resume: (ctx, rng, log, result) => resumeCase(ctx, rng, log, result),
  generate: (ctx, rng, log) => generateCase(ctx, rng, log),
  data: (ctx, rng, log) => dataCase(ctx, rng, log),
  cli: (ctx, rng, log) => cliCase(ctx, rng, log),
};

const SIZE_KEYS: Record<string, string[]> = {
  gpt2: ['n_layer', 'n_embd', 'n_inner', 'n_positions', 'vocab_size', 'n_head', 'num_labels'],
  'hf-gpt2': ['n_layer', 'n_embd', 'n_inner', 'n_positions', 'vocab_size', 'num_hidden_layers'],
  bert: [
    'num_hidden_layers',
    'hidden_size',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
    'num_labels',
  ],
  t5: ['num_layers', 'num_decoder_layers', 'd_model', 'd_kv', 'd_ff', 'num_heads', 'relative_attention_num_buckets'],
  bart: ['encoder_layers', 'decoder_layers', 'd_model', 'encoder_ffn_dim', 'max_position_embeddings', 'vocab_size'],
};
const EXTRA_KEYS = [
  'architectures',
  'id2label',
  'label2id',
  'num_labels',
  'tie_word_embeddings',
  'feed_forward_proj',
  'activation_function',
  'hidden_act',
  'pre_norm',
  'is_encoder_decoder',
  'n_inner',
  'pad_token_id',
  'eos_token_id',
  'decoder_start_token_id',
  'layer_norm_epsilon',
  'scale_attn_weights',
  'hidden_size',
  'num_attention_heads',
  'max_position_embeddings',
  'normalize_before',
];

async function writeFolder(dir: string, files: Map<string, Uint8Array>): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  for (const [name, b] of files) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), b);
    bytes += b.length;
  }
  return bytes;
}

/** A mutated checkpoint folder through loadModel and a short forward (and decoding of its argmax). */
async function checkpointCase(
  ctx: FuzzContext,
  rng: Rng,
  log: string[],
  result: CaseResult,
  mutate: (files: Map<string, Uint8Array>, seed: string) => void,
): Promise<void> {
  const seed = pick(rng, ctx.seeds);
  log.push(seed.name);
  const files = new Map(seed.files);
  mutate(files, seed.name);
  const dir = join(ctx.dir, 'case');
  result.fileBytes = (await writeFolder(dir, files)) + halfPrecisionBytes(files.get('model.safetensors'));
  await loadAndRun(ctx, dir, result);
}

/**
 * The bytes float16 / bfloat16 tensors of a safetensors file gain when they become float32 parameters, by its
 * header (0 when the header does not parse): the memory bound counts the files at float32 width.
 */
function halfPrecisionBytes(file: Uint8Array | undefined): number {
  try {
    let extra = 0;
    for (const t of readSafetensors(file!).tensors.values()) {
      if (t.dtype === 'F16' || t.dtype === 'BF16') extra += t.shape.reduce((a, d) => a * d, 1) * 2;
    }
    return extra;
  } catch {
    return 0;
  }
}

async function loadAndRun(ctx: FuzzContext, dir: string, result: CaseResult): Promise<void> {
  ctx.trackFrom();
  let model: PretrainedModel | undefined;
  try {
    model = await loadModel(ctx.engine, dir);
  } finally {
    result.loadBytes = ctx.peak();
  }
  try {
    const e = ctx.engine;
    const tok = model.tokenizer;
    const ids = tok ? tok.encode(TEXT.slice(0, 40)).ids.slice(0, 12) : [0, 1, 2];
    if (ids.length === 0) ids.push(0);
    const logits = e.noGrad(() => {
      if (model.kind === 'seq2seq') return model.forward({ inputIds: [ids], labels: [ids.slice(0, 4)] }).logits;
      return model.forward({ inputIds: [ids] }).logits;
    });
    const row = logits.toArray().slice(0, model.config.vocab_size);
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
    tok?.decode([best, ...ids]);
  } finally {
    model.dispose();
  }
}

/** Files missing, empty, or folders in their place; a run's folder with generations and a pointer. */
async function filesCase(ctx: FuzzContext, rng: Rng, log: string[], result: CaseResult): Promise<void> {
  const seed = pick(rng, ctx.seeds);
  log.push(seed.name);
  const files = new Map(seed.files);
  const dir = join(ctx.dir, 'case');
  const name = pick(rng, ['config.json', 'model.safetensors', 'tokenizer.json']);
  const op = rng.int(6);
  if (op === 0) {
    files.delete(name);
    log.push(`${name} missing`);
  } else if (op === 1) {
    files.set(name, new Uint8Array(0));
    log.push(`${name} empty`);
  }
  const layout = op >= 3 ? rng.int(3) : -1;
  let folder = dir;
  if (layout >= 0) {
    // a run's folder: the files in checkpoint-<n>/, a pointer (or none, or a bad one)
    const step = pick(rng, [0, 1, 7, 100]);
    const moved = new Map([...files].map(([k, v]) => [`checkpoint-${step}/${k}`, v]));
    const pointer = pick(rng, [
      `checkpoint-${step}\n`,
      `checkpoint-${step + 1}\n`,
      '../x',
      '',
      'checkpoint-\n',
      'latest',
    ]);
    if (layout > 0) moved.set('latest', utf8(pointer));
    if (layout === 2) moved.set('config.json', files.get('config.json') ?? new Uint8Array(0));
    log.push(`a run's folder: checkpoint-${step}/${layout > 0 ? `, latest ${show(pointer)}` : ', no pointer'}`);
    files.clear();
    for (const [k, v] of moved) files.set(k, v);
  }
  result.fileBytes = await writeFolder(dir, files);
  if (op === 2 || op === 3) {
    const target = op === 3 && layout > 0 && rng.int(2) === 0 ? join(folder, 'latest') : join(folder, name);
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    log.push(`a folder in place of ${target.slice(dir.length + 1)}`);
  }
  if (op === 5) folder = join(dir, pick(rng, ['nope', 'config.json', 'checkpoint-0']));
  await loadAndRun(ctx, folder, result);
}

/** A run's generation with trainer_state.json or optimizer.safetensors mutated, through restoreTrainingState. */
async function resumeCase(ctx: FuzzContext, rng: Rng, log: string[], result: CaseResult): Promise<void> {
  const files = new Map(ctx.run);
  const target = pick(rng, ['trainer_state.json', 'optimizer.safetensors', 'model.safetensors']);
  const bytes = files.get(target)!;
  let what: string;
  let mutated: Uint8Array;
  if (target === 'trainer_state.json' && rng.int(2) === 0) {
    const [tree, w] = mutateJson(parseJson(bytes)!, rng);
    [mutated, what] = [jsonBytes(tree), w];
  } else if (target !== 'trainer_state.json' && rng.int(2) === 0) {
    [mutated, what] = mutateSafetensors(bytes, rng);
  } else {
    [mutated, what] = mutateBytes(bytes, rng);
  }
  files.set(target, mutated);
  if (rng.int(8) === 0) {
    files.delete(target);
    what = 'missing';
  }
  log.push(`${target}: ${what}`);
  const dir = join(ctx.dir, 'case');
  result.fileBytes = await writeFolder(dir, files);
  const gpt = ctx.models[0]! as import('../../src/models/gpt.js').GPT;
  const trainer = new Trainer(gpt, { lr: 1e-3, totalSteps: 10 });
  try {
    const options = rng.int(4) === 0 ? { ...ctx.runOptions, batch: 2 } : ctx.runOptions;
    await restoreTrainingState(dir, trainer, options);
    // one step from the restored state
    const ids = Int32Array.from({ length: 8 }, (_, k) => (k * 11) % gpt.vocabSize);
    trainer.step({ inputIds: ids, labels: ids, B: 1, T: 8 });
  } finally {
    trainer.dispose();
  }
}

/** Generation with prompts and options out of range: empty, too long, ids outside the vocabulary, bad sampling. */
async function generateCase(ctx: FuzzContext, rng: Rng, log: string[]): Promise<void> {
  const model = pick(rng, ctx.models);
  const V = model.config.vocab_size;
  const promptKind = rng.int(6);
  const length = pick(rng, [0, 1, 3, 23, 24, 25, 40, 1000]);
  const prompt: number[] = Array.from({ length }, (_, k) =>
    promptKind === 0 ? pick(rng, [-1, V, V + 1, 2 ** 31, NaN, 1.5, Infinity, -0]) : (k * 7 + 1) % V,
  );
  const options: Record<string, unknown> = {
    maxNewTokens: pick(rng, [0, 1, 3, 8, -1, 1.5, NaN, 2 ** 31]),
    doSample: rng.int(2) === 0,
  };
  if (rng.int(3) === 0) options['temperature'] = pick(rng, [0, -1, 1e-9, 1, 2, NaN, Infinity]);
  if (rng.int(3) === 0) options['topK'] = pick(rng, [0, 1, -1, 1.5, V + 10]);
  if (rng.int(3) === 0) options['topP'] = pick(rng, [0, 0.5, 1, 1.5, NaN]);
  if (rng.int(3) === 0) options['seed'] = pick(rng, [0, 1, -1, 2 ** 40]);
  if (rng.int(4) === 0) options['truncate'] = pick(rng, ['left', 'error', 'right']);
  if (rng.int(4) === 0) options['eosTokenId'] = pick(rng, [0, V, [1, 2], -1]);
  if (model.kind === 'seq2seq' && rng.int(3) === 0) options['numBeams'] = pick(rng, [1, 2, 0, -1, 3.5]);
  log.push(`${model.config.model_type}: prompt of ${length}${promptKind === 0 ? ' bad ids' : ''}, ${show(options)}`);
  // a 2^31-token budget is a request, not a bug: decoding stops at the context or after a few tokens here
  let n = 0;
  for await (const _ of (model as { generate(p: number[], o: unknown): AsyncGenerator<number> }).generate(
    prompt,
    options,
  )) {
    if (++n >= 6) break;
  }
}

/** The CLI's data files: text for pre-training and evaluation, .jsonl for fine-tuning. */
async function dataCase(ctx: FuzzContext, rng: Rng, log: string[]): Promise<void> {
  const dir = join(ctx.dir, 'data');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const jsonl = rng.int(2) === 0;
  const file = join(dir, jsonl ? 'data.jsonl' : 'text.txt');
  let content: Uint8Array;
  if (jsonl) {
    const rows: unknown[] = Array.from({ length: 1 + rng.int(12) }, (_, k) =>
      pick(rng, [
        { text: `row ${k}`, label: pick(rng, ['a', 'b']) },
        { text: `row ${k}`, pair: 'p', label: 'a' },
        { words: ['a', 'b'], tags: ['X', 'Y'] },
        { words: ['a', 'b'], tags: ['X'] },
        { words: 'a b', tags: 5 },
        { words: [1, null], tags: [{}, []] },
        { text: null, label: null },
        null,
        5,
        'text',
        [],
        {},
      ]),
    );
    content = utf8(rows.map((r) => JSON.stringify(r)).join('\n'));
  } else {
    content = utf8(texts.slice(0, 1 + rng.int(5)).join('\n\n'));
  }
  const [bytes, what] = rng.int(2) === 0 ? mutateBytes(content, rng) : [content, 'as made'];
  await writeFile(file, bytes);
  const spec = pick(rng, [file, dir, join(dir, 'missing.txt'), join(dir, 'sub')]);
  if (spec.endsWith('sub') && rng.int(2) === 0) await mkdir(join(dir, 'sub', 'empty.txt'), { recursive: true });
  log.push(`${jsonl ? 'jsonl' : 'text'} ${what}, read as ${spec.slice(dir.length) || '/'}`);
  if (jsonl && spec !== dir) await loadTaskData(pick(rng, ['classify', 'tag'] as const), spec);
  else await loadTextDocuments(spec);
}

const SPECS: CommandSpec[] = [
  PRETRAIN_GPT,
  PRETRAIN_BERT,
  PRETRAIN_SEQ2SEQ,
  GENERATE,
  PREDICT,
  FINETUNE,
  FINETUNE_SEQ2SEQ,
  EVAL,
  DEMO,
];

/** The CLI's flags: every command's parser; `generate` run in full on a tiny checkpoint. */
async function cliCase(ctx: FuzzContext, rng: Rng, log: string[]): Promise<void> {
  const generate = rng.int(3) === 0;
  const spec = generate ? GENERATE : pick(rng, SPECS);
  const argv: string[] = [];
  const flags = Object.entries(spec.flags);
  const dir = join(ctx.dir, 'cli-model');
  if (generate)
    argv.push(
      '--from',
      pick(rng, [dir, join(ctx.dir, 'nope')]),
      '--prompt',
      pick(rng, ['The cat', '', '🦊', 'x'.repeat(300)]),
    );
  for (let k = rng.int(5); k > 0; k--) {
    const [name, f] = pick(rng, flags);
    const value = pick(rng, [
      '0',
      '-1',
      '1',
      '3',
      '1.5',
      'abc',
      '',
      'NaN',
      '1e309',
      '99999999999999999999',
      'brown',
      'auto',
    ]);
    if (generate && name === 'max-new' && !['-1', 'abc', '', 'NaN', '1.5', '0'].includes(value)) continue;
    argv.push(
      f.type === 'boolean'
        ? pick(rng, [`--${name}`, `--${name}=${value}`])
        : pick(rng, [`--${name}`, `--${name}=${value}`]),
    );
    if (f.type === 'string' && rng.int(3) > 0) argv.push(value);
  }
  if (rng.int(4) === 0) argv.push(pick(rng, ['--nope', '-x', 'positional', '--', '--help=1']));
  log.push(`${spec.name} ${argv.map((a) => (a.length > 20 ? `${a.slice(0, 17)}...` : a)).join(' ')}`);
  if (generate) {
    if (!ctx.seeds.length) return;
    await writeFolder(dir, ctx.seeds[0]!.files);
    const write = process.stdout.write;
    process.stdout.write = () => true;
    try {
      if (!argv.includes('--threads')) argv.push('--threads', '1');
      await runGenerate(argv);
    } finally {
      process.stdout.write = write;
    }
    return;
  }
  const v = parseFlags(spec, argv);
  if (v !== 'help' && spec === PRETRAIN_GPT) gptOptions(v);
}

/** For reports: what a case was about, short. */
export const describeCase = (r: CaseResult): string => `#${r.i} ${r.kind}: ${r.what}`;

export type { ModelConfig };
