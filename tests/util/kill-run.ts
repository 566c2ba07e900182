/**
 * The training run of the checkpoint kill test (tests/io/checkpoint-kill.test.ts), shared by the child process
 * that is killed and the parent that resumes what it left: a tiny GPT saving a generation at every step.
 */
import { writeFile } from 'node:fs/promises';
import { GPT_PRETRAIN_DEFAULTS, type GptPretrainOptions } from '../../src/recipes/pretrain-gpt.js';

export const KILL_RUN_STEPS = 4;

export function killRunOptions(data: string, out: string): GptPretrainOptions {
  return {
    ...GPT_PRETRAIN_DEFAULTS,
    data,
    out,
    steps: KILL_RUN_STEPS,
    batch: 2,
    context: 16,
    layers: 1,
    dModel: 8,
    heads: 2,
    ffn: 16,
    warmup: 1,
    lr: 1e-2,
    evalEvery: 0,
    logEvery: 1,
    checkpointEvery: 1,
    saveTotalLimit: 2,
  };
}

export async function writeKillRunText(path: string): Promise<void> {
  const para = (i: number) => `Paragraph ${i}: the quick brown fox ${i % 7} jumps over the lazy dog ${i % 5} times.`;
  await writeFile(path, Array.from({ length: 12 }, (_, i) => para(i)).join('\n\n'));
}
