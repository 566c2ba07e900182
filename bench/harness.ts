// The shared benchmark harness: seeded data, warm-up + median timing (benny for fast cases, a plain
// loop for slow ones), tables, results files, and child processes for engines whose thread count is
// fixed once per process (onnxruntime-web, tfjs-wasm).
//
// Counting (printed by every suite): a matmul C (M×N) = A (M×K)·B (K×N) is M·N·K multiply-adds, so
//   GFLOP/s = 2·M·K·N / seconds / 1e9        (seconds = median wall time of one full call)
// whatever the engine does inside (packing, copies in and out are part of its time).
import b from 'benny';
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelName } from '../src/runtime/kernels.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** A suite: bench/suites/<name>.bench.ts default-exports one. */
export interface Suite {
  readonly description: string;
  /** The kernels it times, for a suite that times kernels (tests/runtime/kernel-table.test.ts reads these). */
  readonly kernels?: readonly KernelName[];
  run(args: string[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Machine and data

export interface Machine {
  cpu: string; // os.cpus()[0].model
  cores: number; // logical cores (os.availableParallelism)
  node: string;
  v8: string;
  platform: string;
  loadavg: number[]; // 1, 5, 15 min at the start: other work on the machine makes numbers noisy
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** mulberry32: a tiny seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A row-major (rows × cols) matrix, uniform in [-1, 1), the same for the same seed in every process. */
export function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = 2 * next() - 1;
  return out;
}

/** Normwise relative error max|out − ref| / max|ref| (elementwise relative error blows up near 0). */
export function maxRelativeError(out: Float32Array, ref: Float32Array): number {
  if (out.length !== ref.length) return Infinity;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i] - ref[i]);
    if (!(d <= err)) err = d; // NaN-safe: a NaN makes the error NaN, never 0
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / (scale || 1);
}

// ---------------------------------------------------------------------------------------------
// Timing

export interface TimingOptions {
  /** Warm up for at least this long (and at least 2 calls, unless one call alone is longer). */
  warmupMs?: number;
  /** Measure for about this long after the warm-up. */
  targetMs?: number;
  /** Own loop: this many runs at least / at most; the reported time is their median. */
  minRuns?: number;
  maxRuns?: number;
  /** 'auto': benny when a warm call is under `bennyBelowMs`, the own loop otherwise. */
  method?: 'auto' | 'benny' | 'loop';
  bennyBelowMs?: number;
}

export interface Timing {
  method: 'benny' | 'loop';
  warmupCalls: number;
  runs: number; // loop: timed calls; benny: samples (each the mean of a cycle of calls)
  medianMs: number;
  minMs: number;
  maxMs: number;
}

const TIMING_DEFAULTS: Required<TimingOptions> = {
  warmupMs: 300,
  targetMs: 1500,
  minRuns: 3,
  maxRuns: 15,
  method: 'auto',
  bennyBelowMs: 20,
};

/** --rounds: R rounds of both engines (the real-size and roofline suites); a whole number ≥ 1. */
export function roundsOption(value: string | undefined): number {
  const rounds = Number(value ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number ≥ 1, got ${value}`);
  return rounds;
}

/**
 * One round of both engines, their results: ours first in even rounds, theirs first in odd ones, so a drift of the
 * machine within the rounds favours neither.
 */
export async function inTurn<A, B>(round: number, ours: () => Promise<A>, theirs: () => B): Promise<[A, B]> {
  if (round % 2 === 0) {
    const a = await ours();
    return [a, theirs()];
  }
  const b = theirs();
  return [await ours(), b];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `fn` (one full, synchronised operation per call): warm-up, then the median of several runs.
 * Fast calls go through benny (benchmark.js cycles, fixed-time sampling); slow ones (where benny's
 * sampling would take many seconds) through a plain loop timing each call.
 */
export async function timeCall(
  name: string,
  fn: () => Promise<void> | void,
  options: TimingOptions = {},
): Promise<Timing> {
  const o = { ...TIMING_DEFAULTS, ...options };
  const warm: number[] = [];
  const warmStart = performance.now();
  while (warm.length < 50) {
    const t = performance.now();
    await fn();
    warm.push(performance.now() - t);
    const elapsed = performance.now() - warmStart;
    if (elapsed >= o.warmupMs && (warm.length >= 2 || warm[0] >= o.warmupMs)) break;
  }
  const perCall = warm[warm.length - 1];
  const method = o.method === 'auto' ? (perCall < o.bennyBelowMs ? 'benny' : 'loop') : o.method;

  if (method === 'benny') {
    // benny logs 'Running "<name>" suite...' on start; the suite prints its own lines and table.
    const log = console.log;
    console.log = () => undefined;
    let summary: Awaited<ReturnType<typeof b.suite>>;
    try {
      summary = await b.suite(
        name,
        b.add(name, () => fn, { maxTime: o.targetMs / 1000, minSamples: o.minRuns, delay: 0 }),
        b.cycle(() => undefined), // no live output
        b.complete(() => undefined),
      );
    } finally {
      console.log = log;
    }
    const d = summary.results[0].details;
    return {
      method,
      warmupCalls: warm.length,
      runs: summary.results[0].samples,
      medianMs: d.median * 1e3,
      minMs: d.min * 1e3,
      maxMs: d.max * 1e3,
    };
  }

  const runs = Math.min(o.maxRuns, Math.max(o.minRuns, Math.round(o.targetMs / Math.max(perCall, 1e-3))));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return {
    method,
    warmupCalls: warm.length,
    runs,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
  };
}

/** GFLOP/s of a matmul (see the formula at the top of this file). */
export function matmulGflops(M: number, K: number, N: number, ms: number): number {
  return (2 * M * K * N) / (ms / 1e3) / 1e9;
}

// ---------------------------------------------------------------------------------------------
// Output

export interface Column<R> {
  title: string;
  value: (row: R) => string | number | undefined;
  digits?: number; // numbers: fixed digits (default 2)
}

/** Prints rows as an aligned table: text left-aligned, numbers right-aligned, missing values as "—". */
export function printTable<R>(rows: readonly R[], columns: readonly Column<R>[]): void {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const v = c.value(r);
      if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return { text: '—', right: true };
      if (typeof v === 'number') return { text: v.toFixed(c.digits ?? 2), right: true };
      return { text: v, right: false };
    }),
  );
  const widths = columns.map((c, j) => Math.max(c.title.length, ...cells.map((r) => r[j].text.length)));
  const line = (texts: { text: string; right: boolean }[]) =>
    texts
      .map((t, j) => (t.right ? t.text.padStart(widths[j]) : t.text.padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  console.log(line(columns.map((c, j) => ({ text: c.title, right: cells.some((r) => r[j].right) }))));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

/** Writes bench/results/<suite>.json (machine and date added) and returns its path. */
export function writeResults(suite: string, payload: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${suite}.json`);
  const doc = { suite, date: new Date().toISOString(), machine: machine(), ...payload };
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n');
  return path;
}

// ---------------------------------------------------------------------------------------------
// Child processes: one per engine configuration, so a thread count fixed at first use
// (ort.env.wasm.numThreads, the tfjs wasm backend) never leaks into another measurement.

const CHILD_FLAG = '--child';

/**
 * Runs `job` in a fresh process: `run.ts <suite> --child <json>` with this process's loader flags.
 * The child's stdout/stderr pass through; its answer comes back over the IPC channel.
 */
export function runInChild<T>(suite: string, job: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(join(BENCH_DIR, 'run.ts'), [suite, CHILD_FLAG, JSON.stringify(job)], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let answered = false;
    child.on('message', (msg: { ok: boolean; value?: T; error?: string }) => {
      answered = true;
      if (msg.ok) resolve(msg.value as T);
      else reject(new Error(msg.error));
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!answered) reject(new Error(`child for ${JSON.stringify(job)} exited (${signal ?? code}) without an answer`));
    });
  });
}

/** The job this process was started for by `runInChild`, or undefined in the parent. */
export function childJob<T>(args: readonly string[]): T | undefined {
  const i = args.indexOf(CHILD_FLAG);
  return i < 0 ? undefined : (JSON.parse(args[i + 1]) as T);
}

/** Child side: computes the answer, sends it to the parent, and exits (engines may keep worker threads alive). */
export async function answerParent(work: () => Promise<unknown>): Promise<never> {
  let msg: { ok: boolean; value?: unknown; error?: string };
  try {
    msg = { ok: true, value: await work() };
  } catch (e) {
    msg = { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  await new Promise<void>((resolve) => process.send!(msg, () => resolve()));
  process.exit(0);
}
