import { ArgumentError } from '../../errors.js';
import { Bart } from '../../models/bart.js';
import { asCausalLM } from '../../models/load.js';
import { T5 } from '../../models/t5.js';
import type { GenerateResult } from '../../generate/generate.js';
import { Engine } from '../../tensor/engine.js';
import {
  engineFlags,
  ENGINE_FLAGS,
  helpText,
  intFlag,
  numberFlag,
  parseFlags,
  stringFlag,
  type CommandSpec,
} from '../args.js';
import { FROM_HELP, loadFrom } from '../from.js';

export const GENERATE: CommandSpec = {
  name: 'generate',
  summary:
    'Generate text from a checkpoint, streaming tokens as they come: a continuation (GPT) or a target for the prompt as source (T5, BART).',
  usage: 'simdformer generate --from <dir | url | hf://owner/name> --prompt "…" [options]',
  flags: {
    from: { type: 'string', help: FROM_HELP },
    prompt: { type: 'string', help: 'text to continue' },
    'max-new': { type: 'string', help: 'tokens to generate at most', default: '100' },
    temperature: { type: 'string', help: 'sampling temperature (with --top-k / --top-p or --sample)', default: '1' },
    'top-k': { type: 'string', help: 'sample from the k most likely tokens (0: all)', default: '0' },
    'top-p': { type: 'string', help: 'sample from the smallest set with this mass (1: all)', default: '1' },
    sample: {
      type: 'boolean',
      help: 'sample even without top-k/top-p (default: greedy unless one is set)',
      default: false,
    },
    seed: { type: 'string', help: 'sampling seed', default: '0' },
    beams: { type: 'string', help: 'T5/BART: beam search with this many beams (1: greedy or sampling)', default: '1' },
    'length-penalty': {
      type: 'string',
      help: 'T5/BART beam search: score = log-probability / length^this',
      default: '1',
    },
    slide: {
      type: 'boolean',
      help: 'GPT: when the context is full, keep its last half and go on (default: stop there, saying so)',
      default: false,
    },
    quantize: {
      type: 'string',
      help: "'int8': weight-only int8 (a quarter of the weight bytes per token; docs/quantization.md)",
    },
    ...ENGINE_FLAGS,
  },
};

/**
 * A line on stderr when generation stopped short of --max-new for want of positions, so a short output
 * never passes for a finished one.
 */
function noticeIfShort(r: GenerateResult | undefined, asked: number, positions: number, slide: string): void {
  if (r?.finishReason !== 'context') return;
  process.stderr.write(
    `simdformer generate: stopped after ${r.newTokens} of ${asked} new tokens: the model's ${positions} positions are full${slide}\n`,
  );
}

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
  const quantize = v.quantize === undefined ? undefined : stringFlag(v, 'quantize');
  if (quantize !== undefined && quantize !== 'int8')
    throw new ArgumentError(`--quantize takes int8, got ${JSON.stringify(quantize)}`);
  const engine = await Engine.create(engineFlags(v));
  try {
    const loaded = await loadFrom(engine, from, { quantize });
    const sampling = {
      doSample: v.sample === true || topK > 0 || topP < 1 || temperature !== 1,
      temperature,
      topK,
      topP,
      seed: intFlag(v, 'seed', 0),
    };
    if (loaded instanceof T5 || loaded instanceof Bart) {
      const tok = loaded.tokenizer;
      if (!tok) throw new ArgumentError(`${from} has no tokenizer.json to encode the prompt`);
      const source = [...tok.encode(prompt, undefined, { addSpecialTokens: false }).ids, loaded.eosId];
      const beams = intFlag(v, 'beams', 1, 64);
      const maxNew = intFlag(v, 'max-new', 1);
      const out: number[] = [];
      let shown = '';
      let finish: GenerateResult | undefined;
      for await (const id of loaded.generate(source, {
        ...sampling,
        doSample: beams > 1 ? false : sampling.doSample,
        maxNewTokens: maxNew,
        numBeams: beams,
        lengthPenalty: numberFlag(v, 'length-penalty'),
        onFinish: (r) => (finish = r),
      })) {
        if (id === loaded.eosId) continue; // the last token: not shown
        out.push(id);
        const text = tok.decode(out, { skipSpecialTokens: true });
        if (!text.endsWith('\uFFFD') && text.startsWith(shown)) {
          process.stdout.write(text.slice(shown.length));
          shown = text;
        }
      }
      process.stdout.write('\n');
      noticeIfShort(finish, maxNew, loaded.maxPositions, '');
      return;
    }
    const model = asCausalLM(loaded, from);
    const tok = model.tokenizer;
    if (!tok) throw new ArgumentError(`${from} has no tokenizer.json to encode the prompt`);
    const ids = tok.encode(prompt, undefined, { addSpecialTokens: false }).ids;
    const maxNew = intFlag(v, 'max-new', 0);
    process.stdout.write(prompt);
    const out: number[] = [];
    let shown = '';
    let finish: GenerateResult | undefined;
    for await (const id of model.generate(ids, {
      maxNewTokens: maxNew,
      ...sampling,
      eosTokenId: model.config.eos_token_id ?? undefined,
      contextFull: v.slide === true ? 'slide' : 'stop',
      onFinish: (r) => (finish = r),
    })) {
      out.push(id);
      const text = tok.decode(out);
      if (!text.endsWith('\uFFFD')) {
        process.stdout.write(text.slice(shown.length));
        shown = text;
      }
    }
    process.stdout.write('\n');
    noticeIfShort(finish, maxNew, model.contextLength, ' (--slide keeps going on the last half of the context)');
  } finally {
    await engine.dispose();
  }
}
