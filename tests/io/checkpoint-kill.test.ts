/**
 * kill -9 during checkpoint saves. A child process (tests/util/kill-child.ts) pre-trains a tiny GPT saving a
 * generation at every step; a hook around every file operation of its saves sends it SIGKILL before or after one
 * of them: each of the third save's operations in turn (open, write, sync and close of every file, the folder
 * flushes, the renames, the removal of the oldest generation), and at random times. After every kill the run's
 * folder loads, holds exactly one earlier save of the uninterrupted run (byte for byte), and resuming it ends on
 * the uninterrupted run's weights bit for bit, with nothing of the killed save left once the next save is done.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCheckpointDir } from '../../src/io/checkpoint.js';
import { loadModel } from '../../src/models/load.js';
import { pretrainGpt } from '../../src/recipes/pretrain-gpt.js';
import { Rng } from '../../src/rng.js';
import { Engine } from '../../src/tensor/engine.js';
import { KILL_RUN_STEPS, killRunOptions, writeKillRunText } from '../util/kill-run.js';

const CHILD = fileURLToPath(new URL('../util/kill-child.ts', import.meta.url));
const WASM = fileURLToPath(new URL('../../build/simdformer.wasm', import.meta.url));
/** The child bundled into one file (esbuild): a process starts in a tenth of the time tsx takes. */
let bundle: string;
const GENERATION_FILES = [
  'config.json',
  'model.safetensors',
  'optimizer.safetensors',
  'tokenizer.json',
  'trainer_state.json',
];

interface Event {
  n: number;
  when: 'before' | 'after';
  op: string;
  path: string;
}

/** Runs the child; `onLine` sees its stdout line by line. Resolves with how it ended. */
function child(
  args: string[],
  onLine: (line: string, kill: () => void) => void = () => undefined,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bundle, WASM, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      let i: number;
      while ((i = out.indexOf('\n')) >= 0) {
        onLine(out.slice(0, i), () => p.kill('SIGKILL'));
        out = out.slice(i + 1);
      }
    });
    p.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Runs `jobs` two at a time (the machine has two cores). */
async function inPairs<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += 2) out.push(...(await Promise.all(jobs.slice(i, i + 2).map((j) => j()))));
  return out;
}

describe('kill -9 during checkpoint saves', () => {
  let root: string;
  let data: string;
  let engine: Engine;
  /** The uninterrupted run's generations, every one kept. */
  let reference: string;
  let events: Event[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'simdformer-kill-'));
    bundle = join(root, 'kill-child.mjs');
    await build({
      entryPoints: [CHILD],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'warning',
    });
    data = join(root, 'text.txt');
    await writeKillRunText(data);
    engine = await Engine.create({ threads: 1 });
    reference = join(root, 'reference');
    await pretrainGpt(engine, { ...killRunOptions(data, reference), saveTotalLimit: KILL_RUN_STEPS });
    const listed: Event[] = [];
    const r = await child([data, join(root, 'listed'), 'list'], (line) => listed.push(JSON.parse(line) as Event));
    expect(r.code, r.stderr).toBe(0);
    events = listed;
  }, 120_000);
  afterAll(async () => {
    await engine?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  /** What a killed run left in `out`: it loads, it is one save of the run, and resuming it ends where the run ends. */
  async function checkResumes(out: string, what: string): Promise<number> {
    const generation = await resolveCheckpointDir(out);
    const step = Number(/checkpoint-(\d+)$/.exec(generation)?.[1]);
    expect(step, `${what}: the folder holds a generation`).toBeGreaterThanOrEqual(1);
    (await loadModel(engine, out)).dispose();
    for (const file of GENERATION_FILES) {
      const held = await readFile(join(generation, file));
      const saved = await readFile(join(reference, `checkpoint-${step}`, file));
      expect(held.equals(saved), `${what}: ${file} of checkpoint-${step} is the run's`).toBe(true);
    }
    await pretrainGpt(engine, { ...killRunOptions(data, out), resume: true });
    expect(await readFile(join(out, 'latest'), 'utf8')).toBe(`checkpoint-${KILL_RUN_STEPS}\n`);
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const resumed = await readFile(join(out, `checkpoint-${KILL_RUN_STEPS}`, file));
      const straight = await readFile(join(reference, `checkpoint-${KILL_RUN_STEPS}`, file));
      expect(resumed.equals(straight), `${what}: resumed ${file} is the uninterrupted run's, bit for bit`).toBe(true);
    }
    // the killed save's temporaries are gone after the next save; two generations are kept
    expect((await readdir(out)).sort(), what).toEqual([
      `checkpoint-${KILL_RUN_STEPS - 1}`,
      `checkpoint-${KILL_RUN_STEPS}`,
      'latest',
      'metrics.jsonl',
    ]);
    return step;
  }

  it('at every file operation of a save, before and after it', async () => {
    // the third save: from the folder made for it to the removal of the oldest generation
    const first = events.find((e) => e.op === 'mkdir' && e.path.includes('.tmp-checkpoint-3-'))!.n - 2;
    const last = events.find((e) => e.when === 'after' && e.op === 'rm' && e.path.includes('retired-checkpoint-1-'))!.n;
    const save = events.filter((e) => e.n >= first && e.n <= last);
    for (const op of ['open', 'write', 'sync', 'close', 'rename', 'mkdir', 'rm'])
      expect(
        save.some((e) => e.op === op),
        op,
      ).toBe(true);
    expect(save.length).toBeGreaterThan(60);

    const held = await inPairs(
      save.map((e) => async () => {
        const out = join(root, `kill-${e.n}`);
        const r = await child([data, out, 'kill', String(e.n)]);
        const what = `killed ${e.when} ${e.op} ${e.path}`;
        expect(r.signal, `${what}: ${r.stderr}`).toBe('SIGKILL');
        return { e, out, what };
      }),
    );
    const steps = [];
    for (const { out, what } of held) steps.push(await checkResumes(out, what));
    // killed before the new generation's pointer moved: the second save; after: the third
    expect(new Set(steps)).toEqual(new Set([2, 3]));
  }, 600_000);

  it('at random times after the first save', async () => {
    const rng = new Rng(21);
    const results = await inPairs(
      Array.from({ length: 4 }, (_, i) => async () => {
        const out = join(root, `random-${i}`);
        const delay = rng.int(400);
        let timer: NodeJS.Timeout | undefined;
        await child([data, out, 'signal'], (line, kill) => {
          if (line === 'saved' && timer === undefined) timer = setTimeout(kill, delay);
        });
        clearTimeout(timer);
        return { out, what: `killed ${delay} ms after the first save` };
      }),
    );
    for (const { out, what } of results) await checkResumes(out, what);
  }, 300_000);
});
