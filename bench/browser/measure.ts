// Measurements that run unchanged in Node and in a browser worker: matmul GFLOP/s on the matmul suite's
// shapes and training tokens/s of the reference GPT (bench/engines/simdformer-gpt.ts). No Node APIs.
import { Engine } from '../../src/tensor/engine.js';
import { matmulInto } from '../../src/tensor/ops/matmul.js';
import { GPT } from '../../src/models/gpt.js';
import { Trainer } from '../../src/train/trainer.js';
import { randomBatch, REFERENCE, referenceConfig } from '../engines/reference-gpt.js';

export const SHAPES: [number, number, number][] = [
  [256, 256, 256],
  [512, 512, 512],
  [512, 768, 768],
  [512, 768, 3072],
];

export interface BrowserRow {
  what: string;
  threads: number;
  value: number;
  unit: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function measureAll(threads: number): Promise<BrowserRow[]> {
  const e = await Engine.create({ threads });
  const rows: BrowserRow[] = [];
  for (const [M, K, N] of SHAPES) {
    const a = e.tensor(
      Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5),
      [M, K],
    );
    const b = e.tensor(
      Float32Array.from({ length: K * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5),
      [K, N],
    );
    const c = e.empty([M, N]);
    const run = () => matmulInto(e.runtime, c.ptr, a.ptr, b.ptr, M, N, K);
    for (let i = 0; i < 3; i++) run();
    const reps = Math.max(2, Math.round(1e9 / (2 * M * K * N)));
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) run();
      times.push((performance.now() - t0) / reps);
    }
    rows.push({
      what: `matmul ${M}×${K}×${N}`,
      threads: e.threads,
      value: (2 * M * K * N) / median(times) / 1e6,
      unit: 'GFLOP/s',
    });
    for (const t of [a, b, c]) t.dispose();
  }
  const model = new GPT(e, referenceConfig(), 0);
  const trainer = new Trainer(model, { lr: 3e-4, totalSteps: 100, clip: 0 });
  const times: number[] = [];
  for (let s = 0; s < 8; s++) {
    const t0 = performance.now();
    trainer.step(randomBatch(s));
    if (s >= 2) times.push(performance.now() - t0);
  }
  rows.push({
    what: 'reference GPT training',
    threads: e.threads,
    value: (REFERENCE.batch * REFERENCE.context) / (median(times) / 1000),
    unit: 'tokens/s',
  });
  await e.dispose();
  return rows;
}
