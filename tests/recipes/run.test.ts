import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/io/config.js';
import type { Gpt2Config } from '../../src/io/hf/index.js';
import { GPT, type LmBatch } from '../../src/models/gpt.js';
import { TimeBudget } from '../../src/recipes/run.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';

const config = () =>
  parseConfig({
    model_type: 'gpt2',
    vocab_size: 29,
    n_positions: 16,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
    bos_token_id: null,
    eos_token_id: null,
  }) as Gpt2Config;

function batch(seed: number): LmBatch {
  const B = 3;
  const T = 16;
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  let s = seed;
  for (let i = 0; i < B * T; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    inputIds[i] = s % 29;
    labels[i] = (s >>> 8) % 29;
  }
  return { inputIds, labels, B, T };
}

describe("TimeBudget (the G2P recipe's --max-minutes)", () => {
  it('a time budget: the schedule runs on the used share of the budget when steps lag, and training is finished when it is spent', async () => {
    const e = await Engine.create({ threads: 1 });
    const m = new GPT(e, config(), 11);
    expect(() => new TimeBudget(0, 10)).toThrow(/budgetSeconds must be > 0/);
    const t = new Trainer(m, { lr: 1e-2, totalSteps: 1_000_000, schedule: 'linear' });
    const started = performance.now(); // before the budget's own clock starts
    const budget = new TimeBudget(0.4, 1_000_000);
    expect(budget.finished(t.globalStep)).toBe(false);
    const rates: number[] = [];
    while (!budget.finished(t.globalStep))
      rates.push(t.step(batch(rates.length), { lr: t.learningRate(budget.position(t.globalStep)) }).lr);
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
    expect(t.globalStep).toBe(rates.length);
    expect(t.globalStep).toBeLessThan(1_000_000);
    expect(budget.position(t.globalStep)).toBeGreaterThanOrEqual(1_000_000);
    for (let i = 1; i < rates.length; i++) expect(rates[i]!).toBeLessThanOrEqual(rates[i - 1]!);
    expect(rates.at(-1)!).toBeLessThan(0.25e-2); // the decay reached (nearly) its end on time, far short of a million steps
    await e.dispose();
  });
});
