import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build, createLogger } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { lossAxis } from '../../examples/web/chart.js';
import { SAMPLE } from '../../examples/web/sample.js';
import { Session } from '../../examples/web/session.js';
import { LAUNCH_TIMEOUT, launchChromium, serveStatic } from './chromium.js';

// examples/web built with Vite (without a warning) and opened in real Chromium: it trains a small GPT with
// the engine in a worker (the loss goes down), says when it is done, generates (a new seed each time,
// greedy when asked, 120 tokens past the 64-position context), and offers the checkpoint; once
// cross-origin isolated (two threads) and once not (one); no request fails. The loss curve must equal
// Node's, step for step, at the same thread count.

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
let setup: Promise<{ dir: string; browser: Browser; warnings: string[] }> | undefined;
const ready = () =>
  (setup ??= (async () => {
    const browser = await launchChromium();
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-web-'));
    // Vite's warnings (a node: module externalised for the browser, …), kept instead of printed
    const warnings: string[] = [];
    const logger = createLogger('warn', { allowClearScreen: false });
    logger.warn = (msg) => void warnings.push(msg);
    logger.warnOnce = (msg) => void warnings.push(msg);
    await build({
      configFile: join(root, 'examples', 'web', 'vite.config.ts'),
      build: { outDir: dir, emptyOutDir: true },
      customLogger: logger,
    });
    await mkdir(join(root, 'test-artifacts'), { recursive: true });
    return { dir, browser, warnings };
  })());

type PageState = { __simdformer: { done: boolean; generated: string; losses: number[] } };

describe('the web example in Chromium', () => {
  it("the loss chart's axis: one spike does not flatten it (clipped, marked), a run that diverges stays in view", () => {
    // a falling curve with one spike, as the default run's step 66
    const losses = Array.from({ length: 300 }, (_, i) => 1.5 + 4 * Math.exp(-i / 40));
    losses[65] = 10.4;
    const axis = lossAxis(losses);
    expect(axis.top).toBeCloseTo(5.5, 1); // the untrained loss
    expect(axis.bottom).toBeLessThanOrEqual(Math.min(...losses));
    expect(axis.clipped).toEqual([{ step: 65, loss: 10.4 }]);
    expect(axis.ticks.length).toBeGreaterThanOrEqual(3);
    for (const t of axis.ticks) expect(t >= axis.bottom && t <= axis.top).toBe(true);
    // more than a few losses above the start: the top follows them
    const diverging = losses.map((l, i) => (i > 200 ? 8 + i / 100 : l));
    expect(lossAxis(diverging).top).toBeGreaterThan(10);
    expect(lossAxis([]).clipped).toEqual([]);
  });

  it('builds with Vite without a warning (no node: module for the browser to externalise)', async () => {
    const { warnings } = await ready();
    expect(warnings).toEqual([]);
  });

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
          // no request of the page fails (a missing favicon included)
          page.on('response', (r) => void (r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`)));
          page.on('requestfailed', (r) => void errors.push(`failed: ${r.url()}`));
          await page.goto(`${url}/`);
          await page.fill('#steps', String(STEPS));
          await page.click('#train');
          await page.waitForFunction(() => (window as unknown as PageState).__simdformer.done, undefined, {
            timeout: 90_000,
          });
          const losses = await page.evaluate(() => (window as unknown as PageState).__simdformer.losses);
          expect(await page.textContent('#status')).toMatch(
            new RegExp(`^done: ${STEPS} steps in [\\d.]+ s, final loss`),
          );
          expect(losses.length).toBe(STEPS);
          expect(losses[STEPS - 1]!).toBeLessThan(losses[0]! - 1);
          const mode = await page.textContent('#mode');
          const threads = isolated ? 2 : 1;
          expect(mode).toContain(`Running ${threads} thread(s)`);
          /** Clicks Generate, waits until it is done, and returns the text and the status line. */
          const generate = async () => {
            await page.click('#generate');
            await page.waitForFunction(
              () =>
                (document.getElementById('generate') as HTMLButtonElement).disabled === false &&
                (document.getElementById('genStatus')!.textContent ?? '').startsWith('done'),
              undefined,
              { timeout: 60_000 },
            );
            return {
              text: await page.evaluate(() => (window as unknown as PageState).__simdformer.generated),
              status: (await page.textContent('#genStatus'))!,
            };
          };
          // 120 new tokens, past the 64-position context: the window slides, and the status says so
          const first = await generate();
          expect(first.status).toMatch(
            /^done: 120 tokens, sampled with seed 1; stopped at the tokens asked for \(the context window slid/,
          );
          // the next click samples with the next seed: not the same text again
          const second = await generate();
          expect(second.status).toMatch(/sampled with seed 2/);
          expect(second.text).not.toBe(first.text);
          // greedy, when asked: the same text each time
          await page.check('#greedy');
          expect(await page.isDisabled('#temperature')).toBe(true);
          const greedy = await generate();
          expect(greedy.status).toMatch(/^done: 120 tokens, greedy;/);
          expect((await generate()).text).toBe(greedy.text);
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
