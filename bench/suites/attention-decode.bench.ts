// Decoding's attention: attention_fwd_f32 for a few query rows over a KV cache, both ways the forward can
// multiply, each on an engine pinned to it (`kernels: { attention }`): 'packed' (per 64-key tile, Kᵀ and V copied
// into panels, then the register tiles) and 'direct' (q, k, v read where they lie). The same bits; the engine
// times both per shape up to ATTENTION_TRIAL_ROWS query rows (AttentionTrial).
//
// Napkin math (GPT-2, 12 heads of 64, one row, 1,024 keys): the scores and P·V are 4·H·Tk·D = 3.1 MFLOP, and
// the cache's K and V 2·H·Tk·D·4 = 6.3 MB a layer, so one row reads 2 bytes per flop: the bytes bound it
// (6.3 MB at 20 GB/s: 0.31 ms). The packed path also writes every key tile's panels and reads them back: about
// three times the traffic, and per tile 2 · 64 · 64 copies for one row's 2 · 64 · 64 multiply-adds.
// The cache is GPT's layout, [B, capacity, heads·D] (rows heads·D apart), one per layer of a 12-layer model
// (75 MB at 1,024 keys), each call on the next layer's: K and V come from DRAM, as in a model.
// GB/s = bytes of K and V read ÷ median seconds.
//
//   npm run bench -- attention-decode [--threads 1,2] [--rows 1,2,4,8] [--keys 128,1024] [--quick]
import { parseArgs } from 'node:util';
import { Engine } from '../../src/tensor/engine.js';
import type { AttentionPath } from '../../src/tensor/kernel-select.js';
import { attention } from '../../src/tensor/ops/attention.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../tests/util/random.js';
import { machine, median, printTable, type Suite, writeResults } from '../harness.js';

/** [what, batch (sequences or beams), heads, KV heads, head dim]. */
const MODELS: readonly [string, number, number, number, number][] = [
  ['GPT-2', 1, 12, 12, 64],
  ['GPT-2 beam 4', 4, 12, 12, 64],
  ['SmolLM2-135M', 1, 9, 3, 64],
];
const LAYERS = 12;

interface Row {
  what: string;
  threads: number;
  rows: number;
  keys: number;
  packed: number;
  direct: number;
  /** packed ms ÷ direct ms. */
  ratio: number;
  /** K and V bytes read per second by the faster path, GB/s. */
  gbps: number;
}

/** Median ms of `reps` forwards of one path, each on the next layer's cache. */
function time(
  e: Engine,
  caches: Tensor[],
  q: Tensor,
  B: number,
  H: number,
  Hkv: number,
  D: number,
  Tq: number,
  Tk: number,
  reps: number,
): number {
  const capacity = caches[0]!.shape[1]!;
  const opts = {
    batch: B,
    heads: H,
    kvHeads: Hkv,
    queryLen: Tq,
    keyLen: Tk,
    headDim: D,
    causal: true,
    k: { rowStride: 2 * Hkv * D, batchStride: capacity * 2 * Hkv * D },
    v: { offset: Hkv * D, rowStride: 2 * Hkv * D, batchStride: capacity * 2 * Hkv * D },
  };
  const ms: number[] = [];
  for (let r = 0; r < reps + 1; r++) {
    const kv = caches[r % caches.length]!;
    const t0 = performance.now();
    attention(q, kv, kv, opts);
    const t = performance.now() - t0;
    e.endStep();
    if (r > 0) ms.push(t); // the first: warm-up
  }
  return median(ms);
}

const suite: Suite = {
  description: "decoding's attention over a KV cache: the forward's direct and packed paths, 1–8 query rows",
  kernels: ['attention_fwd_f32'],
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        threads: { type: 'string', default: '1,2' },
        rows: { type: 'string', default: '1,2,4,8' },
        keys: { type: 'string', default: '128,1024' },
        quick: { type: 'boolean' },
      },
    });
    const list = (s: string) => s.split(',').map(Number);
    const reps = values.quick ? 12 : 48;
    const rows: Row[] = [];
    for (const threads of list(values.threads)) {
      const engines = {} as Record<AttentionPath, Engine>;
      for (const p of ['direct', 'packed'] as const) {
        engines[p] = await Engine.create({ threads, maxMemoryMiB: 2048, kernels: { attention: p } });
      }
      for (const [what, B, H, Hkv, D] of MODELS) {
        for (const Tk of list(values.keys)) {
          const per = {} as Record<AttentionPath, { caches: Tensor[]; q: Tensor }>;
          for (const p of ['direct', 'packed'] as const) {
            const e = engines[p];
            const cache = randn(B * Tk * 2 * Hkv * D, 1);
            per[p] = {
              caches: Array.from({ length: LAYERS }, () => e.tensor(cache, [B, Tk, 2 * Hkv * D])),
              q: e.tensor(randn(B * 8 * H * D, 2), [B, 8, H * D]),
            };
          }
          for (const Tq of list(values.rows)) {
            const ms = {} as Record<AttentionPath, number>;
            // in turns, three rounds: the machine's drift falls on both
            const runs = { direct: [] as number[], packed: [] as number[] };
            for (let round = 0; round < 3; round++) {
              for (const p of round % 2 === 0 ? (['packed', 'direct'] as const) : (['direct', 'packed'] as const)) {
                runs[p].push(time(engines[p], per[p].caches, per[p].q, B, H, Hkv, D, Tq, Tk, reps));
              }
            }
            for (const p of ['direct', 'packed'] as const) ms[p] = Math.min(...runs[p]);
            const bytes = 2 * B * Tk * Hkv * D * 4;
            rows.push({
              what,
              threads,
              rows: Tq,
              keys: Tk,
              packed: ms.packed,
              direct: ms.direct,
              ratio: ms.packed / ms.direct,
              gbps: bytes / Math.min(ms.packed, ms.direct) / 1e6,
            });
          }
          for (const p of ['direct', 'packed'] as const) for (const t of [...per[p].caches, per[p].q]) t.dispose();
        }
      }
      for (const e of Object.values(engines)) await e.dispose();
    }
    printTable(rows, [
      { title: 'model', value: (r) => r.what },
      { title: 'threads', value: (r) => String(r.threads) },
      { title: 'rows', value: (r) => String(r.rows) },
      { title: 'keys', value: (r) => String(r.keys) },
      { title: 'packed ms', value: (r) => r.packed, digits: 3 },
      { title: 'direct ms', value: (r) => r.direct, digits: 3 },
      { title: 'packed ÷ direct', value: (r) => r.ratio },
      { title: 'GB/s', value: (r) => r.gbps, digits: 1 },
    ]);
    console.log(`CPU: ${machine().cpu}`);
    console.log(`wrote ${writeResults('attention-decode', { layers: LAYERS, reps, rows })}`);
  },
};

export default suite;
