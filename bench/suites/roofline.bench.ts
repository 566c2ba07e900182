// The training step at its roofline: every kernel call of a GPT training step (forward, backward, clipping norm,
// AdamW) timed through the runtime's profiler hook (Runtime.profiler), grouped by kernel, phase and shape, with
// the bytes it must move and the flops it must do, against this machine's ceilings measured in the same run:
//   compute: f32x4 mul+add chains (the ceiling suite), GFLOP/s × threads running;
//   memory:  f32x4 streaming reads of 192 MiB per thread (bench/bandwidth.ts), GB/s.
//   ideal ms = max(flops / compute, bytes / memory);  of roofline = ideal / measured (1 = at the roof).
// Bytes are each operand read or written once (the least any schedule moves: a matmul's M·K + K·N + M·N, a
// `+=` output read and written); flops count a multiply-add as 2 and a transcendental as 1. Tensors that fit
// in the caches can beat the DRAM bandwidth, so a memory-bound kernel may show more than 100 %.
// "host" is the step's wall time minus its kernels' time: JavaScript (tape, allocation, the bias rows copied
// into a linear's output, zeroing gradients) and dispatch.
// Models: the reference GPT (4 layers, d 128, 4 heads, FFN 512) and d 512 / 6 layers / 8 heads / FFN 2048, both
// context 128, 256 byte ids, batch 8, AdamW. Beside them, the same step under torch.profiler (PyTorch 1.13), and
// PyTorch's unprofiled step (steps back to back, as simdformer's unprofiled ones) for the speed ratio.
// --rounds R (R > 1) adds R − 1 rounds of both engines' unprofiled steps alone, each engine in a process of its own,
// the first alternating; the ratio is then the median of the rounds' ratios, so the machine's drift between the
// two engines' runs stays within a round (as the real-size suite's --rounds).
//
//   npm run bench -- roofline [--threads 1,2] [--models reference,d512] [--steps 5] [--top 20] [--simd relaxed]
//                             [--rounds 1]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GPT } from '../../src/models/gpt.js';
import type { KernelName } from '../../src/runtime/kernels.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { Engine } from '../../src/tensor/engine.js';
import { tileTrialOf } from '../../src/tensor/kernel-select.js';
import { Trainer } from '../../src/train/trainer.js';
import { compileCeiling, readBandwidth } from '../bandwidth.js';
import { randomBatch, referenceConfig } from '../engines/reference-gpt.js';
import { profileTorchGpt, timeTorchGpt, torchPython, type GptShape, type TorchOp } from '../engines/torch-gpt.js';
import {
  answerParent,
  childJob,
  inTurn,
  machine,
  median,
  printTable,
  roundsOption,
  runInChild,
  type Suite,
  writeResults,
} from '../harness.js';
import { kernel, measure, measureParallel } from './ceiling.bench.js';

const MODELS: Record<string, GptShape> = {
  reference: { layers: 4, d: 128, heads: 4, ffn: 512, context: 128, vocab: 256, batch: 8 },
  d512: { layers: 6, d: 512, heads: 8, ffn: 2048, context: 128, vocab: 256, batch: 8 },
};

type Phase = 'forward' | 'backward' | 'optimizer';

interface Job {
  model: string;
  threads: number;
  steps: number;
  /** simdformer's build: 'plain' (default) or 'relaxed' (fused multiply-add; the products ~15–20 % faster). */
  simd: 'plain' | 'relaxed';
  /** Only the unprofiled steps (a later round of --rounds): rows stay empty. */
  timeOnly?: boolean;
}

/** One kernel at one phase and shape, per step. */
interface KernelRow {
  kernel: string;
  phase: Phase | 'host';
  shape: string;
  calls: number;
  ms: number;
  bytes: number;
  flops: number;
}

interface ChildAnswer {
  threads: number;
  /** Steps run before the timed ones (3, or until the tile trial picked). */
  warmupSteps: number;
  /** The matmul tile the timed steps ran. */
  tile: string;
  stepMs: number;
  unprofiledStepMs: number;
  rows: KernelRow[];
}

