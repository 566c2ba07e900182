import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });

const metrics = async (dir: string) =>
  (await readFile(join(dir, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('the simdformer command with LLaMA', () => {
  let dir: string;
  let text: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-cli-llama-'));
    const para = (i: number) =>
      `Paragraph ${i}. The cat sat on the mat ${i % 3} times, and the dog watched it ${i % 4} times.`;
    text = join(dir, 'text.txt');
    await writeFile(text, Array.from({ length: 60 }, (_, i) => para(i)).join('\n\n'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  it('pretrain llama → a llama checkpoint; generate and eval read it; finetune causal continues it (and resumes)', async () => {
    const out = join(dir, 'llama');
    const small = ['--layers', '1', '--d-model', '16', '--heads', '4', '--kv-heads', '2', '--ffn', '24'];
    const r = cli(
      'pretrain',
      'llama',
      '--data',
      text,
      '--out',
      out,
      '--steps',
      '12',
      '--batch',
      '2',
      '--context',
      '32',
      ...small,
      '--threads',
      '1',
      '--eval-every',
      '6',
      '--lr',
      '3e-3',
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/bits per byte/);
    // a training run's folder: its latest generation holds the checkpoint
    const latest = (await readFile(join(out, 'latest'), 'utf8')).trim();
    const config = JSON.parse(await readFile(join(out, latest, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      num_hidden_layers: 1,
      hidden_size: 16,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 24,
      max_position_embeddings: 32,
      vocab_size: 256,
      tie_word_embeddings: true,
    });
    const lines = await metrics(out);
    expect(lines.some((l) => typeof l.valLoss === 'number')).toBe(true);

    const gen = (...extra: string[]) =>
      cli('generate', '--from', out, '--prompt', 'The cat', '--max-new', '8', '--threads', '1', ...extra);
    const g = gen();
    expect(g.status).toBe(0);
    expect(g.stdout.startsWith('The cat')).toBe(true);
    expect(gen('--top-k', '5', '--temperature', '0.8', '--seed', '4').stdout).toBe(
      gen('--top-k', '5', '--temperature', '0.8', '--seed', '4').stdout,
    );
    const ev = cli('eval', '--from', out, '--data', text, '--threads', '1');
    expect(ev.status).toBe(0);
    expect(JSON.parse(ev.stdout).bitsPerByte).toBeGreaterThan(0);

    const ft = join(dir, 'llama-ft');
    const args = ['--from', out, '--data', text, '--out', ft, '--batch', '2', '--context', '16', '--threads', '1'];
    const f = cli('finetune', 'causal', ...args, '--steps', '6', '--lr', '1e-3', '--checkpoint-every', '3');
    expect(f.stderr).not.toMatch(/Error/);
    expect(f.status).toBe(0);
    expect(f.stdout).toMatch(/fine-tuned llama for 6 steps/);
    const ftLatest = (await readFile(join(ft, 'latest'), 'utf8')).trim();
    expect(JSON.parse(await readFile(join(ft, ftLatest, 'config.json'), 'utf8'))).toMatchObject({
      model_type: 'llama',
      max_position_embeddings: 32,
    });
    const resumed = cli('finetune', 'causal', ...args, '--steps', '9', '--lr', '1e-3', '--resume');
    expect(resumed.status).toBe(0);
    expect((await metrics(ft)).map((l) => l.step)).toContain(8);
  });

  it('finetune causal reads a GPT-2 checkpoint too; pretrain llama checks its heads; both have --help', async () => {
    const gpt = join(dir, 'gpt');
    const p = cli(
      'pretrain',
      'gpt',
      '--data',
      text,
      '--out',
      gpt,
      '--steps',
      '2',
      '--batch',
      '2',
      '--context',
      '16',
      '--layers',
      '1',
      '--d-model',
      '16',
      '--heads',
      '2',
      '--ffn',
      '32',
      '--threads',
      '1',
    );
    expect(p.status).toBe(0);
    const ft = join(dir, 'gpt-ft');
    const f = cli('finetune', 'causal', '--from', gpt, '--data', text, '--out', ft, '--steps', '3', '--batch', '2');
    expect(f.status).toBe(0);
    expect(f.stdout).toMatch(/fine-tuned gpt2 for 3 steps/);
    const bad = cli('pretrain', 'llama', '--data', text, '--out', join(dir, 'x'), '--heads', '4', '--kv-heads', '3');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--kv-heads 3 must divide --heads 4/);
    const help = cli('pretrain', 'llama', '--help');
    expect(help.stdout).toMatch(/--kv-heads/);
    expect(cli('finetune', 'causal', '--help').stdout).toMatch(/--from/);
  });
});
