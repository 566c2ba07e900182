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
import { fixtureDir } from '../io/fixtures.js';
import { LAUNCH_TIMEOUT, launchChromium, serveStatic } from './chromium.js';

// examples/web built with Vite (without a warning) and opened in real Chromium: it trains a small GPT with
// the engine in a worker (the loss goes down), says when it is done, generates (a new seed each time unless
// one is set, greedy when asked, 120 tokens past the 64-position context), and offers the checkpoint; once
// cross-origin isolated (two threads) and once not (one); no request fails. The loss curve must equal
// Node's, step for step, at the same thread count. Then it fine-tunes a Hugging Face checkpoint given by URL
// or as a folder, within the memory limit set in the page.

const root = fileURLToPath(new URL('../..', import.meta.url));
const STEPS = 24;
const FIXTURE = fixtureDir('hf-tiny-random-gpt2');

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
type TunedState = {
  __simdformer: { loaded: boolean; tuned: boolean; tuneLosses: number[]; before: string; after: string };
};

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
            /^done: 120 tokens, sampled with seed \d+; stopped at the tokens asked for \(the context window slid/,
          );
          // the next click draws a new seed: not the same text again
          const second = await generate();
          const seedOf = (status: string) => /seed (\d+)/.exec(status)![1]!;
          expect(seedOf(second.status)).not.toBe(seedOf(first.status));
          expect(second.text).not.toBe(first.text);
          // a seed set in the page: the first text again, each time
          await page.fill('#genSeed', seedOf(first.status));
          expect(await generate()).toEqual(first);
          expect((await generate()).text).toBe(first.text);
          await page.fill('#genSeed', '');
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

  it(
    'fine-tunes a Hugging Face checkpoint loaded by URL, then one chosen as a folder: loss, memory, text before and after',
    async () => {
      const { dir, browser } = await ready();
      const { server, url } = await serveStatic({ '/': dir, '/ck/': FIXTURE }, true);
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        // the optional files a checkpoint may lack (a shard index, …) are asked for and missing: only others count
        page.on(
          'response',
          (r) => void (r.status() >= 400 && !r.url().includes('/ck/') && errors.push(`${r.status()} ${r.url()}`)),
        );
        await page.goto(`${url}/`);
        // the tab's budget is read from the browser, within wasm32's 4 GiB
        const budget = Number(await page.inputValue('#ckMemory'));
        expect(budget).toBeGreaterThanOrEqual(256);
        expect(budget).toBeLessThanOrEqual(4096);
        await page.fill('#ckMemory', '512');
        await page.fill('#ckUrl', `${url}/ck/`);
        await page.click('#ckLoad');
        const state = () => page.evaluate(() => (window as unknown as TunedState).__simdformer);
        await page.waitForFunction(() => (window as unknown as TunedState).__simdformer.loaded, undefined, {
          timeout: 60_000,
        });
        expect(await page.textContent('#ckStatus')).toMatch(
          /^gpt2, [\d,]+ parameters, [\d.]+ MiB of 512 MiB in use: full fine-tuning fits$/,
        );
        await page.fill('#ckSteps', '30');
        await page.fill('#ckLr', '3e-3'); // a random tiny model learns fast; the page's default suits real ones
        await page.click('#ckTune');
        await page.waitForFunction(() => (window as unknown as TunedState).__simdformer.tuned, undefined, {
          timeout: 120_000,
        });
        const s = await state();
        expect(s.tuneLosses.length).toBe(30);
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        expect(mean(s.tuneLosses.slice(-3))).toBeLessThan(mean(s.tuneLosses.slice(0, 3)) - 0.5);
        expect(s.before.length).toBeGreaterThan(0);
        expect(s.after).not.toBe(s.before);
        expect(await page.textContent('#ckTuneStatus')).toMatch(
          /^done: 30 steps in [\d.]+ s, final loss [\d.]+; [\d.]+ MiB of 512 MiB in use$/,
        );
        // the same checkpoint chosen as a folder (File objects) loads too
        await page.setInputFiles('#ckFiles', FIXTURE);
        await page.fill('#ckUrl', '');
        await page.click('#ckLoad');
        await page.waitForFunction(() => (window as unknown as TunedState).__simdformer.loaded, undefined, {
          timeout: 60_000,
        });
        expect(await page.textContent('#ckStatus')).toMatch(/^gpt2, [\d,]+ parameters/);
        await page.screenshot({ path: join(root, 'test-artifacts', 'web-finetune.png'), fullPage: true });
        expect(errors).toEqual([]);
        await page.close();
      } finally {
        server.close();
      }
    },
    LAUNCH_TIMEOUT,
  );
});
