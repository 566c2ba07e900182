#!/usr/bin/env node
/** The `simdformer` command: one sub-command per job, each with --help. */
import { readFileSync } from 'node:fs';
import { SimdformerError } from '../errors.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  demo: {
    summary: 'train a small GPT on the Brown corpus, then sample from it',
    load: () => import('./commands/demo.js'),
  },
  pretrain: {
    summary: 'pre-train a model: pretrain gpt|llama|bert|roberta|t5|bart --data <file|dir|brown> --out <dir>',
    load: () => import('./commands/pretrain.js'),
  },
  generate: {
    summary: 'generate text from a checkpoint: generate --from <dir | hf://owner/name> --prompt "…"',
    load: () => import('./commands/generate.js'),
  },
  finetune: {
    summary:
      'fine-tune: finetune classify|tag (BERT, RoBERTa) --data spam|brown-pos|<jsonl>, finetune seq2seq --task g2p (T5/BART), or finetune causal --from <dir> --data <text> (GPT-2/LLaMA)',
    load: () => import('./commands/finetune.js'),
  },
  predict: {
    summary: 'labels of a text or its words from a fine-tuned BERT or RoBERTa',
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
  return `simdformer ${version()} — pre-train, fine-tune and run transformer language models on the CPU\n\nUsage: simdformer <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`simdformer <command> --help\` for a command's options, \`simdformer --version\` for the version.\n`;
}

/** The package's version (package.json sits two folders up from dist/cli/ and from src/cli/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * A module that is not there: Node's code for it, and the package's name (`@scope/name` or `name`) when
 * the module is a package rather than a file.
 */
function missingModule(err: unknown): { name: string } | undefined {
  const e = err as { code?: string; message?: string } | null;
  if (e?.code !== 'MODULE_NOT_FOUND' && e?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const spec = /(?:module|package) '([^']+)'/.exec(e.message ?? '')?.[1];
  if (spec === undefined || spec.startsWith('.') || spec.startsWith('/')) return { name: spec ?? '?' };
  return { name: spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]! };
}

/** A message's own "<command>: " prefix, which the one main writes would double. */
const withoutPrefix = (message: string, name: string) =>
  message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
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
      process.stderr.write(`simdformer ${name}: ${withoutPrefix(err.message, name)}\n`);
      return 2;
    }
    // a package that should have come with simdformer is gone (a broken install): say which, and how to mend it
    const missing = missingModule(err);
    if (missing) {
      process.stderr.write(
        `simdformer ${name}: a module simdformer needs is not installed: ${missing.name}. Reinstall simdformer ` +
          `(npm install simdformer), or install the package beside it (npm install ${missing.name}).\n` +
          `(${(err as Error).message.split('\n')[0]})\n`,
      );
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
