import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Gpt2Config } from '../../src/io/config.js';
import { GPT } from '../../src/models/gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { trainBpe } from '../../src/tokenizers/bpe.js';
import { launchChromium, serveStatic } from './chromium.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';

// Real Chromium (Debian's package, driven by playwright-core): the engine runs in a Web Worker of a
// page served from 127.0.0.1, once cross-origin isolated (COOP/COEP: threads) and once not (one
// thread, the single-thread build). Its tokens and logits bits must equal Node's at the same thread
// count. A screenshot of each page is saved in test-artifacts/.

const root = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const SCRIPT = fileURLToPath(new URL('./scripts/same-script.mjs', import.meta.url));

describe('Chromium', () => {
  let dir: string;
  let browser: Browser;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-browser-'));
    const e = await Engine.create({ threads: 1 });
    const config = parseConfig({ model_type: 'gpt2', vocab_size: 256, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4, bos_token_id: null, eos_token_id: null }) as Gpt2Config;
    const m = new GPT(e, config, 7);
    m.tokenizer = Tokenizer.fromJson(trainBpe(['x'], { vocabSize: 256 }));
    await m.save(join(dir, 'checkpoint'));
    await e.dispose();
    // the worker bundle sits two folders below the server root, as dist/runtime/ does, so that
    // new URL('../../build/…', import.meta.url) finds the wasm at /build/
    await build({
      entryPoints: [fileURLToPath(new URL('./browser/worker.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'bundle', 'worker.js'),
      external: ['node:*'],
      logLevel: 'silent',
    });
    await mkdir(artifacts, { recursive: true });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const isolated of [true, false]) {
    it(`runs the engine in a worker ${isolated ? 'with threads (cross-origin isolated)' : 'on one thread (not isolated)'}, to Node's bits`, async () => {
      const { server, url } = await serveStatic(
        {
          '/page.html': fileURLToPath(new URL('./browser/page.html', import.meta.url)),
          '/bundle/': join(dir, 'bundle'),
          '/build/': join(root, 'build'),
          '/checkpoint/': join(dir, 'checkpoint'),
        },
        isolated,
      );
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.goto(`${url}/page.html?threads=2`);
        await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
        const r = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as {
          ok: boolean; error?: string; threads: number; build: string; tokens: number[]; checksum: number; losses: number[];
        };
        await page.screenshot({ path: join(artifacts, `chromium-${isolated ? 'isolated' : 'not-isolated'}.png`) });
        expect(errors).toEqual([]);
        if (!r.ok) console.error(JSON.stringify(r));
        expect(r.error).toBeUndefined();
        expect(r.threads).toBe(isolated ? 2 : 1);
        expect(r.build).toBe(isolated ? 'threads' : 'single');
        expect(r.losses[r.losses.length - 1]!).toBeLessThan(r.losses[0]! - 0.5);
        const node = spawnSync(process.execPath, [SCRIPT, join(dir, 'checkpoint'), String(r.threads)], { encoding: 'utf8' });
        const want = JSON.parse(node.stdout) as { tokens: number[]; checksum: number };
        expect(r.tokens).toEqual(want.tokens);
        expect(r.checksum).toBe(want.checksum);
        await page.close();
      } finally {
        server.close();
      }
    });
  }
});
