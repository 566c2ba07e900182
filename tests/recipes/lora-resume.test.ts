/**
 * Fine-tuning that resumes: a run killed after its save at step N/2 and resumed continues the identical
 * trajectory of a run that was never stopped (every loss and every saved weight bit for bit), on windows of its
 * --context (shorter than the model's); a resume given another context is refused by name.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { pretrainGpt } from '../../src/recipes/pretrain-gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { killRunOptions, writeKillRunText } from '../util/kill-run.js';

const STEPS = 8;

describe('fine-tuning resumed at half-way continues bit for bit', () => {
  let root: string;
  let text: string;
  let base: string;
  let engine: Engine;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'simdformer-lora-resume-'));
    engine = await Engine.create({ threads: 1 });
    // the base: a tiny GPT (width 16, context 32) pre-trained on one text, fine-tuned below on another, in
    // windows of 16
    const pretext = join(root, 'pretext.txt');
    await writeKillRunText(pretext);
    base = join(root, 'base');
    const shape = { dModel: 16, ffn: 32, context: 32 };
    await pretrainGpt(engine, { ...killRunOptions(pretext, base), ...shape, steps: 30, checkpointEvery: 0 });
    text = join(root, 'text.txt');
    // a text unlike the base's: one word over and over, between numbers
    const para = (i: number) => `${i % 4} abc abc abc abc ${i % 3} abc abc abc abc abc.`;
    await writeFile(text, Array.from({ length: 24 }, (_, i) => para(i)).join('\n\n'));
  });
  afterAll(async () => {
    await engine.dispose();
    await rm(root, { recursive: true, force: true });
  });

  /** A fine-tuning run of `base` into `out`: its step losses, and its held-out loss after each step. */
  const tune = async (out: string, more: Partial<Parameters<typeof pretrainGpt>[1]> = {}) => {
    const losses: number[] = [];
    const heldOut: number[] = [];
    const r = await pretrainGpt(engine, {
      ...killRunOptions(text, out),
      from: base,
      context: 16,
      steps: STEPS,
      warmup: 2,
      lr: 3e-2,
      evalEvery: 1,
      checkpointEvery: STEPS / 2,
      ...more,
      onStep: (s) => {
        losses.push(s.loss);
        more.onStep?.(s);
      },
      onEval: (e) => heldOut.push(e.loss),
    });
    return { r, losses, heldOut };
  };
  const killedAfterSave = (s: { step: number }) => {
    // step N/2 + 1 runs after the save at N/2 and is lost: the resume starts from the save
    if (s.step === STEPS / 2 + 1) throw new Error('killed');
  };

  for (const kind of ['full'] as const) {
    it(`${kind}: ${STEPS} steps straight = ${STEPS / 2} + resume + ${STEPS / 2} (losses, weights, optimizer state)`, async () => {
      const straight = await tune(join(root, `${kind}-straight`), {});
      const out = join(root, `${kind}-resumed`);
      const killed: number[] = [];
      const dies = (s: { step: number; loss: number }) => {
        killed.push(s.loss);
        killedAfterSave(s);
      };
      await expect(tune(out, { onStep: dies })).rejects.toThrow('killed');
      const resumed = await tune(out, { resume: true });
      expect(resumed.r.trainer.globalStep).toBe(STEPS);
      expect(killed).toEqual(straight.losses.slice(0, STEPS / 2 + 2));
      expect([...killed.slice(0, STEPS / 2), ...resumed.losses]).toEqual(straight.losses);
      expect(resumed.heldOut).toEqual(straight.heldOut.slice(STEPS / 2));
      // it learns the new text: held-out loss after the first step 3.01, after the last 1.76 (measured)
      expect(straight.heldOut[STEPS - 1]!).toBeLessThan(straight.heldOut[0]! - 0.5);

      const last = `checkpoint-${STEPS}`;
      for (const file of ['model.safetensors', 'optimizer.safetensors']) {
        const a = await readFile(join(root, `${kind}-straight`, last, file));
        expect((await readFile(join(out, last, file))).equals(a), file).toBe(true);
      }
    });
  }

  it('refuses a resume with another context, writing nothing', async () => {
    const out = join(root, 'refused');
    await tune(out, { steps: 2, evalEvery: 0 });
    const files = async () => Promise.all(['metrics.jsonl', 'latest'].map((f) => readFile(join(out, f))));
    const before = await files();
    await expect(tune(out, { resume: true, context: 24 })).rejects.toThrow(ArgumentError);
    await expect(tune(out, { resume: true, context: 24 })).rejects.toThrow(/started with context 16 \(given 24\)/);
    const after = await files();
    after.forEach((a, i) => expect(a.equals(before[i]!)).toBe(true));
  });
});