interface Cost {
  shape: string;
  bytes: number;
  flops: number;
}

const F = 4; // bytes per float32

/** Bytes and flops of one call, from its arguments (see the header for the counting). */
function costOf(rt: Runtime, name: KernelName, a: readonly number[], items: number): Cost {
  const n = items;
  if (name.startsWith('pack_a_f32')) {
    // read once; written once, or four times where the tile's panels hold A splatted (__4p, __2p)
    const splatted = name.endsWith('p');
    return { shape: `${a[2]}×${a[3]}`, bytes: (splatted ? 5 : 2) * F * a[2]! * a[3]!, flops: 0 };
  }
  if (name.startsWith('pack_b_f32')) return { shape: `${a[2]}×${a[3]}`, bytes: 2 * F * a[2]! * a[3]!, flops: 0 };
  if (name.startsWith('matmul_f32') || name === 'gemv_f32__nk') {
    const [M, N, K] = name === 'gemv_f32__nk' ? [a[3]!, a[4]!, a[5]!] : [a[3]!, a[4]!, a[5]!];
    const acc = name === 'gemv_f32__nk' ? a[9]! : a[7]!;
    return { shape: `${M}×${N}×${K}`, bytes: F * (M * K + K * N + M * N * (1 + acc)), flops: 2 * M * N * K };
  }
  if (name === 'gemv_f32__kn') {
    const [M, N, K, acc] = [a[4]!, a[5]!, a[6]!, a[11]!];
    return { shape: `${M}×${N}×${K}`, bytes: F * (M * K + K * N + M * N * (1 + acc)), flops: 2 * M * N * K };
  }
  if (name.startsWith('attention_')) {
    const descAt = { attention_fwd_f32: 7, attention_bwd_f32__delta: 3, attention_bwd_f32__dq: 10 }[name as string];
    const d = rt.i32.subarray(a[descAt ?? (name === 'attention_bwd_f32__dkv' ? 10 : 12)]! >>> 2);
    const [B, H, Tq, Tk, D, causal] = [d[0]!, d[1]!, d[2]!, d[3]!, d[4]!, d[5]!];
    // causal with Tq = Tk: about half of the score matrix is computed
    const pairs = B * H * Tq * Tk * (causal && Tq === Tk ? (Tq + 1) / (2 * Tq) : 1);
    const shape = `B${B} H${H} T${Tq}×${Tk} D${D}`;
    const qo = B * H * Tq * D;
    const kv = B * H * Tk * D;
    switch (name) {
      case 'attention_fwd_f32': // S = QKᵀ, O = PV; reads q, k, v, writes o, lse
        return { shape, bytes: F * (2 * qo + 2 * kv + B * H * Tq), flops: 4 * pairs * D + 3 * pairs };
      case 'attention_bwd_f32__delta': // Δ = rowsum(dO ⊙ O)
        return { shape, bytes: F * (2 * qo + B * H * Tq), flops: 2 * qo };
      case 'attention_bwd_f32__dq': // S, dP = dO·Vᵀ, dQ += dS·K
        return { shape, bytes: F * (4 * qo + 2 * kv), flops: 6 * pairs * D + 4 * pairs };
      case 'attention_bwd_f32__dkv': // S, dP, dV += Pᵀ·dO, dK += dSᵀ·Q
        return { shape, bytes: F * (2 * qo + 6 * kv), flops: 8 * pairs * D + 4 * pairs };
      default: // qkv: all five products
        return { shape, bytes: F * (4 * qo + 6 * kv), flops: 10 * pairs * D + 4 * pairs };
    }
  }
  switch (name) {
    case 'cross_entropy_fwd_f32': {
      const V = a[5]!;
      const g = a[2]! !== 0 ? 1 : 0;
      return { shape: `${n}×${V}`, bytes: F * n * V * (1 + g), flops: 4 * n * V };
    }
    case 'cross_entropy_bwd_f32':
      return { shape: `${a[3]}`, bytes: F * a[3]! * (2 + a[4]!), flops: a[3]! };
    case 'adamw_f32':
      return { shape: `${a[4]}`, bytes: F * a[4]! * 7, flops: 18 * a[4]! };
    case 'grad_norm_f32':
      return { shape: `${a[2]}`, bytes: F * a[2]!, flops: 2 * a[2]! };
    case 'grad_scale_f32':
      return { shape: `${a[1]}`, bytes: F * 2 * a[1]!, flops: a[1]! };
    case 'layernorm_fwd_f32': {
      const C = a[6]!;
      return { shape: `${n}×${C}`, bytes: F * (2 * n * C + 2 * n + 2 * C), flops: 8 * n * C };
    }
    case 'add_layernorm_fwd_f32': {
      const C = a[8]!; // x and r read, the sum and y written
      return { shape: `${n}×${C}`, bytes: F * (4 * n * C + 2 * n + 2 * C), flops: 9 * n * C };
    }
    case 'layernorm_bwd_f32': {
      const [N, C] = [a[9]!, a[10]!];
      return { shape: `${N}×${C}`, bytes: F * (4 * N * C + 2 * N + C + 2 * n * C), flops: 12 * N * C };
    }
    case 'sum_rows_f32':
      return { shape: `${a[2]}×${a[3]}`, bytes: F * (a[2]! * a[3]! + 2 * a[3]!), flops: a[2]! * a[3]! };
    case 'embedding_fwd_f32':
      return { shape: `${n}×${a[3]}`, bytes: F * (2 * n * a[3]! + n), flops: 0 };
    case 'embedding_bwd_f32': // table rows read and written; the dout rows they sum are not known here
      return { shape: `${n} ids×${a[5]}`, bytes: F * 2 * n * a[5]!, flops: 0 };
    case 'softmax_fwd_f32':
      return { shape: `${n}×${a[2]}`, bytes: F * 2 * n * a[2]!, flops: 4 * n * a[2]! };
    case 'softmax_bwd_f32':
      return { shape: `${n}×${a[3]}`, bytes: F * 4 * n * a[3]!, flops: 4 * n * a[3]! };
    // elementwise: items are elements
    case 'add_fwd_f32':
    case 'mul_fwd_f32':
      return { shape: `${n}`, bytes: F * 3 * n, flops: n };
    case 'accumulate_f32':
    case 'axpy_f32':
      return { shape: `${n}`, bytes: F * 3 * n, flops: name === 'axpy_f32' ? 2 * n : n };
    case 'mul_bwd_f32':
      return { shape: `${n}`, bytes: F * 4 * n, flops: 2 * n };
    case 'scale_fwd_f32':
      return { shape: `${n}`, bytes: F * 2 * n, flops: n };
    case 'gelu_fwd_f32':
    case 'gelu_fwd_f32__tanh': // x read, y written, and the derivative if wanted
      return { shape: `${n}`, bytes: F * (a[1] ? 3 : 2) * n, flops: (a[1] ? 14 : 8) * n };
    case 'bias_gelu_fwd_f32':
    case 'bias_gelu_fwd_f32__tanh': // u read (and overwritten by the derivative if wanted), y written, b read
      return {
        shape: `${n}×${a[3]}`,
        bytes: F * ((a[4] ? 3 : 2) * n * a[3]! + a[3]!),
        flops: (a[4] ? 15 : 9) * n * a[3]!,
      };
    default:
      return { shape: `${n} items`, bytes: NaN, flops: NaN };
  }
}

