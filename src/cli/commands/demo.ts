import type { CausalModel } from '../../models/load.js';
import { GPT_PRETRAIN_DEFAULTS, pretrainGpt } from '../../recipes/pretrain-gpt.js';
import { ENGINE_FLAGS, engineText, helpText, intFlag, parseFlags, withEngine, type CommandSpec } from '../args.js';
import { Progress } from '../progress.js';
import { writeLossCurve } from './report.js';

export const DEMO: CommandSpec = {
  name: 'demo',
  summary:
    "Train a small GPT on the Brown corpus (embedded, byte-level) on all cores, then compare its greedy, top-k and top-p samples with the untrained model's.",
  usage: 'simdformer demo [--steps N] [--out DIR] [--threads N] [--simd plain|relaxed]',
  flags: {
    steps: { type: 'string', help: 'training steps (about 3 minutes on 2 cores)', default: '1500' },
    out: { type: 'string', help: 'where the checkpoint, metrics and loss curve go', default: 'runs/demo' },
    ...ENGINE_FLAGS,
  },
};

const PROMPTS = ['The jury said', 'It was the first time'];
const DECODERS = [
  { name: 'greedy', opts: {} },
  { name: 'top-k 40, T 0.8', opts: { doSample: true, topK: 40, temperature: 0.8 } },
  { name: 'top-p 0.9, T 0.8', opts: { doSample: true, topP: 0.9, temperature: 0.8 } },
];

async function samples(model: CausalModel): Promise<string[]> {
  const tok = model.tokenizer!;
  const out: string[] = [];
  for (const prompt of PROMPTS) {
    for (const d of DECODERS) {
      const ids: number[] = [];
      for await (const id of model.generate(tok.encode(prompt, undefined, { addSpecialTokens: false }).ids, {
        maxNewTokens: 80,
        seed: 1,
        ...d.opts,
      }))
        ids.push(id);
      out.push(`${prompt}${tok.decode(ids)}`.replace(/\s+/g, ' '));
    }
  }
  return out;
}

export async function run(argv: string[]): Promise<void> {
  const v = parseFlags(DEMO, argv);
  if (v === 'help') {
    process.stdout.write(helpText(DEMO));
    return;
  }
  const steps = intFlag(v, 'steps');
  const out = String(v.out);
  const o = GPT_PRETRAIN_DEFAULTS;
  process.stdout.write(
    `simdformer demo: a ${o.layers}-layer GPT (d_model ${o.dModel}, ${o.heads} heads, context ${o.context}, byte-level) ` +
      `learns English from the Brown corpus (500 documents, 1.16 M words; 5 % held out)\n`,
  );
  let before: string[] = [];
  const progress = new Progress(steps);
  await withEngine(v, async (engine) => {
    const result = await pretrainGpt(engine, {
      ...o,
      data: 'brown',
      out,
      steps,
      warmup: 100,
      lr: 2e-3,
      evalEvery: 200,
      checkpointEvery: 0,
      onStart: async (model, data) => {
        process.stdout.write(
          `${data.train.N.toLocaleString('en-US')} training windows of ${o.context} bytes; ${engineText(engine)}\n`,
        );
        before = await samples(model);
      },
      onStep: (r) =>
        progress.update(r.step + 1, {
          loss: r.loss.toFixed(3),
          'tok/s': Math.round(r.tokensPerSecond).toLocaleString('en-US'),
        }),
    });
    progress.finish();
    const after = await samples(result.model);
    const ev = result.lastEval!;
    process.stdout.write(
      `\ntrained ${steps} steps in ${result.seconds.toFixed(0)} s: held-out loss ${ev.loss.toFixed(3)} nats/byte = ${ev.bitsPerByte.toFixed(3)} bits per byte (perplexity ${ev.perplexity.toFixed(2)})\n\n`,
    );
    let i = 0;
    for (const prompt of PROMPTS) {
      for (const d of DECODERS) {
        process.stdout.write(`[${d.name}] "${prompt}"\n  untrained: ${before[i]}\n  trained:   ${after[i]}\n`);
        i++;
      }
    }
  });
  const svg = await writeLossCurve(out);
  process.stdout.write(
    `\ncheckpoint: ${out}/ (config.json, model.safetensors, tokenizer.json — loads in Hugging Face transformers)\nmetrics:    ${out}/metrics.jsonl\nloss curve: ${svg}\n`,
  );
}
