/**
 * Fine-tuning that resumes: a run killed after its save at step N/2 and resumed continues the identical
 * trajectory of a run that was never stopped (every loss and every saved weight bit for bit), for a LoRA run
 * (its saves hold the adapter and the adapters' AdamW state, the base being the model of `from`) and for a
 * full one; a resume given other LoRA settings, another context, or a run of the other kind is refused by name.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { getFloat32, readSafetensors } from '../../src/io/safetensors.js';
import { loadModel } from '../../src/models/load.js';
import type { LoraOptions } from '../../src/models/lora.js';
import { pretrainGpt } from '../../src/recipes/pretrain-gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { expectBitIdentical } from '../util/check.js';
import { killRunOptions, writeKillRunText } from '../util/kill-run.js';

const STEPS = 8;
const LORA: LoraOptions = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['c_attn', 'c_fc'] };

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

  for (const kind of ['lora', 'full'] as const) {
    it(`${kind}: ${STEPS} steps straight = ${STEPS / 2} + resume + ${STEPS / 2} (losses, weights, optimizer state)`, async () => {
      const lora = kind === 'lora' ? LORA : undefined;
      const straight = await tune(join(root, `${kind}-straight`), { lora });
      const out = join(root, `${kind}-resumed`);
      const killed: number[] = [];
      const dies = (s: { step: number; loss: number }) => {
        killed.push(s.loss);
        killedAfterSave(s);
      };
      await expect(tune(out, { lora, onStep: dies })).rejects.toThrow('killed');
      const resumed = await tune(out, { lora, resume: true });
      expect(resumed.r.trainer.globalStep).toBe(STEPS);
      expect(killed).toEqual(straight.losses.slice(0, STEPS / 2 + 2));
      expect([...killed.slice(0, STEPS / 2), ...resumed.losses]).toEqual(straight.losses);
      expect(resumed.heldOut).toEqual(straight.heldOut.slice(STEPS / 2));
      // it learns the new text: held-out loss after the first step 3.44, after the last 3.38 (LoRA, measured;
      // the full run's falls further)
      expect(straight.heldOut[STEPS - 1]!).toBeLessThan(straight.heldOut[0]! - 0.04);

      const last = `checkpoint-${STEPS}`;
      const weights = kind === 'lora' ? 'adapter_model.safetensors' : 'model.safetensors';
      for (const file of [weights, 'optimizer.safetensors']) {
        const a = await readFile(join(root, `${kind}-straight`, last, file));
        expect((await readFile(join(out, last, file))).equals(a), file).toBe(true);
      }
      if (kind === 'full') return;
      // the adapter in PEFT's layout in `out`, bit for bit the straight run's; AdamW state only for the adapters
      const adapter = readSafetensors(await readFile(join(out, 'adapter_model.safetensors')));
      const reference = readSafetensors(await readFile(join(root, 'lora-straight', 'adapter_model.safetensors')));
      expect([...adapter.tensors.keys()]).toHaveLength(4); // 1 layer × (c_attn, c_fc) × (A, B)
      for (const name of reference.tensors.keys())
        expectBitIdentical(getFloat32(adapter, name), getFloat32(reference, name), name);
      const state = readSafetensors(await readFile(join(out, last, 'optimizer.safetensors')));
      const params = new Set([...state.tensors.keys()].map((n) => n.replace(/\.(exp_avg|exp_avg_sq|step)$/, '')));
      expect([...params].sort()).toEqual([...reference.tensors.keys()].sort());
      // the base stayed as it was loaded
      const fresh = await loadModel(engine, base);
      const loaded = fresh.namedParameters();
      for (const [name, t] of resumed.r.model.namedParameters())
        expectBitIdentical(t.toArray(), loaded.get(name)!.toArray(), `base ${name}`);
      fresh.dispose();
    });
  }

  it('refuses a resume with other LoRA settings, another context, or of the other kind of run, writing nothing', async () => {
    const out = join(root, 'refused');
    const full = join(root, 'refused-full');
    await tune(out, { lora: LORA, steps: 2, evalEvery: 0 });
    await tune(full, { steps: 2, evalEvery: 0 });
    const files = async () =>
      Promise.all(['metrics.jsonl', 'latest', 'adapter_model.safetensors'].map((f) => readFile(join(out, f))));
    const before = await files();
    /** The message of the ArgumentError a resume of `dir` with these options ends in. */
    const refusal = async (more: Partial<Parameters<typeof pretrainGpt>[1]>, dir = out) => {
      const error: unknown = await tune(dir, { lora: LORA, resume: true, ...more }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ArgumentError);
      return (error as Error).message;
    };
    expect(await refusal({ lora: { ...LORA, r: 8 } })).toMatch(
      /started with lora "r=4,alpha=8,dropout=0.1,targets=c_attn\+c_fc" \(given "r=8,alpha=8,dropout=0.1,targets=c_attn\+c_fc"\); resume it with the same options/,
    );
    expect(await refusal({ lora: { ...LORA, alpha: 16 } })).toMatch(/\(given "r=4,alpha=16,/);
    expect(await refusal({ lora: { ...LORA, targetModules: ['c_attn'] } })).toMatch(
      /\(given "r=4,alpha=8,dropout=0.1,targets=c_attn"\)/,
    );
    expect(await refusal({ context: 24 })).toMatch(/started with context 16 \(given 24\)/);
    expect(await refusal({ lora: undefined })).toMatch(/holds a LoRA adapter .*--from and --lora it was started with/);
    expect(await refusal({}, full)).toMatch(/holds no LoRA adapter .*resumes without --lora/);
    const after = await files();
    after.forEach((a, i) => expect(a.equals(before[i]!)).toBe(true));
  });
});
