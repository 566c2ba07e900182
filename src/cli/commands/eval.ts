import { packClm } from '../../data/clm.js';
import { loadTextDocuments } from '../../data/text.js';
import { ArgumentError } from '../../errors.js';
import { asCausalLM, loadModel } from '../../models/load.js';
import { Engine } from '../../tensor/engine.js';
import { validationBatches } from '../../train/lm-pretrain.js';
import { helpText, intFlag, parseFlags, stringFlag, type CommandSpec } from '../args.js';

export const EVAL: CommandSpec = {
  name: 'eval',
  summary: 'Loss, perplexity and bits per byte of a checkpoint on text, as JSON.',
  usage: 'simdformer eval --from <dir> --data <file|dir|brown> [options]',
  flags: {
    from: { type: 'string', help: 'checkpoint folder' },
    data: { type: 'string', help: "text to score: a file, a folder, or 'brown'" },
    batch: { type: 'string', help: 'windows per forward pass', default: '8' },
    'max-windows': { type: 'string', help: 'score at most this many windows', default: '100000' },
    threads: { type: 'string', help: "threads, or 'auto'", default: 'auto' },
  },
};

export async function run(argv: string[]): Promise<void> {
  const v = parseFlags(EVAL, argv);
  if (v === 'help') {
    process.stdout.write(helpText(EVAL));
    return;
  }
  const engine = await Engine.create({ threads: v.threads === 'auto' ? 'auto' : intFlag(v, 'threads', 1, 256) });
  try {
    const model = asCausalLM(await loadModel(engine, stringFlag(v, 'from')), String(v.from));
    const tok = model.tokenizer;
    if (!tok) throw new ArgumentError('the checkpoint has no tokenizer.json');
    const docs = await loadTextDocuments(stringFlag(v, 'data'));
    const ids = docs.map((d) => tok.encode(d.text, undefined, { addSpecialTokens: false }).ids);
    const eosId = tok.eosId ?? tok.encode('\n', undefined, { addSpecialTokens: false }).ids[0]!;
    const windows = packClm(ids, { eosId, contextLength: model.config.n_positions });
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
    const result = { windows: n, tokens: n * model.config.n_positions, loss, perplexity: Math.exp(loss), bitsPerByte: loss / Math.LN2 / (bytes / tokens) };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await engine.dispose();
  }
}
