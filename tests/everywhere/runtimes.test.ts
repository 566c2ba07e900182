import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BUN,
  CLI,
  comparable,
  DENO,
  expectBuilt,
  nodeResult,
  runJson,
  writeCheckpoint,
  type Result,
} from './fixture.js';

// The same script (scripts/same-script.mjs through scripts/cli.mjs, importing the built package in dist/)
// under Node, Deno and Bun — the real runtimes, from their npm packages — at 1 and 2 threads (Web Workers
// over shared memory in Deno and Bun): every result bit-identical to Node's at 1 thread. Then with
// simd: 'relaxed': Node and Deno fuse the multiply-add and run the relaxed build, to the same bits as each
// other; Bun's is not fused, so it runs the plain build, reports 'plain', and gives the plain bits.

const DENO_ARGS = ['run', '--allow-read', '--allow-env'];

// setup inside the tests: a missing build fails them (a failing beforeAll would only mark them skipped)
let setup: Promise<{ dir: string; reference: Result }> | undefined;
const ready = () =>
  (setup ??= (async () => {
    expectBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-runtimes-'));
    await (await writeCheckpoint(dir)).engine.dispose();
    const reference = nodeResult(1, dir);
    expect(reference.tokens).toHaveLength(20);
    expect(reference.losses!.at(-1)!).toBeLessThan(reference.losses![0]! - 1);
    return { dir, reference };
  })());
/** Node's result with simd: 'relaxed' at 2 threads (the relaxed build's bits). */
let relaxedSetup: Promise<Result> | undefined;
const relaxedReference = () =>
  (relaxedSetup ??= (async () => {
    const { dir, reference } = await ready();
    const r = nodeResult(2, dir, 'relaxed');
    expect(r).toMatchObject({ simd: 'relaxed', build: 'relaxed' });
    // fused multiply-add changes the last bits: the relaxed build's results are its own
    expect(r.matmul).not.toEqual(reference.matmul);
    return r;
  })());

describe('Node, Deno and Bun run the same script to the same bits', () => {
  afterAll(async () => {
    const s = await setup?.catch(() => undefined);
    if (s) await rm(s.dir, { recursive: true, force: true });
  });

  const runtimes: Record<string, (threads: number, dir: string) => Result> = {
    node: (t, dir) => nodeResult(t, dir),
    deno: (t, dir) => runJson<Result>(DENO(), [...DENO_ARGS, CLI, String(t), dir]),
    bun: (t, dir) => runJson<Result>(BUN(), [CLI, String(t), dir]),
  };
  for (const [name, run] of Object.entries(runtimes)) {
    for (const threads of [1, 2]) {
      it(`${name}, ${threads} thread(s)`, async () => {
        const { dir, reference } = await ready();
        const r = run(threads, dir);
        console.log(`${r.runtime}: ${r.threads} thread(s), ${r.build} build`);
        expect(r.runtime.startsWith(`${name} `), r.runtime).toBe(true);
        expect(r.threads).toBe(threads);
        expect(r.build).toBe(threads > 1 ? 'threads' : 'single');
        expect(comparable(r)).toEqual(comparable(reference));
      });
    }
  }

  it("simd: 'relaxed' in Deno (1 and 2 threads): the relaxed build, to Node's relaxed bits", async () => {
    const { dir } = await ready();
    const relaxed = await relaxedReference();
    for (const threads of [1, 2]) {
      const r = runJson<Result>(DENO(), [...DENO_ARGS, CLI, String(threads), dir, '--simd=relaxed']);
      console.log(`${r.runtime}, simd: 'relaxed': ${r.threads} thread(s), ${r.build} build, engine.simd ${r.simd}`);
      expect(r).toMatchObject({ threads, build: 'relaxed', simd: 'relaxed' });
      expect(comparable(r)).toEqual(comparable(relaxed));
    }
  });

  it("simd: 'relaxed' in Bun: its multiply-add is not fused, so the plain build runs, says so, and gives the plain bits", async () => {
    const { dir, reference } = await ready();
    const r = runJson<Result>(BUN(), [CLI, '2', dir, '--simd=relaxed']);
    console.log(`${r.runtime}, simd: 'relaxed': ${r.threads} thread(s), ${r.build} build, engine.simd ${r.simd}`);
    expect(r).toMatchObject({ threads: 2, build: 'threads', simd: 'plain' });
    expect(comparable(r)).toEqual(comparable(reference));
    const probe = `import { Engine } from './dist/index.js';
      const e = await Engine.create({ threads: 1, simd: 'relaxed' });
      console.log(JSON.stringify({ simd: e.simd, fallback: e.simdFallback }));
      await e.dispose();`;
    expect(runJson<{ simd: string; fallback: string }>(BUN(), ['-e', probe]).fallback).toMatch(/not fused/);
  });

  it('platform.ts tells Deno and Bun from Node (Bun reports a Node version too), so they start Web Workers', () => {
    expectBuilt();
    const probe = `import { isNode } from './dist/runtime/platform.js';
      console.log(JSON.stringify({ isNode, node: globalThis.process?.versions?.node ?? null, Worker: typeof Worker }));`;
    type Probe = { isNode: boolean; node: string | null; Worker: string };
    expect(runJson<Probe>(process.execPath, ['--input-type=module', '-e', probe]).isNode).toBe(true);
    const deno = runJson<Probe>(DENO(), ['eval', '--ext=js', probe]);
    const bun = runJson<Probe>(BUN(), ['-e', probe]);
    expect(deno).toMatchObject({ isNode: false, Worker: 'function' });
    expect(bun).toMatchObject({ isNode: false, Worker: 'function' });
    expect(bun.node, 'Bun reports a Node version: a process.versions check alone would take it for Node').toBeTypeOf(
      'string',
    );
  });
});