async function profileStep(job: Job): Promise<ChildAnswer> {
  const shape = MODELS[job.model]!;
  const engine = await Engine.create({ threads: job.threads, simd: job.simd });
  const config = referenceConfig();
  Object.assign(config, { n_embd: shape.d, n_layer: shape.layers, n_head: shape.heads, n_inner: shape.ffn });
  const model = new GPT(engine, config, 0);
  const trainer = new Trainer(model, {
    lr: 3e-4,
    totalSteps: 1000,
    warmup: 0,
    schedule: 'constant',
    weightDecay: 0.01,
    clip: 0,
  });
  const rt = engine.runtime;
  // warm-up: 3 steps, and on until the engine has picked its matmul tile (the trial's steps run every tile)
  let s = 0;
  for (; s < 3 || tileTrialOf(rt) !== undefined; s++) trainer.step(randomBatch(s));
  const unprofiled: number[] = [];
  for (const end = s + job.steps; s < end; s++) {
    const t0 = performance.now();
    trainer.step(randomBatch(s));
    unprofiled.push(performance.now() - t0);
  }
  const warmupSteps = s - job.steps;
  const tile = engine.kernels.matmul;
  if (job.timeOnly) {
    await engine.dispose();
    return { threads: engine.threads, warmupSteps, tile, stepMs: NaN, unprofiledStepMs: median(unprofiled), rows: [] };
  }
  // phases: the loss's forward, the tape's replay (backward), then the norm and AdamW (optimizer)
  let phase: Phase = 'forward';
  const tape = engine.tape;
  const replay = tape.replay.bind(tape);
  tape.replay = () => {
    phase = 'backward';
    replay();
    phase = 'optimizer';
  };
  const groups = new Map<string, KernelRow>();
  rt.profiler = (name, args, items, ms) => {
    const c = costOf(rt, name, args, items);
    const key = `${name}|${phase}|${c.shape}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { kernel: name, phase, shape: c.shape, calls: 0, ms: 0, bytes: 0, flops: 0 }));
    g.calls++;
    g.ms += ms;
    g.bytes += c.bytes;
    g.flops += c.flops;
  };
  const profiled: number[] = [];
  for (let s = 0; s < job.steps; s++) {
    phase = 'forward';
    const t0 = performance.now();
    trainer.step(randomBatch(100 + s));
    profiled.push(performance.now() - t0);
  }
  rt.profiler = undefined;
  const total = profiled.reduce((x, y) => x + y, 0);
  const rows = [...groups.values()].map((g) => ({
    ...g,
    calls: g.calls / job.steps,
    ms: g.ms / job.steps,
    bytes: g.bytes / job.steps,
    flops: g.flops / job.steps,
  }));
  const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
  rows.push({
    kernel: 'host',
    phase: 'host',
    shape: '',
    calls: 0,
    ms: total / job.steps - kernelMs,
    bytes: 0,
    flops: 0,
  });
  rows.sort((x, y) => y.ms - x.ms);
  await engine.dispose();
  return {
    threads: engine.threads,
    warmupSteps,
    tile,
    stepMs: median(profiled),
    unprofiledStepMs: median(unprofiled),
    rows,
  };
}

interface Ceilings {
  threads: number;
  gflops: number;
  gbps: number;
}

async function measureCeilings(threads: number[]): Promise<Ceilings[]> {
  const bytes = compileCeiling('fma-chains');
  const one = measure(kernel(bytes, 12), 12);
  const out: Ceilings[] = [];
  for (const t of threads) {
    const gflops = t === 1 ? one.gflops : await measureParallel(bytes, 12, one.iters, t);
    out.push({ threads: t, gflops, gbps: (await readBandwidth(t, 192, 3)).gbps });
  }
  return out;
}

/** ideal / measured: 1 at the roof (compute or memory, whichever bounds the kernel). */
function ofRoofline(r: KernelRow, c: Ceilings): number {
  if (r.phase === 'host' || !Number.isFinite(r.bytes)) return NaN;
  const ideal = Math.max(r.flops / (c.gflops * 1e9), r.bytes / (c.gbps * 1e9)) * 1e3;
  return ideal / r.ms;
}

function bound(r: KernelRow, c: Ceilings): string {
  if (r.phase === 'host' || !Number.isFinite(r.bytes)) return '';
  return r.flops / (c.gflops * 1e9) >= r.bytes / (c.gbps * 1e9) ? 'compute' : 'memory';
}

/** The torch.profiler rows that are leaves of time (self time), ranked. */
function torchTable(ops: TorchOp[], top: number, stepMs: number): void {
  printTable(ops.slice(0, top), [
    { title: 'PyTorch op', value: (o) => o.name },
    { title: 'calls', value: (o) => o.calls, digits: 0 },
    { title: 'self ms', value: (o) => o.selfMs },
    { title: '% step', value: (o) => (100 * o.selfMs) / stepMs, digits: 1 },
    { title: 'GFLOP', value: (o) => (o.flops ? o.flops / 1e9 : undefined), digits: 3 },
  ]);
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      threads: { type: 'string' },
      models: { type: 'string' },
      steps: { type: 'string' },
      top: { type: 'string' },
      simd: { type: 'string' },
      rounds: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const m = machine();
  const threads = (values.threads ?? `1,${os.availableParallelism()}`).split(',').map(Number);
  const models = (values.models ?? 'reference,d512').split(',');
  const steps = Number(values.steps ?? 5);
  const top = Number(values.top ?? 20);
  const simd = values.simd ?? 'plain';
  if (simd !== 'plain' && simd !== 'relaxed') throw new Error(`--simd takes plain or relaxed, got ${simd}`);
  const rounds = roundsOption(values.rounds);
  for (const name of models) if (!MODELS[name]) throw new Error(`unknown model ${name}: ${Object.keys(MODELS)}`);
  console.log(`roofline: ${m.cpu}, ${m.cores} logical cores, Node ${m.node}, load average ${m.loadavg.join(' ')}`);
  const ceilings = await measureCeilings(threads);
  printTable(ceilings, [
    { title: 'threads', value: (c) => c.threads },
    { title: 'compute GFLOP/s', value: (c) => c.gflops, digits: 1 },
    { title: 'memory GB/s', value: (c) => c.gbps, digits: 1 },
  ]);
  const py = torchPython();
  if ('error' in py) console.log(`\nPyTorch skipped: ${py.error}`);
  const runs = [];
  for (const model of models) {
    for (const t of threads) {
      const ans = await runInChild<ChildAnswer>('roofline', { model, threads: t, steps, simd } satisfies Job);
      const c = ceilings.find((x) => x.threads === ans.threads) ?? ceilings[0]!;
      const sh = MODELS[model]!;
      const kernelMs = ans.rows.filter((r) => r.phase !== 'host').reduce((s, r) => s + r.ms, 0);
      console.log(
        `\n${model} (${sh.layers} layers, d ${sh.d}, FFN ${sh.ffn}, B ${sh.batch} × T ${sh.context}), ${simd} build, ` +
          `${ans.threads} thread(s): step ${ans.stepMs.toFixed(1)} ms profiled, ` +
          `${ans.unprofiledStepMs.toFixed(1)} ms unprofiled (tile ${ans.tile}, after ${ans.warmupSteps} warm-up steps); ` +
          `kernels ${kernelMs.toFixed(1)} ms`,
      );
      printTable(ans.rows.slice(0, top), [
        { title: 'kernel', value: (r) => r.kernel },
        { title: 'phase', value: (r) => r.phase },
        { title: 'shape', value: (r) => r.shape },
        { title: 'calls', value: (r) => (r.phase === 'host' ? undefined : r.calls), digits: 0 },
        { title: 'ms', value: (r) => r.ms },
        { title: '% step', value: (r) => (100 * r.ms) / ans.stepMs, digits: 1 },
        { title: 'MB', value: (r) => (r.phase === 'host' ? undefined : r.bytes / 1e6), digits: 2 },
        { title: 'MFLOP', value: (r) => (r.phase === 'host' ? undefined : r.flops / 1e6), digits: 1 },
        { title: 'GFLOP/s', value: (r) => (r.flops ? r.flops / r.ms / 1e6 : undefined), digits: 1 },
        { title: 'GB/s', value: (r) => (r.bytes ? r.bytes / r.ms / 1e6 : undefined), digits: 1 },
        { title: 'bound', value: (r) => bound(r, c) },
        { title: 'of roofline', value: (r) => (r.phase === 'host' ? '' : `${(100 * ofRoofline(r, c)).toFixed(0)} %`) },
      ]);
      let torch;
      let torchUnprofiledStepMs: number | undefined;
      if (!('error' in py)) {
        try {
          torch = profileTorchGpt(py, t, sh);
          console.log(
            `\nPyTorch ${torch.torch}, same step under torch.profiler, ${t} thread(s): ${torch.stepMs.toFixed(1)} ms`,
          );
          torchTable(torch.ops, top, torch.stepMs);
          // the speed comparison: PyTorch's steps back to back, unprofiled, as simdformer's unprofiled steps
          torchUnprofiledStepMs = median(timeTorchGpt(py, t, sh, Math.max(steps, 5)).stepsMs);
          console.log(
            `PyTorch unprofiled: ${torchUnprofiledStepMs.toFixed(1)} ms a step; simdformer's speed ÷ PyTorch's: ` +
              `${(torchUnprofiledStepMs / ans.unprofiledStepMs).toFixed(2)}`,
          );
        } catch (err) {
          console.log(`PyTorch failed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      // later rounds: both engines' unprofiled steps alone, the first alternating
      const paired: { simdformerMs: number; tile: string; torchMs: number; ratio: number }[] = [];
      if (torchUnprofiledStepMs !== undefined) {
        paired.push({
          simdformerMs: ans.unprofiledStepMs,
          tile: ans.tile,
          torchMs: torchUnprofiledStepMs,
          ratio: torchUnprofiledStepMs / ans.unprofiledStepMs,
        });
        for (let r = 1; r < rounds && !('error' in py); r++) {
          // the first round ran simdformer first
          const [ans, torchMs] = await inTurn(
            r,
            () => runInChild<ChildAnswer>('roofline', { model, threads: t, steps, simd, timeOnly: true } satisfies Job),
            () => median(timeTorchGpt(py, t, sh, Math.max(steps, 5)).stepsMs),
          );
          const oursMs = ans.unprofiledStepMs;
          paired.push({ simdformerMs: oursMs, tile: ans.tile, torchMs, ratio: torchMs / oursMs });
          console.log(
            `round ${r + 1}: simdformer ${oursMs.toFixed(1)} ms (tile ${ans.tile}), PyTorch ${torchMs.toFixed(1)} ms a step: ` +
              `${(torchMs / oursMs).toFixed(2)}`,
          );
        }
        if (paired.length > 1)
          console.log(`median of ${paired.length} rounds' ratios: ${median(paired.map((x) => x.ratio)).toFixed(2)}`);
      }
      runs.push({
        model,
        simd,
        shape: sh,
        ...ans,
        ceilings: c,
        rows: ans.rows.map((r) => ({ ...r, bound: bound(r, c), ofRoofline: ofRoofline(r, c) })),
        pytorch: torch,
        torchUnprofiledStepMs,
        // simdformer's speed ÷ PyTorch's: round 1's, or with --rounds the median of the rounds' ratios
        ratio: paired.length > 0 ? median(paired.map((x) => x.ratio)) : undefined,
        rounds: paired.length > 1 ? paired : undefined,
      });
    }
  }
  console.log(
    `\nwrote ${writeResults('roofline', {
      formula:
        'ideal ms = max(flops / compute ceiling, bytes / memory bandwidth); of roofline = ideal / measured; ' +
        'bytes: every operand once; host = step − Σ kernels',
      ceilings,
      runs,
    })}`,
  );
}

const suite: Suite = {
  description: "GPT training step per kernel: time, bytes, flops, fraction of the roofline; PyTorch's profile beside",
  // the fused kernels it shows in the step (every kernel of the step appears; these were added for it)
  kernels: ['bias_gelu_fwd_f32__tanh'],
  async run(args) {
    const job = childJob<Job>(args);
    if (job !== undefined) await answerParent(() => profileStep(job));
    else await main(args);
  },
};

export default suite;
