// The memory-bound kernels at the sizes of the reference GPT's training step (batch 8 × 128 tokens):
// GB/s = bytes read + written by the kernel / median seconds (each row says what it counts), at 1 and
// all threads. The compute-bound ones have their own suites: matmul (matmul_f32, pack_a_f32,
// pack_b_f32), attention (bench/suites/attention.bench.ts), loss (cross-entropy, dropout, AdamW, grad norm).
//
//   npm run bench -- kernels [--threads 1,2]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Engine } from '../../src/tensor/engine.js';
import {
  add,
  embedding,
  gelu,
  geluGate,
  layerNorm,
  linear,
  linearGelu,
  mul,
  relu,
  rmsNorm,
  rope,
  ropeTable,
  scale,
  silu,
  siluGate,
  softmax,
  tanh,
} from '../../src/tensor/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { printTable, randomMatrix, type Suite, timeCall, writeResults } from '../harness.js';

interface Case {
  /** The kernels one call runs. */
  kernels: string;
  /** Bytes moved by one forward + backward. */
  bytes: number;
  run(e: Engine, t: Record<string, Tensor>): void;
}

const N = 1024; // tokens: 8 × 128
const C = 128; // d_model
const F = 512; // feed-forward width
const e4 = 4;

const CASES: Record<string, Case> = {
  'gelu (tanh) [1024, 512]': {
    kernels: 'gelu_fwd_f32__tanh (with its derivative) + mul_bwd_f32',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(gelu(t.h!, 'tanh')),
  },
  // the FFN up-projection x[1024, 128]·W[128, 512] + b then GELU: fused (bias in the GELU pass) and unfused (bias
  // rows copied in from JavaScript, the matmul adding to them, then gelu); bytes: u and h written and read back
  // in backward, counted as for gelu above, so the difference between the rows is what the fusion saves
  'linear + bias + gelu (tanh), fused [1024, 128 → 512]': {
    kernels: 'matmul_f32 + bias_gelu_fwd_f32__tanh + mul_fwd_f32 + linear backward',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(linearGelu(t.x!, t.wUp!, t.bUp!, 'in_out', 'tanh')),
  },
  'linear + bias, gelu (tanh), unfused [1024, 128 → 512]': {
    kernels: 'matmul_f32 + gelu_fwd_f32__tanh + mul_bwd_f32 + linear backward',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(gelu(linear(t.x!, t.wUp!, t.bUp!, 'in_out'), 'tanh')),
  },
  'linear + bias + gelu (erf), fused [1024, 128 → 512]': {
    kernels: 'matmul_f32 + bias_gelu_fwd_f32 + mul_fwd_f32 + linear backward',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(linearGelu(t.x!, t.wUp!, t.bUp!, 'in_out', 'none')),
  },
  'gelu (erf) [1024, 512]': {
    kernels: 'gelu_fwd_f32 (with its derivative) + mul_bwd_f32',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(gelu(t.h!)),
  },
  'gated gelu [1024, 512]': {
    kernels: 'gelu_gate_fwd_f32 + gelu_gate_bwd_f32',
    bytes: N * F * e4 * 9,
    run: (_, t) => grad(geluGate(t.h!, t.h2!)),
  },
  'silu [1024, 512]': {
    kernels: 'silu_fwd_f32 + silu_bwd_f32',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(silu(t.h!)),
  },
  'SwiGLU gate [1024, 512]': {
    kernels: 'silu_gate_fwd_f32 + silu_gate_bwd_f32',
    bytes: N * F * e4 * 9,
    run: (_, t) => grad(siluGate(t.h!, t.h2!)),
  },
  // a fused q|k|v row of 4 + 2·2 heads of 32 (grouped-query), q and k rotated: x, y, dy, dx rows + the cos|sin rows
  'rope [1024, 256] (192 rotated)': {
    kernels: 'rope_fwd_f32 + rope_bwd_f32',
    bytes: N * 256 * e4 * 5 + N * 32 * e4 * 2,
    run: (_, t) => grad(rope(t.qkv!, POSITIONS, t.rope!, { headDim: 32, rotated: 192 })),
  },
  'relu [1024, 512]': {
    kernels: 'relu_fwd_f32 + relu_bwd_f32',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(relu(t.h!)),
  },
  'tanh [1024, 512]': {
    kernels: 'tanh_fwd_f32 + tanh_bwd_f32',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(tanh(t.h!)),
  },
  'add [1024, 512]': {
    kernels: 'add_fwd_f32 + 2 × accumulate_f32',
    bytes: N * F * e4 * 9,
    run: (_, t) => grad(add(t.h!, t.h2!)),
  },
  'mul [1024, 512]': {
    kernels: 'mul_fwd_f32 + 2 × mul_bwd_f32',
    bytes: N * F * e4 * 11,
    run: (_, t) => grad(mul(t.h!, t.h2!)),
  },
  'scale [1024, 512]': {
    kernels: 'scale_fwd_f32 + axpy_f32',
    bytes: N * F * e4 * 5,
    run: (_, t) => grad(scale(t.h!, 0.5)),
  },
  'layerNorm [1024, 128]': {
    kernels: 'layernorm_fwd_f32 + layernorm_bwd_f32 + 2 × sum_rows_f32',
    bytes: N * C * e4 * 6,
    run: (_, t) => grad(layerNorm(t.x!, t.w!, t.b!, 1e-5)),
  },
  'layerNorm(x + r) [1024, 128]': {
    kernels: 'add_layernorm_fwd_f32 + layernorm_bwd_f32 (dx, dx2) + 2 × sum_rows_f32',
    bytes: N * C * e4 * 9,
    run: (_, t) => grad(layerNorm(t.x!, t.w!, t.b!, 1e-5, t.x2!)),
  },
  'rmsNorm [1024, 128]': {
    kernels: 'layernorm_fwd_f32 (rms) + layernorm_bwd_f32 + sum_rows_f32',
    bytes: N * C * e4 * 6,
    run: (_, t) => grad(rmsNorm(t.x!, t.w!, 1e-6)),
  },
  'embedding 1024 ids of [256, 128]': {
    kernels: 'embedding_fwd_f32 + embedding_bwd_f32',
    bytes: N * C * e4 * 3,
    run: (_, t) => grad(embedding(t.table!, IDS, [8, 128])),
  },
  'causal softmax [8·4·128, 128]': {
    kernels: 'softmax_fwd_f32 + softmax_bwd_f32',
    bytes: 8 * 4 * 128 * 128 * e4 * 5,
    run: (_, t) => grad(softmax(t.s!, { causal: true, scale: 0.125 })),
  },
};

