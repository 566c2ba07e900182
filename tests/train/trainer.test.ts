import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NonFiniteLossError } from '../../src/errors.js';
import { GPT } from '../../src/models/gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { pretrainGpt, GPT_PRETRAIN_DEFAULTS } from '../../src/recipes/pretrain-gpt.js';
import { Trainer } from '../../src/train/trainer.js';
import { expectBitIdentical } from '../util/check.js';
import { tinyGptBatch as batch, tinyGptConfig as config } from '../util/tiny-gpt.js';

/** Runs the recipe on a 2-thread engine of its own (disposed after the tests, with what the runs left in it). */
const engines: Engine[] = [];
async function run(opts: Parameters<typeof pretrainGpt>[1]) {
  const e = await Engine.create({ threads: 2 });
  engines.push(e);
  return pretrainGpt(e, opts);
}
afterAll(async () => {
  for (const e of engines.splice(0)) await e.dispose();
});

async function trainSteps(threads: number, steps: number) {
  const e = await Engine.create({ threads });
  const m = new GPT(e, config(), 11);
  const t = new Trainer(m, { lr: 1e-2, totalSteps: steps, warmup: 2 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(t.step([batch(s), batch(s + 1000)]).loss);
  const weights = [...m.namedParameters().values()].map((p) => p.toArray());
  await e.dispose();
  return { losses, weights };
}

describe('Trainer', () => {
  it('gives bit-identical losses and weights for threads 1, 2 and 3', async () => {
    const runs = [await trainSteps(1, 3), await trainSteps(2, 3), await trainSteps(3, 3)];
    for (const r of runs.slice(1)) {
      expect(r.losses).toEqual(runs[0]!.losses);
      r.weights.forEach((w, i) => expectBitIdentical(w, runs[0]!.weights[i]!, `parameter ${i}`));
    }
  });

  it('keeps the arena high-water mark stable from step 2 to step 50', async () => {
    const e = await Engine.create({ threads: 2 });
    const m = new GPT(e, config(), 12);
    const t = new Trainer(m, { lr: 1e-3, totalSteps: 50 });
    const marks: number[] = [];
    for (let s = 0; s < 50; s++) {
      t.step(batch(s));
      marks.push(e.runtime.arena.highWater);
    }
    expect(new Set(marks.slice(1)).size).toBe(1);
    await e.dispose();
  });

  it('a non-finite loss stops training with the step number, and the weights stay as they were', async () => {
    const e = await Engine.create({ threads: 1 });
    const m = new GPT(e, config(), 13);
    const t = new Trainer(m, { lr: 1e-3, totalSteps: 10 });
    t.step(batch(1));
    t.step(batch(2));
    const before = [...m.namedParameters().values()].map((p) => p.toArray());
    m.namedParameters().get('ln_f.weight')!.view()[0] = NaN;
    let err: unknown;
    try {
      t.step(batch(3));
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).step).toBe(2);
    expect((err as Error).message).toContain('step 2');
    const after = [...m.namedParameters().values()].map((p) => p.toArray());
    after.forEach((w, i) => {
      if (i !== [...m.namedParameters().keys()].indexOf('ln_f.weight'))
        expectBitIdentical(w, before[i]!, `parameter ${i}`);
    });
    await e.dispose();
  });

  it('20 steps straight equal 10 steps + resume + 10 steps, bit for bit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-resume-'));
    const text = join(dir, 'text.txt');
    const para = (i: number) => `Paragraph ${i}: the quick brown fox ${i % 7} jumps over the lazy dog ${i % 5} times.`;
    await (
      await import('node:fs/promises')
    ).writeFile(text, Array.from({ length: 120 }, (_, i) => para(i)).join('\n\n'));
    const base = {
      ...GPT_PRETRAIN_DEFAULTS,
      data: text,
      context: 32,
      layers: 2,
      dModel: 16,
      heads: 2,
      ffn: 32,
      batch: 4,
      evalEvery: 0,
      logEvery: 5,
      warmup: 3,
    };
    const straight = await run({ ...base, out: join(dir, 'a'), steps: 20, checkpointEvery: 0 });
    const wa = [...straight.model.namedParameters().values()].map((p) => p.toArray());
    // a run of 20 steps that dies after its checkpoint at step 10
    await expect(
      run({
        ...base,
        out: join(dir, 'b'),
        steps: 20,
        checkpointEvery: 10,
        onStep: (r) => {
          if (r.step === 9) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    const second = await run({ ...base, out: join(dir, 'b'), steps: 20, checkpointEvery: 0, resume: true });
    expect(second.trainer.globalStep).toBe(20);
    const wb = [...second.model.namedParameters().values()].map((p) => p.toArray());
    wb.forEach((w, i) => expectBitIdentical(w, wa[i]!, `parameter ${i}`));
    await rm(dir, { recursive: true });
  });
});

describe('weight average (ema)', () => {
  it('follows avg ← d·avg + (1−d)·w (float32, each product rounded) with the warm-up d = min(decay, (1+t)/(10+t)); swap and apply exchange weights in place', async () => {
    const e = await Engine.create({ threads: 1 });
    const m = new GPT(e, config(), 5);
    const t = new Trainer(m, { lr: 1e-2, totalSteps: 30, ema: 0.8 });
    const params = [...m.namedParameters().values()];
    const expected = params.map((p) => p.toArray());
    for (let s = 1; s <= 30; s++) {
      t.step(batch(s));
      const d = Math.min(0.8, (1 + s) / (10 + s));
      params.forEach((p, i) => {
        const w = p.view();
        const a = expected[i]!;
        for (let j = 0; j < a.length; j++)
          a[j] = Math.fround(Math.fround(Math.fround(d) * a[j]!) + Math.fround(Math.fround(1 - d) * w[j]!));
      });
    }
    const live = params.map((p) => p.toArray());
    expect(live.some((w, i) => w.some((x, j) => x !== expected[i]![j]))).toBe(true);
    const seen = t.average!.with(() => params.map((p) => p.toArray()));
    seen.forEach((w, i) => expectBitIdentical(w, expected[i]!));
    params.forEach((p, i) => expectBitIdentical(p.toArray(), live[i]!));
    t.average!.apply();
    params.forEach((p, i) => expectBitIdentical(p.toArray(), expected[i]!));
    expect(() => t.average!.update()).toThrow(/swapped/);
    await e.dispose();
  });
});
