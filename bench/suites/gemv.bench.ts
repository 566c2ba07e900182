// Decoding's matmuls: C[M, N] = A[M, K]·W for a few rows M (one per sequence or beam), W as checkpoints
// store it: [K, N] ('kn', GPT-2's Conv1D) or [N, K] ('nk', torch Linear and the tied LM heads). The GEMV
// kernels (gemv_f32__kn, gemv_f32__nk) read W in place; the packed path (gemmPacked: pack_a_f32,
// pack_b_f32, matmul_f32) copies W into panels first, then reads the copy.
//
// Napkin math. A decoding step reads every weight once and does 2·M flops per weight (4 bytes), so for
// small M the bytes bound it, not the flops:
//   time ≥ 4·K·N / bandwidth;  at M = 1 a core needs 0.5 flop per byte: 10 GB/s takes 5 GFLOP/s, far under
//   the 38 GFLOP/s f32x4 ceiling of one core. Packing reads W, writes the panels (4·K·N bytes) and reads
//   them back: ≥ 3× the traffic, and the panels (9.4 MB for 768 × 3072) do not stay in cache.
//   At M = 4, 8 flops per 4 bytes: 10 GB/s needs 20 GFLOP/s, half the ceiling: the kernel must not be
//   latency-bound. Past some M the packed kernel's 4×8 tile wins: that M is gemm's GEMV_ROWS for W [N, K]; for
//   W [K, N] (the same bits both ways) the engine times both paths per shape up to GEMV_TRIAL_ROWS.
// Each call reads a different copy of W from a ring of copies totalling ≥ 256 MB (8× the 32 MiB L3), so
// W comes from DRAM, as in a model. GB/s = 4·K·N / median seconds / 1e9; "of bandwidth" divides it by
// the stream-read bandwidth of the same thread count (bench/bandwidth.ts), measured in the same run.
// Weight-only int8 (path 'int8', src/tensor/ops/int8.ts): W as q [N, K] int8 + a scale per row, a quarter of
// the bytes; gemv_f32__i8 for M ≤ GEMV_ROWS, dequantize_i8_f32 panels + the packed matmul past it. Its GB/s
// counts the int8 bytes read (K·N + 4·N); "×f32" is the float GEMV's time ÷ the int8 time (the same product).
//
//   npm run bench -- gemv [--threads 1,2] [--rows 1,2,4,8,16,24] [--quick]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Engine } from '../../src/tensor/engine.js';
import { gemmInt8, quantizeWeight, type Int8Weight } from '../../src/tensor/ops/int8.js';
import { GEMV_SPLIT, GEMV_TRIAL_ROWS, type GemvPath } from '../../src/tensor/kernel-select.js';
import { GEMV_ROWS, gemmPacked, gemvKn, gemvNk } from '../../src/tensor/ops/matmul.js';
import { randn } from '../../tests/util/random.js';
import { readBandwidth } from '../bandwidth.js';
import { machine, median, printTable, type Suite, writeResults } from '../harness.js';

type Layout = 'kn' | 'nk';
/** [what, layout, K, N]: the shapes one decoding step of the real-size models runs. */
const SHAPES: readonly [string, Layout, number, number][] = [
  ['GPT-2 qkv', 'kn', 768, 2304],
  ['GPT-2 ffn up', 'kn', 768, 3072],
  ['GPT-2 ffn down', 'kn', 3072, 768],
  ['BART ffn up', 'nk', 768, 3072],
  ['BART ffn down', 'nk', 3072, 768],
  ['GPT-2 LM head', 'nk', 768, 50257],
];
const RING_BYTES = 256e6;

interface Row {
  what: string;
  layout: Layout;
  M: number;
  K: number;
  N: number;
  threads: number;
  path: GemvPath | 'int8';
  ms: number;
  gbps: number;
  ofBandwidth: number;
  /** int8 rows: the float GEMV's (or packed path's, past GEMV_ROWS) ms ÷ this ms. */
  vsF32?: number;
}

/** `copies` copies of W quantized to int8 (one quantization, its bytes copied), laid out as gemmInt8 reads them. */
function int8Copies(e: Engine, w: Float32Array, layout: Layout, K: number, N: number, copies: number): Int8Weight[] {
  const first = quantizeWeight(e.tensor(w, layout === 'kn' ? [K, N] : [N, K]), layout === 'kn' ? 'in_out' : 'out_in');
  const out = [first];
  for (let i = 1; i < copies; i++) {
    const q = e.runtime.arena.alloc(K * N);
    const scale = e.runtime.arena.alloc(4 * N);
    const u8 = e.runtime.u8;
    u8.copyWithin(q, first.q, first.q + K * N);
    u8.copyWithin(scale, first.scale, first.scale + 4 * N);
    out.push({ ...first, q, scale });
  }
  return out;
}

