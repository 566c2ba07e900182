import { ArgumentError } from '../../errors.js';
import { BERT_PRETRAIN_DEFAULTS, pretrainBert } from '../../train/bert-pretrain.js';
import { GPT_PRETRAIN_DEFAULTS, pretrainGpt, type GptPretrainOptions } from '../../train/lm-pretrain.js';
import type { ScheduleName } from '../../train/schedule.js';
import { engineFlags, ENGINE_FLAGS, engineText, helpText, intFlag, numberFlag, parseFlags, stringFlag, type CommandSpec, type Parsed } from '../args.js';
import { Progress } from '../progress.js';
import { pretrainSeq2Seq, SEQ2SEQ_PRETRAIN_DEFAULTS } from '../../train/seq2seq-pretrain.js';
import { writeLossCurve } from './report.js';

const d = GPT_PRETRAIN_DEFAULTS;

export const PRETRAIN_GPT: CommandSpec = {
  name: 'pretrain gpt',
  summary: 'Pre-train a GPT (decoder-only, causal LM) on text.',
  usage: 'simdformer pretrain gpt --data <file|dir|brown|spam> --out <dir> [options]',
  flags: {
    data: { type: 'string', help: "training text: a file, a folder of text files, 'brown' or 'spam' (embedded: the Brown corpus; the SpamAssassin training split's messages)" },
    out: { type: 'string', help: 'checkpoint folder (config.json, model.safetensors, tokenizer.json, metrics.jsonl)' },
    tokenizer: { type: 'string', help: "'bytes', 'bpe:<vocab size>', or a tokenizer.json", default: d.tokenizer, choices: ['bytes', 'bpe:'] as const },
    steps: { type: 'string', help: 'optimizer steps', default: String(d.steps) },
    batch: { type: 'string', help: 'sequences per step', default: String(d.batch) },
    lr: { type: 'string', help: 'peak learning rate (AdamW)', default: String(d.lr) },
    warmup: { type: 'string', help: 'linear warm-up steps', default: String(d.warmup) },
    schedule: { type: 'string', help: 'learning-rate schedule after warm-up', default: d.schedule, choices: ['constant', 'cosine', 'linear'] },
    'weight-decay': { type: 'string', help: 'AdamW decoupled weight decay', default: String(d.weightDecay) },
    clip: { type: 'string', help: 'clip the global gradient norm (0: off)', default: String(d.clip) },
    context: { type: 'string', help: 'context length (n_positions)', default: String(d.context) },
    layers: { type: 'string', help: 'transformer blocks', default: String(d.layers) },
    'd-model': { type: 'string', help: 'model width (n_embd)', default: String(d.dModel) },
    heads: { type: 'string', help: 'attention heads', default: String(d.heads) },
    ffn: { type: 'string', help: 'feed-forward width (n_inner)', default: String(d.ffn) },
    ...ENGINE_FLAGS,
    seed: { type: 'string', help: 'seed of initialisation and batch order', default: String(d.seed) },
    'eval-every': { type: 'string', help: 'evaluate on held-out documents every N steps (0: only at the end)', default: String(d.evalEvery) },
    'checkpoint-every': { type: 'string', help: 'save every N steps (0: only at the end)', default: String(d.checkpointEvery) },
    resume: { type: 'boolean', help: 'continue the run saved in --out (weights, optimizer, step)', default: false },
  },
};

