// The WebAssembly ceilings here, compiled with asc, on one thread and on every core at once (one worker
// each): compute, bench/ceiling/fma-chains.ts (independent f32x4 mul+add chains, no memory traffic),
//   GFLOP/s = 8 · chains · iterations / seconds / 1e9   (8 = 4 lanes × (1 mul + 1 add));
// and memory, bench/ceiling/stream-read.ts (f32x4 loads over 192 MiB per thread, 6× the L3),
//   GB/s = bytes read / seconds / 1e9, summed over threads: the bound of decoding (bench/bandwidth.ts).
//
//   npm run bench -- ceiling
import { Worker } from 'node:worker_threads';
import { compileCeiling, readBandwidth } from '../bandwidth.js';
import { machine, median, printTable, type Suite, writeResults } from '../harness.js';

const CHAINS = [4, 8, 12] as const;
const MUL = 0.999;
const ADD = 0.001;
const RUN_MS = 200; // one timed call
const RUNS = 5;

export type Kernel = (iters: number, mul: number, add: number) => number;

export function kernel(bytes: Uint8Array<ArrayBuffer>, chains: number): Kernel {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  return instance.exports[`fma_chains_f32__${chains}`] as Kernel;
}

/** Iterations for one call of about RUN_MS, after a warm-up that lets V8 tier up. */
function calibrate(f: Kernel): number {
  let iters = 1 << 16;
  for (;;) {
    const t = performance.now();
    f(iters, MUL, ADD);
    const ms = performance.now() - t;
    if (ms > RUN_MS / 4) return Math.round((iters * RUN_MS) / ms);
    iters *= 4;
  }
}

export function measure(f: Kernel, chains: number): { gflops: number; iters: number; runs: number[] } {
  const iters = calibrate(f);
  f(iters, MUL, ADD); // warm-up at full length
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const sum = f(iters, MUL, ADD);
    runs.push(performance.now() - t);
    if (!Number.isFinite(sum)) throw new Error(`chains ${chains}: sum ${sum}`);
  }
  return { gflops: (8 * chains * iters) / (median(runs) / 1e3) / 1e9, iters, runs };
}

// Each worker: instantiate, check in, wait for the start flag, run RUNS timed calls, post them.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, name, iters, mul, add, runs, flag } = workerData;
const f = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports[name];
f(iters, mul, add);
const sync = new Int32Array(flag);
Atomics.add(sync, 1, 1);
Atomics.notify(sync, 1);
Atomics.wait(sync, 0, 0);
const times = [];
for (let i = 0; i < runs; i++) { const t = performance.now(); f(iters, mul, add); times.push(performance.now() - t); }
parentPort.postMessage(times);
`;

/** All `threads` workers run the same kernel at once; GFLOP/s summed over workers (median per worker). */
export async function measureParallel(
  bytes: Uint8Array<ArrayBuffer>,
  chains: number,
  iters: number,
  threads: number,
): Promise<number> {
  const flag = new SharedArrayBuffer(8);
  const sync = new Int32Array(flag);
  const name = `fma_chains_f32__${chains}`;
  const workers = Array.from(
    { length: threads },
    () => new Worker(WORKER, { eval: true, workerData: { bytes, name, iters, mul: MUL, add: ADD, runs: RUNS, flag } }),
  );
  const results = workers.map(
    (w) => new Promise<number[]>((resolve, reject) => w.once('message', resolve).once('error', reject)),
  );
  while (Atomics.load(sync, 1) < threads) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(sync, 0, 1);
  Atomics.notify(sync, 0);
  const times = await Promise.all(results);
  await Promise.all(workers.map((w) => w.terminate()));
  return times.reduce((sum, t) => sum + (8 * chains * iters) / (median(t) / 1e3) / 1e9, 0);
}

async function main(): Promise<void> {
  const m = machine();
  console.log(`ceiling: ${m.cpu}, ${m.cores} logical cores, Node ${m.node}, load average ${m.loadavg.join(' ')}`);
  console.log('GFLOP/s = 8 · chains · iterations / seconds / 1e9 (f32x4 mul + add per chain and iteration)');
  const bytes = compileCeiling('fma-chains');
  const rows: { chains: number; threads: number; gflops: number; iters: number }[] = [];
  for (const chains of CHAINS) {
    const r = measure(kernel(bytes, chains), chains);
    rows.push({ chains, threads: 1, gflops: r.gflops, iters: r.iters });
  }
  const best = rows.reduce((x, y) => (y.gflops > x.gflops ? y : x));
  if (m.cores > 1) {
    rows.push({
      chains: best.chains,
      threads: m.cores,
      gflops: await measureParallel(bytes, best.chains, best.iters, m.cores),
      iters: best.iters,
    });
  }
  printTable(rows, [
    { title: 'chains', value: (r) => String(r.chains) },
    { title: 'threads', value: (r) => String(r.threads) },
    { title: 'GFLOP/s', value: (r) => r.gflops },
  ]);
  console.log(`\none-thread ceiling: ${best.gflops.toFixed(1)} GFLOP/s (${best.chains} chains)`);
  const memory = [];
  for (let threads = 1; threads <= m.cores; threads++) memory.push(await readBandwidth(threads));
  console.log('\nmemory read bandwidth (f32x4 loads, 192 MiB per thread; GB/s = bytes / seconds / 1e9)');
  printTable(memory, [
    { title: 'threads', value: (r) => String(r.threads) },
    { title: 'GB/s', value: (r) => r.gbps },
  ]);
  console.log(
    `wrote ${writeResults('ceiling', {
      formula: 'GFLOP/s = 8 · chains · iterations / seconds / 1e9',
      rows,
      memoryFormula: 'GB/s = bytes read / seconds / 1e9, summed over threads (median pass of each)',
      memory: memory.map(({ threads, mib, gbps }) => ({ threads, mibPerThread: mib, gbps })),
    })}`,
  );
}

const suite: Suite = {
  description: 'WebAssembly SIMD peak (f32x4 mul+add chains) and memory read bandwidth, 1 thread and all cores',
  run: () => main(),
};

export default suite;
