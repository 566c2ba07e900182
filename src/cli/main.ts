#!/usr/bin/env node
/** The `simdformer` command: one sub-command per job, each with --help. */
import { SimdformerError } from '../errors.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  demo: {
    summary: 'train a small GPT on the Brown corpus, then sample from it',
    load: () => import('./commands/demo.js'),
  },
  pretrain: {
    summary: 'pre-train a model: pretrain gpt|llama|bert|t5|bart --data <file|dir|brown> --out <dir>',
    load: () => import('./commands/pretrain.js'),
  },
  generate: {
    summary: 'generate text from a checkpoint: generate --from <dir> --prompt "…"',
    load: () => import('./commands/generate.js'),
  },
  finetune: {
    summary:
      'fine-tune: finetune classify|tag (BERT) --data spam|brown-pos|<jsonl>, finetune seq2seq --task g2p (T5/BART), or finetune causal --from <dir> --data <text> (GPT-2/LLaMA)',
    load: () => import('./commands/finetune.js'),
  },
  predict: {
    summary: 'labels of a text or its words from a fine-tuned BERT',
    load: () => import('./commands/predict.js'),
  },
  eval: {
    summary: 'score a checkpoint: bits per byte on text (GPT-2, LLaMA), or --task g2p word/phoneme error (T5/BART)',
    load: () => import('./commands/eval.js'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return `simdformer — pre-train, fine-tune and run transformer language models on the CPU\n\nUsage: simdformer <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`simdformer <command> --help\` for a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(
      `simdformer: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`,
    );
    return 2;
  }
  try {
    await (await command.load()).run(rest);
    return 0;
  } catch (err) {
    if (err instanceof SimdformerError) {
      process.stderr.write(`simdformer ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
