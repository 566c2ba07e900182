import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Gpt2Config } from '../../src/io/config.js';
import { GPT } from '../../src/models/gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { trainBpe } from '../../src/tokenizers/bpe.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';

// The same script (tests/everywhere/scripts/same-script.mjs, importing the built package in dist/) runs
// under Node, Deno and Bun — real runtimes from their npm packages — and must print identical tokens and
// logits bits, with threads (Web Workers over shared memory in Deno and Bun).

const SCRIPT = fileURLToPath(new URL('./scripts/same-script.mjs', import.meta.url));
const require = createRequire(import.meta.url);
function binary(pkg: string, rel: string): string {
  const path = join(dirname(require.resolve(`${pkg}/package.json`)), rel);
  if (!existsSync(path)) throw new Error(`${pkg} has no ${rel}: reinstall it (npm ci)`);
  chmodSync(path, 0o755);
  return path;
}

type Result = { threads: number; build: string; tokens: number[]; checksum: number };

function run(cmd: string, args: string[]): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

describe('Node, Deno and Bun run the same script to the same bits', () => {
  let dir: string;
  beforeAll(async () => {
    expect(existsSync(fileURLToPath(new URL('../../dist/index.js', import.meta.url))), 'dist/ is built by npm install').toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'simdformer-runtimes-'));
    const e = await Engine.create({ threads: 1 });
    const config = parseConfig({ model_type: 'gpt2', vocab_size: 256, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4, bos_token_id: null, eos_token_id: null }) as Gpt2Config;
    const m = new GPT(e, config, 7);
    m.tokenizer = Tokenizer.fromJson(trainBpe(['x'], { vocabSize: 256 }));
    await m.save(dir);
    await e.dispose();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const threads of [1, 2]) {
    it(`${threads} thread(s)`, () => {
      const node = run(process.execPath, [SCRIPT, dir, String(threads)]);
      const deno = run(binary('@deno/linux-x64-glibc', 'deno'), ['run', '--allow-read', '--allow-env', SCRIPT, dir, String(threads)]);
      const bun = run(binary('@oven/bun-linux-x64', 'bin/bun'), [SCRIPT, dir, String(threads)]);
      expect(node.threads).toBe(threads);
      expect(node.tokens.length).toBe(20);
      expect(deno).toEqual(node);
      expect(bun).toEqual(node);
    });
  }
});
