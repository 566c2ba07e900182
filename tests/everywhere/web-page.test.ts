import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE } from '../../examples/web/sample.js';
import { Session } from '../../examples/web/session.js';
import { LAUNCH_TIMEOUT, launchChromium, serveStatic } from './chromium.js';

// examples/web built with Vite and opened in real Chromium: it trains a small GPT with the engine in a
// worker (the loss goes down), generates, and offers the checkpoint; once cross-origin isolated (two
// threads) and once not (one). The loss curve must equal Node's, step for step, at the same thread count.

const root = fileURLToPath(new URL('../..', import.meta.url));
const STEPS = 24;

async function nodeLosses(threads: number): Promise<number[]> {
  const s = await Session.start(SAMPLE, { threads, seed: 1, steps: STEPS });
  const out: number[] = [];
  for (let i = 0; i < STEPS; i++) out.push(s.step().loss);
  await s.dispose();
  return out;
}

// setup inside the tests: a missing Chromium fails them (a failing beforeAll would only mark them skipped)
let setup: Promise<{ dir: string; browser: Browser }> | undefined;
const ready = () =>
  (setup ??= (async () => {
    const browser = await launchChromium();
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-web-'));
    await build({
      configFile: join(root, 'examples', 'web', 'vite.config.ts'),
      build: { outDir: dir, emptyOutDir: true },
      logLevel: 'silent',
    });
    await mkdir(join(root, 'test-artifacts'), { recursive: true });
    return { dir, browser };
  })());

describe('the web example in Chromium', () => {
  afterAll(async () => {
    const s = await setup?.catch(() => undefined);
    await s?.browser.close();
    if (s) await rm(s.dir, { recursive: true, force: true });
  });

  for (const isolated of [true, false]) {
    it(
      `trains, generates and offers the checkpoint ${isolated ? 'with threads (isolated)' : 'on one thread (not isolated)'}`,
      async () => {
        const { dir, browser } = await ready();
        const { server, url } = await serveStatic({ '/': dir }, isolated);
        try {
          const page = await browser.newPage({ acceptDownloads: true });
          const errors: string[] = [];
          page.on('pageerror', (err) => errors.push(err.message));
          await page.goto(`${url}/`);
          await page.fill('#steps', String(STEPS));
          await page.click('#train');
          await page.waitForFunction(
            () => (window as unknown as { __simdformer: { done: boolean } }).__simdformer.done,
            undefined,
            { timeout: 90_000 },
          );
          const losses = await page.evaluate(
            () => (window as unknown as { __simdformer: { losses: number[] } }).__simdformer.losses,
          );
          expect(losses.length).toBe(STEPS);
          expect(losses[STEPS - 1]!).toBeLessThan(losses[0]! - 1);
          const mode = await page.textContent('#mode');
          const threads = isolated ? 2 : 1;
          expect(mode).toContain(`Running ${threads} thread(s)`);
          await page.click('#generate');
          await page.waitForFunction(
            () =>
              (document.getElementById('generate') as HTMLButtonElement).disabled === false &&
              (window as unknown as { __simdformer: { generated: string } }).__simdformer.generated.length > 0,
            undefined,
            { timeout: 30_000 },
          );
          const download = page.waitForEvent('download');
          await page.click('#save');
          expect((await download).suggestedFilename()).toMatch(/config\.json|model\.safetensors|tokenizer\.json/);
          await page.screenshot({
            path: join(root, 'test-artifacts', `web-${isolated ? 'isolated' : 'not-isolated'}.png`),
            fullPage: true,
          });
          expect(errors).toEqual([]);
          expect(losses).toEqual(await nodeLosses(threads));
          await page.close();
        } finally {
          server.close();
        }
      },
      LAUNCH_TIMEOUT,
    ); // the first may install Chromium (chromium.ts)
  }
});
