import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Gpt2Config } from '../../src/io/config.js';
import { GPT } from '../../src/models/gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { trainBpe } from '../../src/tokenizers/bpe.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';

// examples/edge/ under Cloudflare's workerd (the npm package's binary) on 127.0.0.1: the wasm is bound
// as a module, the checkpoint bundled; completions must equal Node's for the same seed, and bad
// requests get a 400 with a JSON error.

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
const WORKERD = join(dirname(require.resolve('@cloudflare/workerd-linux-64/package.json')), 'bin', 'workerd');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('edge worker (workerd)', () => {
  let dir: string;
  let workerd: ChildProcess;
  let url: string;
  let model: GPT;
  let engine: Engine;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-edge-'));
    engine = await Engine.create({ threads: 1 });
    const config = parseConfig({ model_type: 'gpt2', vocab_size: 256, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4, bos_token_id: null, eos_token_id: null }) as Gpt2Config;
    model = new GPT(engine, config, 11);
    model.tokenizer = Tokenizer.fromJson(trainBpe(['x'], { vocabSize: 256 }));
    await model.save(join(dir, 'checkpoint'));
    const built = spawnSync(process.execPath, [join(root, 'examples', 'edge', 'build.mjs'), join(dir, 'checkpoint')], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    workerd = spawn(WORKERD, ['serve', join(root, 'examples', 'edge', 'config.capnp'), '--socket-addr', `http=127.0.0.1:${port}`], { stdio: 'pipe' });
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(url, { method: 'GET' });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('workerd did not start');
  }, 60_000);
  afterAll(async () => {
    workerd?.kill();
    await engine?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const post = async (body: string) => {
    const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: r.status, json: (await r.json()) as { completion?: string; tokens?: number[]; error?: string } };
  };
  const local = async (prompt: string, opts: object) => {
    const out: number[] = [];
    for await (const t of model.generate(model.tokenizer!.encode(prompt, undefined, { addSpecialTokens: false }).ids, { maxNewTokens: 20, ...opts })) out.push(t);
    return out;
  };

  it('greedy and seeded top-p completions equal Node\'s', async () => {
    const greedy = await post(JSON.stringify({ prompt: 'The jury said', maxNewTokens: 20 }));
    expect(greedy.status).toBe(200);
    expect(greedy.json.tokens).toEqual(await local('The jury said', {}));
    const sampled = await post(JSON.stringify({ prompt: 'It was', maxNewTokens: 20, doSample: true, topP: 0.9, temperature: 1.3, seed: 5 }));
    expect(sampled.status).toBe(200);
    expect(sampled.json.tokens).toEqual(await local('It was', { doSample: true, topP: 0.9, temperature: 1.3, seed: 5 }));
    expect(sampled.json.completion).toBe(model.tokenizer!.decode(sampled.json.tokens!));
  });

  it('bad requests get a 400 with a JSON error, and the worker keeps serving', async () => {
    for (const body of ['not json', '{}', '{"prompt": ""}', '{"prompt": "a", "maxNewTokens": -1}', JSON.stringify({ prompt: 'x'.repeat(100) }), '{"prompt": "a", "topP": 3}']) {
      const r = await post(body);
      expect(r.status, body).toBe(400);
      expect(typeof r.json.error).toBe('string');
    }
    expect((await post(JSON.stringify({ prompt: 'ok', maxNewTokens: 3 }))).status).toBe(200);
  });
});
