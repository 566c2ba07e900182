import { ArgumentError } from '../../errors.js';
import { Bert } from '../../models/bert.js';
import { ENGINE_FLAGS, helpText, parseFlags, stringFlag, withEngine, type CommandSpec } from '../args.js';
import { loadFrom } from '../from.js';

export const PREDICT: CommandSpec = {
  name: 'predict',
  summary:
    'Labels of a text (sequence classification) or of its words (tagging), with probabilities, from a fine-tuned BERT or RoBERTa.',
  usage: 'simdformer predict --from <dir> --text "…" [--pair "…"] [--threads N] [--simd relaxed]',
  flags: {
    from: {
      type: 'string',
      help: 'a fine-tuned checkpoint (Bert… or RobertaForSequenceClassification, …ForTokenClassification)',
    },
    text: { type: 'string', help: 'the text' },
    pair: { type: 'string', help: 'a second text, for sentence-pair classification' },
    ...ENGINE_FLAGS,
  },
};

const softmax = (xs: Float32Array) => {
  const m = Math.max(...xs);
  const e = Array.from(xs, (x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
};

export async function run(argv: string[]): Promise<void> {
  const v = parseFlags(PREDICT, argv);
  if (v === 'help') {
    process.stdout.write(helpText(PREDICT));
    return;
  }
  const from = stringFlag(v, 'from');
  const text = stringFlag(v, 'text');
  await withEngine(v, async (engine) => {
    const model = await loadFrom(engine, from);
    if (!(model instanceof Bert) || !model.classifier)
      throw new ArgumentError(`${from} is not a fine-tuned classifier or tagger`);
    const tok = model.tokenizer!;
    const labels = model.config.id2label;
    const K = model.config.num_labels;
    if (model.task === 'sequence-classification') {
      const e = tok.encode(text, typeof v.pair === 'string' ? v.pair : undefined);
      const logits = engine.noGrad(() =>
        model.forward({ inputIds: [e.ids], tokenTypeIds: [e.tokenTypeIds] }).logits.toArray(),
      );
      const p = softmax(logits);
      const order = p.map((x, k) => [x, k] as const).sort((a, b) => b[0] - a[0]);
      for (const [x, k] of order) process.stdout.write(`${labels[k]}\t${x.toFixed(4)}\n`);
    } else {
      const words = text.split(/\s+/).filter(Boolean);
      const ids = [tok.clsId!];
      const first: number[] = [];
      for (const w of words) {
        first.push(ids.length);
        ids.push(...tok.encodeWord(w));
      }
      ids.push(tok.sepId!);
      const logits = engine.noGrad(() => model.forward({ inputIds: [ids] }).logits.toArray());
      words.forEach((w, i) => {
        const p = softmax(logits.subarray(first[i]! * K, (first[i]! + 1) * K));
        const k = p.indexOf(Math.max(...p));
        process.stdout.write(`${w}\t${labels[k]}\t${p[k]!.toFixed(4)}\n`);
      });
    }
  });
}
