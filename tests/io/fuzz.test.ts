/**
 * Every bad input a typed error: 2,000 fuzz cases of a fixed seed (bench/fuzz/cases.ts) over checkpoint folders of
 * every family (safetensors headers and bodies, config.json, tokenizer.json, missing files and folders in their
 * place, run folders with generations), --resume's training state, the CLI's data files and flags, and generation
 * with bad prompts and options. Each ends in success or a SimdformerError, and loading never holds more engine
 * memory than twice the bytes of the files it was given. `npm run fuzz -- --cases 100000` runs many more, each
 * watched for hangs and crashes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCase, makeContext, runCase, type CaseResult, type FuzzContext } from '../../bench/fuzz/cases.js';
import { Engine } from '../../src/tensor/engine.js';
import { fixtureDir } from './fixtures.js';

const SEED = 21;
const CASES = 2000;

describe('fuzzing every parser path', () => {
  let engine: Engine;
  let dir: string;
  let ctx: FuzzContext;
  beforeAll(async () => {
    engine = await Engine.create({ threads: 1, maxMemoryMiB: 1024 });
    dir = await mkdtemp(join(tmpdir(), 'simdformer-fuzz-'));
    ctx = await makeContext(engine, dir, fixtureDir('hf-tiny-random-gpt2'));
  });
  afterAll(async () => {
    await engine?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it(`${CASES} cases of seed ${SEED}: success or a typed error, and loading within twice the files' bytes`, async () => {
    const results: CaseResult[] = [];
    for (let i = 0; i < CASES; i++) results.push(await runCase(ctx, SEED, i));
    const untyped = results.filter((r) => r.outcome === 'untyped');
    expect(untyped.map((r) => `${describeCase(r)}\n${r.error!.stack}`)).toEqual([]);
    const heavy = results.filter((r) => r.fileBytes > 0 && r.loadBytes > 2 * r.fileBytes);
    expect(heavy.map((r) => `${describeCase(r)}: ${r.loadBytes} bytes for ${r.fileBytes}`)).toEqual([]);
    // every kind of case ran, and both ends are reached: inputs that load and run, inputs refused
    const kinds = new Map<string, { ok: number; typed: number }>();
    for (const r of results) {
      const k = kinds.get(r.kind) ?? { ok: 0, typed: 0 };
      k[r.outcome as 'ok' | 'typed']++;
      kinds.set(r.kind, k);
    }
    expect([...kinds.keys()].sort()).toEqual([
      'cli',
      'config',
      'data',
      'files',
      'generate',
      'resume',
      'safetensors',
      'tokenizer',
    ]);
    for (const [kind, k] of kinds) {
      expect(k.typed, `${kind}: typed errors`).toBeGreaterThan(0);
      expect(k.ok, `${kind}: successes`).toBeGreaterThan(0);
    }
    // the error classes the inputs met: each says what was wrong
    const names = new Set(results.map((r) => r.error?.name).filter(Boolean));
    for (const name of [
      'SafetensorsError',
      'ConfigError',
      'CheckpointError',
      'TokenizerError',
      'ArgumentError',
      'TokenIdError',
    ])
      expect(names, name).toContain(name);
  }, 120_000);
});
