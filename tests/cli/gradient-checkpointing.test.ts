import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });

/** The weights of a training run's latest generation. */
const weights = async (dir: string) =>
  readFile(join(dir, (await readFile(join(dir, 'latest'), 'utf8')).trim(), 'model.safetensors'));

describe('finetune --gradient-checkpointing', () => {
  let dir: string;
  let text: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-cli-ckpt-'));
    text = join(dir, 'text.txt');
    const para = (i: number) => `Line ${i}: the fox ran ${i % 5} miles, and the hen laid ${i % 3} eggs.`;
    await writeFile(text, Array.from({ length: 50 }, (_, i) => para(i)).join('\n\n'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  it('finetune causal with it saves the very weights it saves without it', async () => {
    const gpt = join(dir, 'gpt');
    const shape = ['--layers', '2', '--d-model', '16', '--heads', '2', '--ffn', '32', '--context', '16'];
    const p = cli('pretrain', 'gpt', '--data', text, '--out', gpt, '--steps', '2', '--batch', '2', ...shape);
    expect(p.stderr).not.toMatch(/Error/);
    expect(p.status).toBe(0);
    const run = (out: string, ...more: string[]) =>
      cli('finetune', 'causal', '--from', gpt, '--data', text, '--out', out, '--steps', '3', '--batch', '2', ...more);
    const plain = run(join(dir, 'plain'));
    const ckpt = run(join(dir, 'ckpt'), '--gradient-checkpointing');
    expect(plain.status).toBe(0);
    expect(ckpt.status).toBe(0);
    const a = await weights(join(dir, 'plain'));
    const b = await weights(join(dir, 'ckpt'));
    expect(b.equals(a)).toBe(true);
    expect(b.equals(await weights(gpt))).toBe(false); // it did train
    expect(cli('finetune', 'causal', '--help').stdout).toMatch(/--gradient-checkpointing/);
    expect(cli('finetune', '--help').stdout).toMatch(/--gradient-checkpointing/);
  });
});