export function gptOptions(v: Parsed): GptPretrainOptions {
  const tokenizer = String(v.tokenizer);
  if (tokenizer !== 'bytes' && !/^bpe:\d+$/.test(tokenizer) && !tokenizer.endsWith('.json')) {
    throw new ArgumentError(`--tokenizer ${tokenizer}: expected bytes, bpe:<size> or a path to tokenizer.json`);
  }
  return {
    ...GPT_PRETRAIN_DEFAULTS,
    data: stringFlag(v, 'data'),
    out: stringFlag(v, 'out'),
    tokenizer,
    steps: intFlag(v, 'steps'),
    batch: intFlag(v, 'batch'),
    lr: numberFlag(v, 'lr', 1e-8, 10),
    warmup: intFlag(v, 'warmup', 0),
    schedule: v.schedule as ScheduleName,
    weightDecay: numberFlag(v, 'weight-decay', 0, 10),
    clip: numberFlag(v, 'clip', 0),
    context: intFlag(v, 'context', 2, 65536),
    layers: intFlag(v, 'layers', 1, 256),
    dModel: intFlag(v, 'd-model', 1, 65536),
    heads: intFlag(v, 'heads', 1, 1024),
    ffn: intFlag(v, 'ffn', 1, 1 << 20),
    ...engineFlags(v),
    seed: intFlag(v, 'seed', 0),
    evalEvery: intFlag(v, 'eval-every', 0),
    checkpointEvery: intFlag(v, 'checkpoint-every', 0),
    resume: v.resume === true,
  };
}

const db = BERT_PRETRAIN_DEFAULTS;

export const PRETRAIN_BERT: CommandSpec = {
  name: 'pretrain bert',
  summary: 'Pre-train a BERT (encoder, masked LM + next-sentence prediction) on text, with a WordPiece vocabulary trained on it.',
  usage: 'simdformer pretrain bert --data <file|dir|brown|spam> --out <dir> [options]',
  flags: {
    data: { type: 'string', help: "training text: a file, a folder of text files, 'brown' or 'spam' (embedded: the Brown corpus; the SpamAssassin training split's messages)" },
    out: { type: 'string', help: 'checkpoint folder (config.json, model.safetensors, tokenizer.json)' },
    vocab: { type: 'string', help: 'WordPiece vocabulary size', default: String(db.vocabSize) },
    'no-nsp': { type: 'boolean', help: 'masked LM alone (RoBERTa style): single segments, no NSP head', default: false },
    'whole-word': { type: 'boolean', help: "whole-word masking: a word's ## pieces are masked with it", default: false },
    'pre-norm': { type: 'boolean', help: 'pre-LN blocks and a final LayerNorm (simdformer option: trains faster at small scale; not loadable by transformers)', default: false },
    steps: { type: 'string', help: 'optimizer steps', default: String(db.steps) },
    batch: { type: 'string', help: 'sequences per step', default: String(db.batch) },
    'max-len': { type: 'string', help: 'tokens per sequence, [CLS] and [SEP]s included', default: String(db.maxLen) },
    lr: { type: 'string', help: 'peak learning rate (AdamW, linear decay)', default: String(db.lr) },
    warmup: { type: 'string', help: 'linear warm-up steps', default: String(db.warmup) },
    layers: { type: 'string', help: 'encoder blocks', default: String(db.layers) },
    hidden: { type: 'string', help: 'hidden size', default: String(db.hidden) },
    heads: { type: 'string', help: 'attention heads', default: String(db.heads) },
    ffn: { type: 'string', help: 'intermediate size', default: String(db.ffn) },
    ...ENGINE_FLAGS,
    seed: { type: 'string', help: 'seed of initialisation, pairs and masks', default: String(db.seed) },
    'eval-every': { type: 'string', help: 'evaluate on held-out documents every N steps (0: only at the end)', default: String(db.evalEvery) },
    'checkpoint-every': { type: 'string', help: 'save the checkpoint with the optimizer state every N steps (0: only at the end)', default: String(db.checkpointEvery) },
    resume: { type: 'boolean', help: 'continue the run saved in --out (weights, optimizer, step); give the options it was started with', default: false },
  },
};

