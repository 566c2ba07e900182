import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import type { GPT } from '../../src/models/gpt.js';
import {
  comparable,
  expectBuilt,
  freePort,
  nodeResult,
  root,
  WORKERD,
  writeCheckpoint,
  type Result,
} from './fixture.js';

// Cloudflare's workerd (the npm package's binary) on 127.0.0.1, no workers, the kernels bound as a wasm
// module. Two workers: the same script as every other runtime (tests/everywhere/edge/probe-worker.mjs,
// bundled with the built package), to Node's bits, and with simd: 'relaxed' to Node's relaxed bits when the
// relaxed build is bound, to the plain bits (engine.simd 'plain') when only the single-thread one is; and
// examples/edge/ (built and served by its npm scripts), whose completions must equal Node's and whose bad
// requests get a 400 with a JSON error. Setup runs inside the tests (a failing beforeAll would only mark
// them skipped).

interface Workerd {
  url: string;
  process: ChildProcess;
  output: () => string;
}

/**
 * `workerd serve <config>` on a free port of 127.0.0.1, once it answers; or, for examples/edge/, `npm run
 * edge` (examples/edge/serve.mjs, which finds workerd in its npm package and serves config.capnp).
 */
async function serve(config: string | 'npm run edge'): Promise<Workerd> {
  const port = await freePort();
  const socket = ['--socket-addr', `http=127.0.0.1:${port}`];
  const child =
    config === 'npm run edge'
      ? spawn(process.execPath, [join(root, 'examples', 'edge', 'serve.mjs'), ...socket], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(WORKERD(), ['serve', config, ...socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      await fetch(url, { method: 'GET' });
      return { url, process: child, output: () => output };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error(`workerd serve ${config} did not answer on ${url}:\n${output}`);
}

interface Setup {
  dir: string;
  model: GPT;
  reference: Result;
  relaxed: Result;
  probe: Workerd;
  example: Workerd;
}
let setup: Promise<Setup> | undefined;
const ready = () =>
  (setup ??= (async () => {
    expectBuilt();
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-edge-'));
    const checkpoint = join(dir, 'checkpoint');
    const model = await writeCheckpoint(checkpoint, 11);

    // the same script's worker: one module with the built package in it, beside the wasm and checkpoint
    await build({
      entryPoints: [fileURLToPath(new URL('./edge/probe-worker.mjs', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      outfile: join(dir, 'probe.js'),
      external: [
        './simdformer.wasm',
        './simdformer.relaxed.wasm',
        './config.json',
        './tokenizer.json',
        './model.safetensors',
        'node:*',
      ],
      logLevel: 'warning',
    });
    for (const f of ['simdformer.wasm', 'simdformer.relaxed.wasm'])
      await copyFile(join(root, 'build', f), join(dir, f));
    for (const f of ['config.json', 'tokenizer.json', 'model.safetensors'])
      await copyFile(join(checkpoint, f), join(dir, f));
    await writeFile(
      join(dir, 'probe.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "probe.js", esModule = embed "probe.js"),
    (name = "simdformer.wasm", wasm = embed "simdformer.wasm"),
    (name = "simdformer.relaxed.wasm", wasm = embed "simdformer.relaxed.wasm"),
    (name = "config.json", data = embed "config.json"),
    (name = "tokenizer.json", data = embed "tokenizer.json"),
    (name = "model.safetensors", data = embed "model.safetensors"),
  ],
  compatibilityDate = "2024-09-23",
);
`,
    );

    // as the README says: npm run edge:build -- <checkpoint>, then npm run edge
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const built = spawnSync(npm, ['run', '--silent', 'edge:build', '--', checkpoint], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`npm run edge:build failed: ${built.stderr}`);
    const [probe, example] = await Promise.all([serve(join(dir, 'probe.capnp')), serve('npm run edge')]);
    return {
      dir,
      model,
      probe,
      example,
      reference: nodeResult(1, checkpoint),
      relaxed: nodeResult(1, checkpoint, 'relaxed'),
    };
  })());

async function post(url: string, body: string | undefined) {
  const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await r.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${url} answered ${r.status} with a body that is not JSON: ${text}`);
  }
  return { status: r.status, json };
}

/** Bodies that are not a request: none, empty, not JSON, JSON of the wrong shape. */
const NOT_A_REQUEST = [undefined, '', 'not json', '{"prompt": "a"', 'null', '[]', '"text"', '42'];

describe('workerd', () => {
  afterAll(async () => {
    const s = await setup?.catch(() => undefined);
    s?.probe.process.kill();
    s?.example.process.kill();
    await s?.model.engine.dispose();
    if (s) await rm(s.dir, { recursive: true, force: true });
  });

  it("runs the same script on one thread (no workers, even when asked for 2), to Node's bits", async () => {
    const { probe, reference } = await ready();
    for (const threads of [undefined, 2]) {
      const r = await post(probe.url, JSON.stringify({ threads }));
      expect(r.status, `${JSON.stringify(r.json)}\n${probe.output()}`).toBe(200);
      const result = r.json as unknown as Result;
      console.log(`workerd (${result.runtime}): ${result.threads} thread(s), ${result.build} build`);
      expect(result.threads).toBe(1);
      expect(result.build).toBe('single');
      expect(comparable(result)).toEqual(comparable(reference));
    }
  });

  it("simd: 'relaxed' with only the single-thread build bound: the plain build runs (engine.simd 'plain'), to the plain bits", async () => {
    const { probe, reference } = await ready();
    const r = await post(probe.url, JSON.stringify({ simd: 'relaxed' }));
    expect(r.status, `${JSON.stringify(r.json)}\n${probe.output()}`).toBe(200);
    const result = r.json as unknown as Result;
    expect(result).toMatchObject({ threads: 1, build: 'single', simd: 'plain' });
    expect(comparable(result)).toEqual(comparable(reference));
  });

  it("simd: 'relaxed' with the relaxed build bound too: the relaxed build on one thread, to Node's relaxed bits", async () => {
    const { probe, relaxed } = await ready();
    expect(relaxed).toMatchObject({ build: 'relaxed', simd: 'relaxed' });
    const r = await post(probe.url, JSON.stringify({ simd: 'relaxed', wasm: 'both' }));
    expect(r.status, `${JSON.stringify(r.json)}\n${probe.output()}`).toBe(200);
    const result = r.json as unknown as Result;
    console.log(
      `workerd, simd: 'relaxed': ${result.threads} thread(s), ${result.build} build, engine.simd ${result.simd}`,
    );
    expect(result).toMatchObject({ threads: 1, build: 'relaxed', simd: 'relaxed' });
    expect(comparable(result)).toEqual(comparable(relaxed));
  });

  it('an engine given no wasm there fails with KERNELS_NOT_FOUND, saying to pass the module', async () => {
    const { probe } = await ready();
    const r = await post(probe.url, JSON.stringify({ wasm: false }));
    expect(r.status).toBe(500);
    expect(r.json.code).toBe('KERNELS_NOT_FOUND');
    expect(r.json.error).toMatch(/Engine\.create\(\{ wasm: \{ single: /);
  });

  it('the same-script worker answers a bad request with a 400 and a JSON error', async () => {
    const { probe } = await ready();
    for (const body of [...NOT_A_REQUEST, '{"threads": "two"}', '{"simd": "fast"}', '{"wasm": "all"}']) {
      const r = await post(probe.url, body);
      expect(r.status, String(body)).toBe(400);
      expect(r.json.error).toBeTypeOf('string');
    }
  });

  const local = async (model: GPT, prompt: string, opts: object) => {
    const out: number[] = [];
    for await (const t of model.generate(model.tokenizer!.encode(prompt, undefined, { addSpecialTokens: false }).ids, {
      maxNewTokens: 20,
      ...opts,
    }))
      out.push(t);
    return out;
  };

  it("examples/edge: greedy and seeded top-p completions equal Node's", async () => {
    const { example, model } = await ready();
    const greedy = await post(example.url, JSON.stringify({ prompt: 'The jury said', maxNewTokens: 20 }));
    expect(greedy.status, example.output()).toBe(200);
    expect(greedy.json.tokens).toEqual(await local(model, 'The jury said', {}));
    const sampled = await post(
      example.url,
      JSON.stringify({ prompt: 'It was', maxNewTokens: 20, doSample: true, topP: 0.9, temperature: 1.3, seed: 5 }),
    );
    expect(sampled.status).toBe(200);
    expect(sampled.json.tokens).toEqual(
      await local(model, 'It was', { doSample: true, topP: 0.9, temperature: 1.3, seed: 5 }),
    );
    expect(sampled.json.completion).toBe(model.tokenizer!.decode(sampled.json.tokens as number[]));
  });

  it('examples/edge: bad requests get a 400 with a JSON error, and the worker keeps serving', async () => {
    const { example } = await ready();
    const wrong = [
      '{}',
      '{"prompt": ""}',
      '{"prompt": 5}',
      '{"prompt": "a", "maxNewTokens": -1}',
      JSON.stringify({ prompt: 'x'.repeat(100) }),
      '{"prompt": "a", "topP": 3}',
    ];
    for (const body of [...NOT_A_REQUEST, ...wrong]) {
      const r = await post(example.url, body);
      expect(r.status, String(body)).toBe(400);
      expect(r.json.error).toBeTypeOf('string');
    }
    expect((await post(example.url, JSON.stringify({ prompt: 'ok', maxNewTokens: 3 }))).status).toBe(200);
  });

  it('examples/edge: says why a completion ended, and slides the window when asked', async () => {
    const { example } = await ready();
    // the checkpoint's context is 64 positions: 'ok' (2 tokens) leaves room for 63 new ones
    const short = await post(example.url, JSON.stringify({ prompt: 'ok', maxNewTokens: 3 }));
    expect(short.json).toMatchObject({ finishReason: 'length' });
    const full = await post(example.url, JSON.stringify({ prompt: 'ok', maxNewTokens: 100 }));
    expect(full.json).toMatchObject({ finishReason: 'context' });
    expect(full.json.tokens).toHaveLength(63);
    const slid = await post(example.url, JSON.stringify({ prompt: 'ok', maxNewTokens: 100, contextFull: 'slide' }));
    expect(slid.json).toMatchObject({ finishReason: 'length' });
    expect(slid.json.tokens).toHaveLength(100);
  });
});