const IDS = Int32Array.from({ length: N }, (_, i) => (i * 97) % 256);
const POSITIONS = Int32Array.from({ length: N }, (_, i) => i % 128);

/** Seeds the output's gradient with ones and runs the backward kernels. */
function grad(y: Tensor): void {
  const e = y.engine;
  e.gradOf(y).view().fill(1);
  e.tape.replay();
  e.endStep();
}

const suite: Suite = {
  description: 'elementwise, norm, embedding and softmax kernels (forward + backward), GB/s at 1 and all threads',
  async run(args) {
    const { values } = parseArgs({ args, options: { threads: { type: 'string' } }, strict: true });
    const threads = (values.threads ?? `1,${os.availableParallelism()}`).split(',').map(Number);
    const rows: { op: string; kernels: string; threads: number; ms: number; gbps: number }[] = [];
    for (const th of threads) {
      const e = await Engine.create({ threads: th });
      const p = (name: string, shape: number[], seed: number) =>
        e.parameter(
          name,
          randomMatrix(
            shape[0]!,
            shape.slice(1).reduce((a, b) => a * b, 1),
            seed,
          ),
          shape,
        );
      const t: Record<string, Tensor> = {
        h: p('h', [N, F], 1),
        h2: p('h2', [N, F], 2),
        x: p('x', [N, C], 3),
        x2: p('x2', [N, C], 11),
        wUp: p('wUp', [C, F], 9),
        bUp: p('bUp', [F], 10),
        w: p('w', [C], 4),
        b: p('b', [C], 5),
        table: p('table', [256, C], 6),
        s: p('s', [8 * 4 * 128, 128], 7),
        qkv: p('qkv', [N, 256], 8),
        rope: ropeTable(e, 32, 10_000, 128),
      };
      for (const [op, c] of Object.entries(CASES)) {
        const timing = await timeCall(op, () => c.run(e, t));
        rows.push({
          op,
          kernels: c.kernels,
          threads: e.threads,
          ms: timing.medianMs,
          gbps: c.bytes / (timing.medianMs / 1000) / 1e9,
        });
      }
      await e.dispose();
    }
    printTable(rows, [
      { title: 'op (forward + backward)', value: (r) => r.op },
      { title: 'threads', value: (r) => r.threads, digits: 0 },
      { title: 'ms', value: (r) => r.ms, digits: 3 },
      { title: 'GB/s', value: (r) => r.gbps, digits: 1 },
      { title: 'kernels', value: (r) => r.kernels },
    ]);
    console.log(`wrote ${writeResults('kernels', { rows })}`);
  },
};

export default suite;
