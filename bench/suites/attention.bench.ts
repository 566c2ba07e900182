// Attention forward + backward: fused (flash-style tiles) vs materialised (S [B, H, T, T] by matmul + softmax).
// Time: median of `reps` runs after a warm-up. Memory: bytes of the op's step allocations (O, lse, delta,
// descriptor; or S/P, dP, dS) + the largest scratch block it asked for, during one forward + backward.
// Napkin math (B = 1, H = 4, D = 64, T = 2048): the materialised version holds 3 · H·T²·4 B = 201 MB;
// FLOPs: materialised 6 matmuls · 2·H·T²·D = 12.9 GFLOP; fused with the one-pass backward (B·H ≥ threads)
// recomputes S and dP once: 7 · 2·H·T²·D = 15.0 GFLOP (non-causal), plus one exp per score in each direction.
// Kernels (the suite's `kernels`): fused attention_fwd_f32, attention_bwd_f32__delta, attention_bwd_f32__qkv (one
// pass) or __dq + __dkv (two passes), against pack_a_f32 + pack_b_f32 + matmul_f32 and softmax_fwd/bwd_f32 (materialised).
// Run: npm run bench -- attention [--quick] [--causal]   (writes bench/results/attention[-causal].json)
import { loadavg } from 'node:os';
import { Engine } from '../../src/tensor/engine.js';
import { attentionMaterialised } from '../../src/tensor/ops/attention-materialised.js';
import { attention, type AttentionOptions } from '../../src/tensor/ops/attention.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../tests/util/random.js';
import { type Suite, writeResults } from '../harness.js';

export interface AttentionBenchOptions {
  seqs?: number[];
  threads?: (number | 'auto')[];
  heads?: number;
  headDim?: number;
  batch?: number;
  causal?: boolean;
  warmup?: number;
  reps?: number;
}

export interface AttentionBenchRow {
  impl: 'fused' | 'materialised';
  seq: number;
  threads: number;
  /** Median forward + backward time, ms. */
  ms: number;
  /** Effective GFLOP/s counting the 6 matmul-equivalents of plain attention (2·B·H·T²·D each). */
  gflops: number;
  /** Step bytes allocated by the op during forward + backward, plus the largest scratch block. */
  peakBytes: number;
}

type AttnFn = (q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions) => Tensor;

/** Times forward + backward of one implementation on one engine; counts its step and scratch bytes. */
function measure(
  e: Engine,
  fn: AttnFn,
  T: number,
  o: Required<AttentionBenchOptions>,
): { ms: number; peakBytes: number } {
  const { batch: B, heads: H, headDim: D } = o;
  const C = H * D;
  // GPT's fused qkv projection output [B, T, 3C]: q, k, v read through strides, gradients into one buffer
  const x = e.tensor(randn(B * T * 3 * C, 1), [B, T, 3 * C]);
  x.requiresGrad = true;
  const dO = randn(B * T * C, 2);
  const opts: AttentionOptions = {
    batch: B,
    heads: H,
    queryLen: T,
    keyLen: T,
    headDim: D,
    causal: o.causal,
    q: { offset: 0, rowStride: 3 * C },
    k: { offset: C, rowStride: 3 * C },
    v: { offset: 2 * C, rowStride: 3 * C },
  };
  const rt = e.runtime;
  const arena = rt.arena;
  const allocStep = arena.allocStep.bind(arena);
  const scratch = rt.scratch.bind(rt);
  let stepBytes = 0;
  let scratchBytes = 0;
  arena.allocStep = (bytes: number) => {
    stepBytes += Math.ceil(Math.max(bytes, 1) / 64) * 64;
    return allocStep(bytes);
  };
  rt.scratch = (bytes: number) => {
    scratchBytes = Math.max(scratchBytes, bytes);
    return scratch(bytes);
  };
  const times: number[] = [];
  let peakBytes = 0;
  try {
    for (let r = 0; r < o.warmup + o.reps; r++) {
      stepBytes = 0;
      scratchBytes = 0;
      const t0 = performance.now();
      const out = fn(x, x, x, opts);
      e.gradOf(out).set(dO);
      e.tape.replay();
      const t1 = performance.now();
      e.endStep();
      if (r >= o.warmup) times.push(t1 - t0);
      peakBytes = Math.max(peakBytes, stepBytes + scratchBytes);
    }
  } finally {
    delete (arena as Partial<typeof arena>).allocStep;
    delete (rt as Partial<typeof rt>).scratch;
    x.dispose();
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, peakBytes };
}

/** Runs the suite; returns one row per (threads, seq, impl). */
export async function benchAttention(opts: AttentionBenchOptions = {}): Promise<AttentionBenchRow[]> {
  const o: Required<AttentionBenchOptions> = {
    seqs: [128, 512, 2048],
    threads: [1, 'auto'],
    heads: 4,
    headDim: 64,
    batch: 1,
    causal: false,
    warmup: 1,
    reps: 3,
    ...opts,
  };
  const rows: AttentionBenchRow[] = [];
  for (const threads of o.threads) {
    const e = await Engine.create({ threads, maxMemoryMiB: 1024 });
    try {
      for (const seq of o.seqs) {
        const flop = 6 * 2 * o.batch * o.heads * seq * seq * o.headDim;
        for (const [impl, fn] of [
          ['fused', attention],
          ['materialised', attentionMaterialised],
        ] as const) {
          const { ms, peakBytes } = measure(e, fn, seq, o);
          rows.push({ impl, seq, threads: e.threads, ms, gflops: flop / ms / 1e6, peakBytes });
        }
      }
    } finally {
      await e.dispose();
    }
  }
  return rows;
}

function printTable(rows: AttentionBenchRow[]): void {
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  console.log('threads  seq  impl            fwd+bwd ms  GFLOP/s  peak MiB   vs materialised (time, memory)');
  for (const r of rows) {
    const m = rows.find((x) => x.impl === 'materialised' && x.seq === r.seq && x.threads === r.threads)!;
    const rel =
      r.impl === 'fused' ? `${(r.ms / m.ms).toFixed(2)}× time, 1/${(m.peakBytes / r.peakBytes).toFixed(1)} memory` : '';
    console.log(
      `${String(r.threads).padStart(7)} ${String(r.seq).padStart(5)}  ${r.impl.padEnd(14)} ${r.ms.toFixed(1).padStart(11)} ${r.gflops.toFixed(1).padStart(8)} ${mib(r.peakBytes).padStart(9)}   ${rel}`,
    );
  }
}

const suite: Suite = {
  description: 'attention forward + backward, fused vs materialised: time and peak memory, seq 128/512/2048',
  kernels: [
    'attention_fwd_f32',
    'attention_bwd_f32__delta',
    'attention_bwd_f32__qkv',
    'attention_bwd_f32__dq',
    'attention_bwd_f32__dkv',
    'pack_a_f32',
    'pack_b_f32',
    'matmul_f32',
    'softmax_fwd_f32',
    'softmax_bwd_f32',
  ],
  async run(args) {
    const quick = args.includes('--quick');
    const causal = args.includes('--causal');
    const loadBefore = loadavg()[0]!;
    const rows = await benchAttention({ causal, ...(quick ? { warmup: 1, reps: 1 } : {}) });
    const load = [loadBefore, loadavg()[0]!].map((l) => Math.round(l * 100) / 100); // 1-minute load, before and after
    printTable(rows);
    console.log(
      `wrote ${writeResults(causal ? 'attention-causal' : 'attention', { batch: 1, heads: 4, headDim: 64, causal, load, rows })}`,
    );
  },
};

export default suite;
