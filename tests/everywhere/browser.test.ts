import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { LAUNCH_TIMEOUT, launchChromium, serveStatic } from './chromium.js';
import { ARTIFACTS, comparable, expectBuilt, nodeResult, root, writeCheckpoint, type Result } from './fixture.js';

// Real Chromium (found or installed by chromium.ts, driven by playwright-core): the same script as Node, Deno and Bun runs
// in a Web Worker of a page served from 127.0.0.1, once cross-origin isolated (COOP/COEP: threads) and
// once not (one thread, the single-thread build), and must give Node's bits; with simd: 'relaxed' (isolated,
// so the relaxed build can run) it must give Node's relaxed bits. A screenshot of each page
// goes to test-artifacts/. Setup runs inside the tests, so a missing Chromium fails them (a failing
// beforeAll would only mark them skipped).

interface Setup {
  dir: string;
  browser: Browser;
  reference: Result;
  relaxed: Result;
}
let setup: Promise<Setup> | undefined;
const ready = () =>
  (setup ??= (async () => {
    expectBuilt();
    const browser = await launchChromium();
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-browser-'));
    await (await writeCheckpoint(join(dir, 'checkpoint'))).engine.dispose();
    // the worker bundle sits one folder below the server root: new URL('../../build/…', import.meta.url)
    // from /bundle/worker.js is /build/… (a URL path does not climb above its root)
    await build({
      entryPoints: [fileURLToPath(new URL('./browser/worker.mjs', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'bundle', 'worker.js'),
      external: ['node:*'],
      logLevel: 'silent',
    });
    await mkdir(ARTIFACTS, { recursive: true });
    return {
      dir,
      browser,
      reference: nodeResult(1, join(dir, 'checkpoint')),
      relaxed: nodeResult(2, join(dir, 'checkpoint'), 'relaxed'),
    };
  })());

describe('Chromium', () => {
  afterAll(async () => {
    const s = await setup?.catch(() => undefined);
    await s?.browser.close();
    if (s) await rm(s.dir, { recursive: true, force: true });
  });

  const cases = [
    { isolated: true, simd: 'plain' },
    { isolated: false, simd: 'plain' },
    { isolated: true, simd: 'relaxed' },
  ] as const;
  for (const { isolated, simd } of cases) {
    const name = `${isolated ? 'isolated' : 'not-isolated'}${simd === 'relaxed' ? '-relaxed' : ''}`;
    it(
      simd === 'relaxed'
        ? "runs the same script with simd: 'relaxed' (cross-origin isolated): the relaxed build, to Node's relaxed bits"
        : `runs the same script in a worker ${isolated ? 'with threads (cross-origin isolated)' : 'on one thread (not isolated)'}, to Node's bits`,
      async () => {
        const { dir, browser, reference, relaxed } = await ready();
        const { server, url } = await serveStatic(
          {
            '/page.html': fileURLToPath(new URL('./browser/page.html', import.meta.url)),
            '/bundle/': join(dir, 'bundle'),
            '/build/': join(root, 'build'),
            '/checkpoint/': join(dir, 'checkpoint'),
          },
          isolated,
        );
        const page = await browser.newPage();
        try {
          const errors: string[] = [];
          page.on('pageerror', (err) => errors.push(err.message));
          await page.goto(`${url}/page.html?threads=2&simd=${simd}`);
          await page.waitForFunction(
            () => (window as unknown as { __result?: unknown }).__result !== undefined,
            undefined,
            { timeout: 30_000 },
          );
          type Message = { ok: boolean; error?: string; isolated: boolean; result: Result };
          const m = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as Message;
          await page.screenshot({ path: join(ARTIFACTS, `chromium-${name}.png`) });
          expect(errors).toEqual([]);
          expect(m.error).toBeUndefined();
          console.log(
            `${m.result.runtime}: ${m.result.threads} thread(s), ${m.result.build} build, engine.simd ${m.result.simd}`,
          );
          expect(m.isolated).toBe(isolated);
          expect(m.result.threads).toBe(isolated ? 2 : 1);
          expect(m.result.build).toBe(simd === 'relaxed' ? 'relaxed' : isolated ? 'threads' : 'single');
          expect(m.result.simd).toBe(simd);
          expect(comparable(m.result)).toEqual(comparable(simd === 'relaxed' ? relaxed : reference));
        } finally {
          await page.close();
          server.close();
        }
      },
      LAUNCH_TIMEOUT,
    ); // the first may install Chromium (chromium.ts)
  }
});
