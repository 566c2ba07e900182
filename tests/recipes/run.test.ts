import { describe, expect, it } from 'vitest';
import { GPT } from '../../src/models/gpt.js';
import { TimeBudget } from '../../src/recipes/run.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyGptBatch as batch, tinyGptConfig as config } from '../util/tiny-gpt.js';

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