/** Median ms of `calls` calls, each on the next copy of W. */
function time(call: (copy: number) => void, copies: number, calls: number): number {
  for (let i = 0; i < Math.min(copies, 4); i++) call(i);
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    call(i % copies);
    times.push(performance.now() - t);
  }
  return median(times);
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { threads: { type: 'string' }, rows: { type: 'string' }, quick: { type: 'boolean' } },
    strict: true,
  });
  const m = machine();
  const threadCounts = (values.threads ?? `1,${m.cores}`).split(',').map(Number);
  const rowCounts = (values.rows ?? '1,2,4,8,16,24').split(',').map(Number);
  const calls = values.quick ? 9 : 31;
  console.log(`gemv: ${m.cpu}, ${m.cores} logical cores, Node ${m.node}, load average ${m.loadavg.join(' ')}`);
  console.log(
    `GB/s = 4·K·N / median seconds / 1e9 (W from a ${RING_BYTES / 1e6} MB ring of copies); GEMV_ROWS = ${GEMV_ROWS}`,
  );
  const rows: Row[] = [];
  const bandwidth: Record<number, number> = {};
  for (const threads of threadCounts) {
    bandwidth[threads] = (await readBandwidth(threads)).gbps;
    console.log(`  stream-read bandwidth, ${threads} thread(s): ${bandwidth[threads]!.toFixed(2)} GB/s`);
    const e = await Engine.create({ threads, maxMemoryMiB: 2048 });
    for (const [what, layout, K, N] of values.quick ? SHAPES.slice(1, 2).concat(SHAPES.slice(-1)) : SHAPES) {
      const copies = Math.max(2, Math.ceil(RING_BYTES / (4 * K * N)));
      const w = randn(K * N, K + N);
      const ws = Array.from({ length: copies }, () => e.tensor(w));
      const Mmax = Math.max(...rowCounts);
      const a = e.tensor(randn(Mmax * K, 7));
      const c = e.empty([Mmax * N]);
      const [ldbK, ldbN] = layout === 'kn' ? [N, 1] : [1, K];
      for (const M of rowCounts) {
        // W [K, N]: the GEMV up to GEMV_TRIAL_ROWS in each split the engine's trial times at this thread count;
        // W [N, K]: the GEMV up to GEMV_ROWS
        const splits: GemvPath[] =
          layout === 'kn' && threads > 1 ? ['gemv', 'gemv/256', 'gemv/64', 'gemv/k'] : ['gemv'];
        const gemvRows = layout === 'kn' ? GEMV_TRIAL_ROWS : GEMV_ROWS;
        for (const path of [...(M <= gemvRows ? splits : []), 'packed' as const]) {
          const run = (i: number) => {
            const w = ws[i]!.ptr;
            if (path === 'packed') gemmPacked(e.runtime, c.ptr, N, a.ptr, K, 1, w, ldbK, ldbN, M, N, K, false);
            else if (layout === 'kn') gemvKn(e.runtime, c.ptr, N, a.ptr, K, w, N, M, N, K, false, GEMV_SPLIT[path]);
            else gemvNk(e.runtime, c.ptr, N, a.ptr, K, w, K, M, N, K, false);
          };
          const ms = time(run, copies, calls);
          const gbps = (4 * K * N) / (ms / 1e3) / 1e9;
          rows.push({ what, layout, M, K, N, threads, path, ms, gbps, ofBandwidth: gbps / bandwidth[threads]! });
          console.log(
            `  ${what} ${layout} M=${M} K=${K} N=${N} ×${threads} ${path}: ${ms.toFixed(3)} ms, ${gbps.toFixed(2)} GB/s`,
          );
        }
      }
      for (const t of ws) t.dispose();
      const copies8 = Math.max(2, Math.ceil(RING_BYTES / (K * N)));
      const forms = int8Copies(e, w, layout, K, N, copies8);
      for (const M of rowCounts) {
        const ms = time((i) => gemmInt8(e.runtime, c.ptr, a.ptr, forms[i]!, M, false), copies8, calls);
        const gbps = (K * N + 4 * N) / (ms / 1e3) / 1e9;
        const f32 = rows.find(
          (r) =>
            r.what === what && r.M === M && r.threads === threads && r.path === (M > GEMV_ROWS ? 'packed' : 'gemv'),
        )!;
        rows.push({
          what,
          layout,
          M,
          K,
          N,
          threads,
          path: 'int8',
          ms,
          gbps,
          ofBandwidth: gbps / bandwidth[threads]!,
          vsF32: f32.ms / ms,
        });
        console.log(
          `  ${what} ${layout} M=${M} K=${K} N=${N} ×${threads} int8: ${ms.toFixed(3)} ms, ${gbps.toFixed(2)} GB/s, ${(f32.ms / ms).toFixed(2)}× f32`,
        );
      }
      for (const f of forms) {
        e.runtime.arena.release(f.q);
        e.runtime.arena.release(f.scale);
      }
      for (const t of [a, c]) t.dispose();
    }
    await e.dispose();
  }
  console.log();
  printTable(rows, [
    { title: 'shape', value: (r) => `${r.what} (${r.layout} ${r.K}×${r.N})` },
    { title: 'M', value: (r) => r.M, digits: 0 },
    { title: 'threads', value: (r) => r.threads, digits: 0 },
    { title: 'path', value: (r) => r.path },
    { title: 'ms', value: (r) => r.ms, digits: 3 },
    { title: 'GB/s of W', value: (r) => r.gbps },
    { title: 'of bandwidth', value: (r) => r.ofBandwidth },
    { title: '×f32', value: (r) => (r.vsF32 === undefined ? '' : r.vsF32.toFixed(2)) },
  ]);
  console.log(
    `wrote ${writeResults('gemv', {
      formula:
        'GB/s = 4·K·N (int8: K·N + 4·N) / median seconds / 1e9; ×f32 = float ms ÷ int8 ms; of bandwidth = GB/s ÷ stream-read GB/s at the same threads',
      loadAfter: os.loadavg(),
      bandwidth,
      rows,
    })}`,
  );
}

const suite: Suite = {
  description:
    'decoding matmuls (M = 1…16 rows): GEMV reading W in place vs the packed path, and int8 weights, GB/s of W',
  kernels: [
    'gemv_f32__kn',
    'gemv_f32__nk',
    'gemv_f32__i8',
    'dequantize_i8_f32',
    'pack_a_f32',
    'pack_b_f32',
    'matmul_f32',
  ],
  run: (args) => main(args),
};

export default suite;
