import type { BertBatch } from '../../src/models/bert.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Trainer } from '../../src/train/trainer.js';
import type { Engine } from '../../src/tensor/engine.js';

interface MaskedLM {
  engine: Engine;
  namedParameters(): Map<string, Tensor>;
  train(mode?: boolean): unknown;
  loss(batch: BertBatch): Tensor;
  run(batch: BertBatch): { logits: Tensor };
}

/**
 * Trains a masked LM for 250 steps on fresh batches of doubled tokens ([a a b b c c …], ids in
 * [lo, V), one position per row replaced by `maskId`) and returns the share of masked tokens it then
 * recovers on four fresh batches. Without context a masked token is one of V − lo ids; from its twin,
 * certain: a model that uses context scores near 1.
 */
export function twinAccuracy(m: MaskedLM, opts: { V: number; lo: number; maskId: number }): number {
  const e = m.engine;
  const { V, lo, maskId } = opts;
  const B = 32,
    T = 16;
  let seed = 11;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0), seed % n);
  const batch = () => {
    const inputIds = new Int32Array(B * T),
      labels = new Int32Array(B * T).fill(-100);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t += 2) inputIds[b * T + t] = inputIds[b * T + t + 1] = lo + rand(V - lo);
      const p = b * T + rand(T);
      labels[p] = inputIds[p]!;
      inputIds[p] = maskId;
    }
    return { inputIds, labels, B, T };
  };
  const trainer = new Trainer(m, { lr: 3e-3, totalSteps: 250, warmup: 20, weightDecay: 0 });
  for (let s = 0; s < 250; s++) trainer.step(batch());
  m.train(false);
  let hits = 0;
  for (let r = 0; r < 4; r++) {
    const x = batch();
    const logits = e.noGrad(() => m.run(x).logits.toArray());
    e.endStep();
    x.labels.forEach((y, p) => {
      if (y < 0) return;
      const row = logits.subarray(p * V, (p + 1) * V);
      if (row.indexOf(Math.max(...row)) === y) hits++;
    });
  }
  return hits / (4 * B);
}
