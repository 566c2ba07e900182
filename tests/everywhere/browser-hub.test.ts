import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { loadModel } from '../../src/models/load.js';
import { Engine } from '../../src/tensor/engine.js';
import { fixtureDir } from '../io/fixtures.js';
import { LAUNCH_TIMEOUT, launchChromium, serveStatic } from './chromium.js';
import { expectBuilt, root } from './fixture.js';

// Real Chromium (chromium.ts) loads a checkpoint by hub name in a worker of a cross-origin isolated page:
// the page's own server on 127.0.0.1 stands in for the hub (`<hub>/tiny/gpt2/resolve/main/<file>`), the
// download goes into the Cache API, the second load is served from it without a fetch, and File objects
// (a dropped folder) load too. Every load must give Node's weights.

const FIXTURE = fixtureDir('hf-tiny-random-gpt2');

describe('Chromium: loadModel from hf:// through the Cache API, and from File objects', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'downloads once into the Cache API, then loads from it; File objects load the same weights',
    async () => {
      expectBuilt();
      dir = await mkdtemp(join(tmpdir(), 'simdformer-browser-hub-'));
      await build({
        entryPoints: [fileURLToPath(new URL('./browser/hub-worker.mjs', import.meta.url))],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        outfile: join(dir, 'bundle', 'hub-worker.js'),
        external: ['node:*'],
        logLevel: 'silent',
      });
      // a sharded copy of the fixture: an index and two shards, no model.safetensors
      const sharded = join(dir, 'sharded');
      await cp(FIXTURE, sharded, { recursive: true });
      await rm(join(sharded, 'model.safetensors'));
      const file = readSafetensors(await readFile(join(FIXTURE, 'model.safetensors')));
      const all = [...file.tensors.values()].map((t) => ({
        name: t.name,
        shape: t.shape,
        data: t.data as Float32Array,
      }));
      const weightMap: Record<string, string> = {};
      for (const [s, part] of [all.slice(0, 20), all.slice(20)].entries()) {
        const name = `model-0000${s + 1}-of-00002.safetensors`;
        await writeFile(join(sharded, name), writeSafetensors(part));
        for (const t of part) weightMap[t.name] = name;
      }
      await writeFile(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
      const e = await Engine.create({ threads: 1 });
      const node = await loadModel(e, FIXTURE);
      let want = 0;
      for (const t of node.namedParameters().values()) {
        const v = t.toArray();
        for (let i = 0; i < v.length; i += 7) want += v[i]! * ((i % 13) + 1);
      }
      const vocab = node.tokenizer!.vocabSize;
      node.dispose();
      await e.dispose();

      const browser = await launchChromium();
      const { server, url } = await serveStatic(
        {
          '/hub-page.html': fileURLToPath(new URL('./browser/hub-page.html', import.meta.url)),
          '/bundle/': join(dir, 'bundle'),
          '/build/': join(root, 'build'),
          '/hub/tiny/gpt2/resolve/main/': FIXTURE,
          '/hub/tiny/sharded/resolve/main/': sharded,
        },
        true,
      );
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.goto(`${url}/hub-page.html`);
        await page.waitForFunction(
          () => (window as unknown as { __result?: unknown }).__result !== undefined,
          undefined,
          {
            timeout: 60_000,
          },
        );
        type Message = {
          ok: boolean;
          error?: string;
          result: {
            checksums: number[];
            shardedFetches: number;
            shardedAgainFetches: number;
            vocab: number;
            firstFetches: number;
            secondFetches: number;
            cached: string[];
            lastProgress: string;
            threads: number;
          };
        };
        const m = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as Message;
        expect(errors).toEqual([]);
        expect(m.error).toBeUndefined();
        const r = m.result;
        expect(r.threads).toBe(2);
        expect(r.checksums).toEqual([want, want, want, want, want]);
        expect(r.shardedFetches).toBeGreaterThanOrEqual(4); // config, model.safetensors (404), index, 2 shards, …
        expect(r.shardedAgainFetches).toBe(0);
        expect(r.vocab).toBe(vocab);
        expect(r.secondFetches).toBe(0);
        expect(r.firstFetches).toBeGreaterThanOrEqual(3);
        const base = '/hub/tiny/gpt2/resolve/main/';
        expect(r.cached.filter((p) => p.startsWith(base))).toEqual(
          ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => base + f).sort(),
        );
        expect(r.lastProgress).toMatch(/^load weights (\d+)\/\1$/);
        await page.close();
      } finally {
        server.close();
        await browser.close();
      }
    },
    LAUNCH_TIMEOUT,
  );
});
