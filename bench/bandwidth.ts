// Memory read bandwidth as WebAssembly sees it: bench/ceiling/stream-read.ts summing a buffer several
// times the last-level cache, on `threads` workers at once (each its own instance, memory and buffer),
// started together. GB/s = bytes / seconds / 1e9 per worker (median of its runs), summed over workers.
// This is the bound of decoding: a step reads every weight once, so tokens/s ≤ GB/s ÷ GB of weights.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BENCH_DIR } from './harness.js';

const DIR = join(BENCH_DIR, 'ceiling');
const OUT_DIR = join(DIR, 'build'); // git-ignored

/** Compiles bench/ceiling/<name>.ts with asc (-O3, stub runtime, SIMD) and returns the wasm bytes. */
export function compileCeiling(name: string): Uint8Array<ArrayBuffer> {
  mkdirSync(OUT_DIR, { recursive: true });
  const wasm = join(OUT_DIR, `${name}.wasm`);
  const asc = join(BENCH_DIR, '..', 'node_modules', '.bin', 'asc');
  const args = [`${name}.ts`, '-o', wasm, '-t', join(OUT_DIR, `${name}.wat`), '-O3', '--runtime', 'stub'];
  args.push('--noAssert', '--use', 'abort=', '--enable', 'simd');
  // cwd bench/ceiling: asc would otherwise pick up the project's asconfig.json (imported memory, …).
  const r = spawnSync(asc, args, { encoding: 'utf8', cwd: DIR });
  if (r.status !== 0) throw new Error(`asc failed (${r.status}): ${r.stderr}`);
  return new Uint8Array(readFileSync(wasm));
}

// Each worker: its own memory of `mib` MiB past the first page, filled (so every page is real), one warm-up
// pass, check in, wait for the start flag, `runs` timed passes, post their wall and process CPU times.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, mib, runs, flag } = workerData;
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
const base = 65536, n = mib * 1048576;
exports.memory.grow(Math.ceil((base + n) / 65536));
new Float32Array(exports.memory.buffer, base, n / 4).fill(1e-3);
exports.stream_read_f32(base, n);
const sync = new Int32Array(flag);
Atomics.add(sync, 1, 1);
Atomics.notify(sync, 1);
Atomics.wait(sync, 0, 0);
const times = [], cpu = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now(), c = process.cpuUsage();
  exports.stream_read_f32(base, n);
  const u = process.cpuUsage(c);
  times.push(performance.now() - t);
  cpu.push((u.user + u.system) / 1e3);
}
parentPort.postMessage({ times, cpu });
`;

export interface Bandwidth {
  threads: number;
  mib: number;
  /** Summed over threads: each thread's median pass. */
  gbps: number;
  /** Each thread's GB/s per pass. */
  perThread: number[][];
  /**
   * One thread: GB/s over the process CPU time of each pass (the main thread waits meanwhile), median: the
   * bandwidth while the thread runs, steadier than wall time on a shared machine. Undefined past one thread.
   */
  cpuGbps?: number;
}

/** Read bandwidth of `threads` threads streaming at once, `mib` MiB each (default 192: 6× a 32 MiB L3). */
export async function readBandwidth(threads: number, mib = 192, runs = 7): Promise<Bandwidth> {
  const bytes = compileCeiling('stream-read');
  const flag = new SharedArrayBuffer(8);
  const sync = new Int32Array(flag);
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { eval: true, workerData: { bytes, mib, runs, flag } }),
  );
  const results = workers.map(
    (w) =>
      new Promise<{ times: number[]; cpu: number[] }>((resolve, reject) =>
        w.once('message', resolve).once('error', reject),
      ),
  );
  while (Atomics.load(sync, 1) < threads) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(sync, 0, 1);
  Atomics.notify(sync, 0);
  const answers = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  const gb = (mib * 2 ** 20) / 1e9;
  const perThread = answers.map((a) => a.times.map((ms) => gb / (ms / 1e3)));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const gbps = perThread.reduce((s, t) => s + median(t), 0);
  const cpuGbps = threads === 1 ? median(answers[0]!.cpu.map((ms) => gb / (ms / 1e3))) : undefined;
  return { threads, mib, gbps, perThread, cpuGbps };
}