async function runBert(argv: string[]): Promise<void> {
  const v = parseFlags(PRETRAIN_BERT, argv);
  if (v === 'help') {
    process.stdout.write(helpText(PRETRAIN_BERT));
    return;
  }
  const opts = {
    ...db,
    data: stringFlag(v, 'data'),
    out: stringFlag(v, 'out'),
    vocabSize: intFlag(v, 'vocab', 16, 1 << 20),
    nsp: v['no-nsp'] !== true,
    preNorm: v['pre-norm'] === true,
    wholeWord: v['whole-word'] === true,
    steps: intFlag(v, 'steps'),
    batch: intFlag(v, 'batch'),
    maxLen: intFlag(v, 'max-len', 8, 4096),
    lr: numberFlag(v, 'lr', 1e-8, 10),
    warmup: intFlag(v, 'warmup', 0),
    layers: intFlag(v, 'layers', 1, 256),
    hidden: intFlag(v, 'hidden', 1, 65536),
    heads: intFlag(v, 'heads', 1, 1024),
    ffn: intFlag(v, 'ffn', 1, 1 << 20),
    ...engineFlags(v),
    seed: intFlag(v, 'seed', 0),
    evalEvery: intFlag(v, 'eval-every', 0),
    checkpointEvery: intFlag(v, 'checkpoint-every', 0),
    resume: v.resume === true,
  };
  if (opts.hidden % opts.heads !== 0) throw new ArgumentError(`--hidden ${opts.hidden} must be divisible by --heads ${opts.heads}`);
  const progress = new Progress(opts.steps);
  const result = await pretrainBert({
    ...opts,
    onStep: (r) => progress.update(r.step + 1, { loss: r.loss.toFixed(3) }),
    onEval: (ev) =>
      progress.note(`step ${ev.step}: held-out loss ${ev.loss.toFixed(3)}, MLM accuracy ${(ev.mlmAccuracy * 100).toFixed(1)} %${ev.nspAccuracy !== undefined ? `, NSP accuracy ${(ev.nspAccuracy * 100).toFixed(1)} %` : ''}`),
  });
  progress.finish();
  const ev = result.lastEval!;
  process.stdout.write(
    `trained ${result.trainer.globalStep} steps (${result.epochs} epoch${result.epochs === 1 ? '' : 's'} of pairs) in ${result.seconds.toFixed(0)} s on ${engineText(result.engine)}\n` +
      `held-out: loss ${ev.loss.toFixed(3)}, MLM accuracy ${(ev.mlmAccuracy * 100).toFixed(1)} %` +
      (ev.nspAccuracy !== undefined ? `, NSP accuracy ${(ev.nspAccuracy * 100).toFixed(1)} %` : '') +
      `\ncheckpoint: ${opts.out}\n`,
  );
  await result.engine.dispose();
}

const ds = SEQ2SEQ_PRETRAIN_DEFAULTS;

export const PRETRAIN_SEQ2SEQ: CommandSpec = {
  name: 'pretrain t5|bart',
  summary: 'Pre-train an encoder-decoder by denoising: T5 span corruption or BART text infilling + sentence permutation, with a byte-level BPE trained on the text.',
  usage: 'simdformer pretrain t5|bart --data <file|dir|brown|spam> --out <dir> [options]',
  flags: {
    data: { type: 'string', help: "training text: a file, a folder of text files, 'brown' or 'spam' (embedded: the Brown corpus; the SpamAssassin training split's messages)" },
    out: { type: 'string', help: 'checkpoint folder (config.json, model.safetensors, tokenizer.json)' },
    vocab: { type: 'string', help: 'BPE vocabulary size (special tokens and T5 sentinels included)', default: String(ds.vocabSize) },
    steps: { type: 'string', help: 'optimizer steps', default: String(ds.steps) },
    batch: { type: 'string', help: 'examples per step', default: String(ds.batch) },
    'max-len': { type: 'string', help: 'tokens of text per example before noising', default: String(ds.maxLen) },
    lr: { type: 'string', help: 'peak learning rate (AdamW, linear decay)', default: String(ds.lr) },
    warmup: { type: 'string', help: 'linear warm-up steps', default: String(ds.warmup) },
    'd-model': { type: 'string', help: 'model width', default: String(ds.dModel) },
    layers: { type: 'string', help: 'encoder and decoder blocks (each)', default: String(ds.layers) },
    heads: { type: 'string', help: 'attention heads', default: String(ds.heads) },
    ffn: { type: 'string', help: 'feed-forward width', default: String(ds.ffn) },
    ...ENGINE_FLAGS,
    seed: { type: 'string', help: 'seed of initialisation, order and noise', default: String(ds.seed) },
    'eval-every': { type: 'string', help: 'held-out loss every N steps (0: only at the end)', default: String(ds.evalEvery) },
  },
};

