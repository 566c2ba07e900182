import { GPT_PRETRAIN_DEFAULTS, pretrainGpt } from '../../recipes/pretrain-gpt.js';
import type { ScheduleName } from '../../train/schedule.js';
import {
  ENGINE_FLAGS,
  engineText,
  helpText,
  intFlag,
  numberFlag,
  parseFlags,
  stringFlag,
  withEngine,
  type CommandSpec,
} from '../args.js';
import { LORA_FLAGS, loraChoice, loraSavedText } from '../lora-flag.js';
import { Progress } from '../progress.js';
import { writeLossCurve } from './report.js';

export const FINETUNE_CAUSAL: CommandSpec = {
  name: 'finetune causal',
  summary:
    "Fine-tune a causal LM (GPT-2 or LLaMA) on your text: continued next-token training from a checkpoint's weights and tokenizer, with a fresh optimizer.",
  usage: 'simdformer finetune causal --from <checkpoint dir> --data <file|dir|brown|spam> --out <dir> [options]',
  flags: {
    from: { type: 'string', help: 'a gpt2 or llama checkpoint with its tokenizer.json' },
    data: {
      type: 'string',
      help: "training text: a file, a folder of text files, 'brown' or 'spam' (5 % of the documents held out)",
    },
    out: { type: 'string', help: 'where the fine-tuned checkpoint, its optimizer state and metrics.jsonl go' },
    steps: { type: 'string', help: 'optimizer steps', default: '200' },
    batch: { type: 'string', help: 'sequences per step', default: '8' },
    context: { type: 'string', help: "tokens per sequence (at most the model's context)", default: '128' },
    lr: { type: 'string', help: 'peak learning rate (AdamW)', default: '5e-5' },
    warmup: { type: 'string', help: 'linear warm-up steps', default: '20' },
    schedule: {
      type: 'string',
      help: 'learning-rate schedule after warm-up',
      default: 'cosine',
      choices: ['constant', 'cosine', 'linear'],
    },
    'weight-decay': { type: 'string', help: 'AdamW decoupled weight decay', default: '0' },
    clip: { type: 'string', help: 'clip the global gradient norm (0: off)', default: '1' },
    'eval-every': {
      type: 'string',
      help: 'evaluate on held-out documents every N steps (0: only at the end)',
      default: '50',
    },
    'checkpoint-every': {
      type: 'string',
      help: 'save the checkpoint (with --lora: the adapter) with the optimizer state every N steps (0: only at the end)',
      default: '0',
    },
    resume: {
      type: 'boolean',
      help: 'continue the fine-tuning run saved in --out; give the options it was started with (a LoRA run: its --from and --lora too)',
      default: false,
    },
    ...LORA_FLAGS,
    'gradient-checkpointing': {
      type: 'boolean',
      help: "recompute each block's activations in backward instead of keeping them: the same result, ~1/3 more compute, far less memory (what lets GPT-2 small 4 × 256 or BERT-base 16 × 128 fine-tune in 4 GiB)",
      default: false,
    },
    ...ENGINE_FLAGS,
    seed: { type: 'string', help: 'seed of the batch order', default: '0' },
  },
};

export async function runCausal(argv: string[]): Promise<void> {
  const v = parseFlags(FINETUNE_CAUSAL, argv);
  if (v === 'help') {
    process.stdout.write(helpText(FINETUNE_CAUSAL));
    return;
  }
  const steps = intFlag(v, 'steps');
  const out = stringFlag(v, 'out');
  const progress = new Progress(steps);
  await withEngine(v, async (engine) => {
    const r = await pretrainGpt(engine, {
      from: stringFlag(v, 'from'),
      saveTotalLimit: GPT_PRETRAIN_DEFAULTS.saveTotalLimit,
      data: stringFlag(v, 'data'),
      out,
      tokenizer: 'bytes', // unused: the checkpoint's tokenizer is kept
      steps,
      batch: intFlag(v, 'batch'),
      context: intFlag(v, 'context', 2, 65536),
      lr: numberFlag(v, 'lr', 1e-8, 10),
      warmup: intFlag(v, 'warmup', 0),
      schedule: v.schedule as ScheduleName,
      weightDecay: numberFlag(v, 'weight-decay', 0, 10),
      clip: numberFlag(v, 'clip', 0),
      evalEvery: intFlag(v, 'eval-every', 0),
      evalWindows: 64,
      checkpointEvery: intFlag(v, 'checkpoint-every', 0),
      logEvery: 10,
      resume: v.resume === true,
      gradientCheckpointing: v['gradient-checkpointing'] === true,
      seed: intFlag(v, 'seed', 0),
      ...loraChoice(v),
      // the shape is the checkpoint's; these are not read when starting from one
      layers: 0,
      dModel: 0,
      heads: 0,
      ffn: 0,
      onStep: (s) =>
        progress.update(s.step + 1, {
          loss: s.loss.toFixed(3),
          'tok/s': Math.round(s.tokensPerSecond).toLocaleString('en-US'),
        }),
    });
    progress.finish();
    const svg = await writeLossCurve(out);
    const ev = r.lastEval;
    process.stdout.write(
      `fine-tuned ${r.model.config.model_type} for ${r.trainer.globalStep} steps in ${r.seconds.toFixed(0)} s on ${engineText(engine)}\n` +
        (ev
          ? `validation: loss ${ev.loss.toFixed(3)}, perplexity ${ev.perplexity.toFixed(2)}, ${ev.bitsPerByte.toFixed(3)} bits per byte\n`
          : '') +
        (r.lora ? loraSavedText(out, r.lora, v.merge === true, 11) : `checkpoint: ${out}\n`) +
        `metrics:    ${out}/metrics.jsonl\nloss curve: ${svg}\n`,
    );
  });
}
