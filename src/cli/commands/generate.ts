import { ArgumentError } from '../../errors.js';
import { asCausalLM, loadModel } from '../../models/load.js';
import { Engine } from '../../tensor/engine.js';
import { helpText, intFlag, numberFlag, parseFlags, stringFlag, type CommandSpec } from '../args.js';

export const GENERATE: CommandSpec = {
  name: 'generate',
  summary: 'Generate text from a checkpoint, streaming tokens as they come.',
  usage: 'simdformer generate --from <dir> --prompt "…" [options]',
  flags: {
    from: { type: 'string', help: 'checkpoint folder' },
    prompt: { type: 'string', help: 'text to continue' },
    'max-new': { type: 'string', help: 'tokens to generate at most', default: '100' },
    temperature: { type: 'string', help: 'sampling temperature (with --top-k / --top-p or --sample)', default: '1' },
    'top-k': { type: 'string', help: 'sample from the k most likely tokens (0: all)', default: '0' },
    'top-p': { type: 'string', help: 'sample from the smallest set with this mass (1: all)', default: '1' },
    sample: { type: 'boolean', help: 'sample even without top-k/top-p (default: greedy unless one is set)', default: false },
    seed: { type: 'string', help: 'sampling seed', default: '0' },
    threads: { type: 'string', help: "threads, or 'auto'", default: 'auto' },
  },
};

export async function run(argv: string[]): Promise<void> {
  const v = parseFlags(GENERATE, argv);
  if (v === 'help') {
    process.stdout.write(helpText(GENERATE));
    return;
  }
  const from = stringFlag(v, 'from');
  const prompt = stringFlag(v, 'prompt');
  const topK = intFlag(v, 'top-k', 0);
  const topP = numberFlag(v, 'top-p', 0, 1);
  const temperature = numberFlag(v, 'temperature', 1e-6);
  const threads = v.threads === 'auto' ? 'auto' : intFlag(v, 'threads', 1, 256);
  const engine = await Engine.create({ threads });
  try {
    const model = asCausalLM(await loadModel(engine, from), from);
    const tok = model.tokenizer;
    if (!tok) throw new ArgumentError(`${from} has no tokenizer.json to encode the prompt`);
    const ids = tok.encode(prompt, undefined, { addSpecialTokens: false }).ids;
    process.stdout.write(prompt);
    const out: number[] = [];
    let shown = '';
    for await (const id of model.generate(ids, {
      maxNewTokens: intFlag(v, 'max-new', 0),
      doSample: v.sample === true || topK > 0 || topP < 1 || temperature !== 1,
      temperature,
      topK,
      topP,
      seed: intFlag(v, 'seed', 0),
      eosTokenId: model.config.eos_token_id ?? undefined,
    })) {
      out.push(id);
      const text = tok.decode(out);
      if (!text.endsWith('\uFFFD')) {
        process.stdout.write(text.slice(shown.length));
        shown = text;
      }
    }
    process.stdout.write('\n');
  } finally {
    await engine.dispose();
  }
}