async function runSeq2Seq(family: 't5' | 'bart', argv: string[]): Promise<void> {
  const v = parseFlags(PRETRAIN_SEQ2SEQ, argv);
  if (v === 'help') {
    process.stdout.write(helpText(PRETRAIN_SEQ2SEQ));
    return;
  }
  const dModel = intFlag(v, 'd-model', 1, 65536);
  const heads = intFlag(v, 'heads', 1, 1024);
  if (dModel % heads !== 0) throw new ArgumentError(`--d-model ${dModel} must be divisible by --heads ${heads}`);
  const steps = intFlag(v, 'steps');
  const progress = new Progress(steps);
  const r = await pretrainSeq2Seq({
    family,
    data: stringFlag(v, 'data'),
    out: stringFlag(v, 'out'),
    vocabSize: intFlag(v, 'vocab', 16, 1 << 20),
    steps,
    batch: intFlag(v, 'batch'),
    maxLen: intFlag(v, 'max-len', 16, 4096),
    lr: numberFlag(v, 'lr', 1e-8, 10),
    warmup: intFlag(v, 'warmup', 0),
    dModel,
    layers: intFlag(v, 'layers', 1, 256),
    heads,
    ffn: intFlag(v, 'ffn', 1, 1 << 20),
    ...engineFlags(v),
    seed: intFlag(v, 'seed', 0),
    evalEvery: intFlag(v, 'eval-every', 0),
    onStep: (s) => progress.update(s.step + 1, { loss: s.loss.toFixed(3) }),
    onEval: (step, loss) => progress.note(`step ${step}: held-out loss ${loss.toFixed(3)}`),
  });
  progress.finish();
  process.stdout.write(
    `trained ${r.trainer.globalStep} steps in ${r.seconds.toFixed(0)} s on ${engineText(r.engine)} (${Math.round(r.tokensPerSecond).toLocaleString('en-US')} tokens/s, source + target)\n` +
      `held-out denoising loss ${r.valLoss.toFixed(3)}\ncheckpoint: ${stringFlag(v, 'out')}\n`,
  );
  await r.engine.dispose();
}

export async function run(argv: string[]): Promise<void> {
  const [family, ...rest] = argv;
  if (family === 'bert') return runBert(rest);
  if (family === 't5' || family === 'bart') return runSeq2Seq(family, rest);
  if (family !== 'gpt') {
    if (family === '--help' || family === undefined) {
      process.stdout.write(`${helpText(PRETRAIN_GPT)}\n${helpText(PRETRAIN_BERT)}\n${helpText(PRETRAIN_SEQ2SEQ)}`);
      return;
    }
    throw new ArgumentError(`pretrain: unknown model family ${JSON.stringify(family)}; families: gpt, bert, t5, bart`);
  }
  const v = parseFlags(PRETRAIN_GPT, rest);
  if (v === 'help') {
    process.stdout.write(helpText(PRETRAIN_GPT));
    return;
  }
  const opts = gptOptions(v);
  if (opts.dModel % opts.heads !== 0) throw new ArgumentError(`--d-model ${opts.dModel} must be divisible by --heads ${opts.heads}`);
  const progress = new Progress(opts.steps);
  const result = await pretrainGpt({
    ...opts,
    onStep: (r) => progress.update(r.step + 1, { loss: r.loss.toFixed(3), 'tok/s': Math.round(r.tokensPerSecond).toLocaleString('en-US') }),
  });
  progress.finish();
  const svg = await writeLossCurve(opts.out);
  const ev = result.lastEval;
  process.stdout.write(
    `trained ${result.trainer.globalStep} steps in ${result.seconds.toFixed(0)} s on ${engineText(result.engine)}\n` +
      (ev ? `validation: loss ${ev.loss.toFixed(3)}, perplexity ${ev.perplexity.toFixed(2)}, ${ev.bitsPerByte.toFixed(3)} bits per byte\n` : '') +
      `checkpoint: ${opts.out}\nmetrics:    ${opts.out}/metrics.jsonl\nloss curve: ${svg}\n`,
  );
  await result.engine.dispose();
}
