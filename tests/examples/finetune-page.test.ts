import { describe, expect, it } from 'vitest';
import { tabMemoryMiB } from '../../examples/web/budget.js';
import { fullTrainingBytes, TuneSession } from '../../examples/web/finetune.js';
import { SAMPLE } from '../../examples/web/sample.js';
import { fixtureDir } from '../io/fixtures.js';

// The web page's fine-tuning session, in Node: a Hugging Face GPT-2 checkpoint (written by transformers)
// loaded from its folder, fine-tuned on pasted text (the loss falls), its greedy continuation changed by it.

describe('the page fine-tunes a loaded checkpoint', () => {
  it('loads, chooses full fine-tuning when it fits, trains (the loss falls) and generates before and after', async () => {
    const s = await TuneSession.load(fixtureDir('hf-tiny-random-gpt2'), { threads: 1, memoryMiB: 256 });
    try {
      expect(s.parameters).toBeGreaterThan(50_000);
      const before = await s.continueText('The jury said', 12);
      expect(s.chooseMode()).toBe('full');
      expect(s.start(SAMPLE, { steps: 30, seed: 3, lr: 3e-3 })).toBe('full');
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) losses.push(s.step().loss);
      expect(losses.every(Number.isFinite)).toBe(true);
      const head = (losses[0]! + losses[1]! + losses[2]!) / 3;
      const tail = (losses[27]! + losses[28]! + losses[29]!) / 3;
      expect(tail).toBeLessThan(head - 0.5);
      const after = await s.continueText('The jury said', 12);
      expect(after).not.toBe(before);
      const m = s.memory();
      expect(m.usedBytes).toBeGreaterThan(4 * s.parameters);
      expect(m.limitBytes).toBe(256 * 2 ** 20);
    } finally {
      await s.dispose();
    }
  }, 60_000);

  it('trains LoRA adapters where full fine-tuning does not fit: the loss falls, the base weights do not move', async () => {
    const s = await TuneSession.load(fixtureDir('hf-tiny-random-gpt2'), { threads: 1, memoryMiB: 64 });
    try {
      const base = new Map([...s.model.namedParameters()].map(([n, p]) => [n, p.toArray()]));
      expect(s.start(SAMPLE, { steps: 30, seed: 3, lr: 1e-2, mode: 'lora' })).toBe('lora');
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) losses.push(s.step().loss);
      expect(losses[29]!).toBeLessThan(losses[0]!);
      for (const [n, p] of s.model.namedParameters()) expect(p.toArray()).toEqual(base.get(n));
      expect(() => s.start(SAMPLE, { steps: 5, seed: 1 })).toThrow(/load the checkpoint again/);
    } finally {
      await s.dispose();
    }
  });

  it('refuses a text too short, by name', async () => {
    const s = await TuneSession.load(fixtureDir('hf-tiny-random-gpt2'), { threads: 1, memoryMiB: 64 });
    try {
      expect(() => s.start('too short', { steps: 5, seed: 1 })).toThrow(/the text needs at least \d+ tokens/);
    } finally {
      await s.dispose();
    }
  });

  it("the tab's budget: half the device's memory, within wasm32's 4 GiB; full training counts 16 bytes a parameter", () => {
    expect(tabMemoryMiB(undefined)).toBe(4096);
    expect(tabMemoryMiB(4)).toBe(2048);
    expect(tabMemoryMiB(16)).toBe(4096);
    expect(tabMemoryMiB(0.25)).toBe(256);
    expect(fullTrainingBytes(124e6, 0)).toBe(1.984e9);
  });
});
