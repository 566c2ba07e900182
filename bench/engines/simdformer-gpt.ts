// simdformer's side of the training and generation benchmarks: the reference GPT (4 layers,
// d_model 128, 4 heads, FFN 512, GELU tanh, pre-LN, learned positions, context 128, 256 byte ids, tied
// head; batch 8; AdamW lr 3e-4, β 0.9/0.999, weight decay 0.01; no dropout; GPT-2 initialisation).
// Training tokens/s = 8·128 tokens per step / median step time (forward + backward + AdamW).
// Generation tokens/s = 128 new tokens / time for a 16-token prompt + 128 greedy steps with the KV cache.
import { GPT } from '../../src/models/gpt.js';
import type { CausalModel } from '../../src/models/load.js';
import { Engine, type Simd } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { median } from '../harness.js';
import { randomBatch, REFERENCE, referenceConfig } from './reference-gpt.js';

export { randomBatch, REFERENCE, referenceConfig };

export interface GptMeasurement {
  threads: number;
  build: string;
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  /** The cached decoding step alone (one token through the model), tokens/s. */
  cachedStepTokensPerSecond: number;
  initialLoss: number;
  finalLoss: number;
}

export async function measureSimdformerGpt(threads: number, simd: Simd = 'plain', steps = 12): Promise<GptMeasurement> {
  const engine = await Engine.create({ threads, simd });
  const result = await measureCausal(new GPT(engine, referenceConfig(), 0), steps);
  await engine.dispose();
  return result;
}

/** The protocol above for any causal model of the reference shape's context and ids (LLaMA's counterpart too). */
export async function measureCausal(model: CausalModel, steps = 12): Promise<GptMeasurement> {
  const engine = model.engine;
  const trainer = new Trainer(model, {
    lr: 3e-4,
    totalSteps: 1000,
    warmup: 0,
    schedule: 'constant',
    weightDecay: 0.01,
    clip: 0,
  });
  const times: number[] = [];
  const losses: number[] = [];
  for (let s = 0; s < steps + 3; s++) {
    const batch = randomBatch(s);
    const t0 = performance.now();
    losses.push(trainer.step(batch).loss);
    if (s >= 3) times.push(performance.now() - t0);
  }
  const tokensPerStep = REFERENCE.batch * REFERENCE.context;
  const prompt = Array.from(randomBatch(99).inputIds.subarray(0, 16));
  const genTimes: number[] = [];
  const stepTimes: number[] = [];
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    let last = t0;
    let n = 0;
    for await (const _ of model.generate(prompt, { maxNewTokens: 128 })) {
      const now = performance.now();
      if (n > 0 && r > 0) stepTimes.push(now - last);
      last = now;
      n++;
    }
    if (r > 0) genTimes.push(performance.now() - t0);
  }
  const result: GptMeasurement = {
    threads: engine.threads,
    build: engine.runtime.build,
    trainTokensPerSecond: tokensPerStep / (median(times) / 1000),
    generateTokensPerSecond: 128 / (median(genTimes) / 1000),
    cachedStepTokensPerSecond: 1000 / median(stepTimes),
    initialLoss: losses[0]!,
    finalLoss: losses[losses.length - 1]!,
  };
  return result;
}
