import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, SafetensorsError, SequenceTooLongError, TokenIdError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import { type Gpt2Config } from '../../src/io/hf/index.js';
import { GPT } from '../../src/models/gpt.js';
import { asCausalLM, loadModel } from '../../src/models/load.js';
import { getFloat32, readSafetensors } from '../../src/io/safetensors.js';
import { gpt2Ref } from '../ref/gpt2.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { expectBitIdentical, expectClose } from '../util/check.js';
import { fixtureDir } from '../io/fixtures.js';

const FIXTURE = fixtureDir('hf-tiny-random-gpt2');

export function tinyConfig(over: Record<string, unknown> = {}): Gpt2Config {
  return parseConfig({
    model_type: 'gpt2',
    vocab_size: 37,
    n_positions: 24,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
    bos_token_id: null,
    eos_token_id: null,
    ...over,
  }) as Gpt2Config;
}

function ids(n: number, seed: number, V = 37): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), s % V));
}

describe('GPT', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  it('logits at position t never change when tokens after t change', () => {
    const m = new GPT(e, tinyConfig(), 1);
    const a = ids(20, 3);
    const b = [...a.slice(0, 9), ...ids(11, 99)];
    const la = e.noGrad(() => m.forward({ inputIds: [a] }).logits.toArray());
    e.endStep();
    const lb = e.noGrad(() => m.forward({ inputIds: [b] }).logits.toArray());
    e.endStep();
    const V = 37;
    expectBitIdentical(la.subarray(0, 9 * V), lb.subarray(0, 9 * V), 'positions before the change');
    expect(la.subarray(9 * V, 10 * V)).not.toEqual(lb.subarray(9 * V, 10 * V));
    m.dispose();
  });

  it('applies dropout (resid_pdrop, embd_pdrop) only in training mode, with masks set by the dropout seed', () => {
    const m = new GPT(e, tinyConfig({ resid_pdrop: 0.2, embd_pdrop: 0.2 }), 9);
    const input = [ids(12, 1)];
    const run = (seed: number) => {
      e.setDropoutSeed(seed);
      const out = m.forward({ inputIds: input }).logits.toArray();
      e.endStep();
      return out;
    };
    const evalA = run(1);
    m.train(true);
    const a = run(1);
    const b = run(1);
    const c = run(2);
    expectBitIdentical(a, b, 'same dropout seed, same masks');
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(evalA);
    const inference = e.noGrad(() => m.forward({ inputIds: input }).logits.toArray());
    expectBitIdentical(inference, evalA, 'no dropout without the tape');
    e.endStep();
    m.train(false);
    expectBitIdentical(run(3), evalA, 'eval mode');
    m.dispose();
  });

  it('KV-cached logits equal a full re-computation at every step', () => {
    const m = new GPT(e, tinyConfig(), 2);
    const seq = ids(18, 5);
    const full = e.noGrad(() => m.forward({ inputIds: [seq] }).logits.toArray());
    e.endStep();
    const caches = m.newCaches(1, 18);
    const V = 37;
    const C = 16;
    // the prompt (6 tokens) at once, then one token at a time
    let pos = 0;
    for (const chunk of [seq.slice(0, 6), ...seq.slice(6).map((t) => [t])]) {
      const logits = e.noGrad(() =>
        m.head(m.hidden(Int32Array.from(chunk), 1, chunk.length, { start: pos, caches })).toArray(),
      );
      e.endStep();
      expectClose(logits, full.subarray(pos * V, (pos + chunk.length) * V), 1e-5, 1e-5, `positions ${pos}…`);
      pos += chunk.length;
    }
    expect(C).toBe(16);
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    m.dispose();
  });

  it('overfits one batch to a loss under 0.05', () => {
    const m = new GPT(e, tinyConfig({ n_embd: 32, n_head: 4 }), 3);
    const batch = [ids(16, 7), ids(16, 8)];
    const trainer = new Trainer(m, {
      lr: 3e-3,
      totalSteps: 300,
      warmup: 10,
      schedule: 'constant',
      weightDecay: 0,
      clip: 1,
    });
    const flat = Int32Array.from(batch.flat());
    const targets = new Int32Array(32).fill(-100);
    for (let b = 0; b < 2; b++) for (let t = 0; t < 15; t++) targets[b * 16 + t] = flat[b * 16 + t + 1]!;
    let loss = Infinity;
    for (let s = 0; s < 300 && loss > 0.05; s++)
      loss = trainer.step({ inputIds: flat, labels: targets, B: 2, T: 16 }).loss;
    expect(loss).toBeLessThan(0.05);
    expect(m.forward({ inputIds: batch, labels: batch }).loss).toBeLessThan(0.05);
    e.endStep();
    m.dispose();
  });

  it('greedy generation is deterministic and sampling is seeded', async () => {
    const m = new GPT(e, tinyConfig(), 4);
    const run = async (o: object) => {
      const out: number[] = [];
      for await (const t of m.generate([1, 2, 3], { maxNewTokens: 12, ...o })) out.push(t);
      return out;
    };
    expect(await run({})).toEqual(await run({}));
    expect(await run({ doSample: true, topK: 5, seed: 7 })).toEqual(await run({ doSample: true, topK: 5, seed: 7 }));
    expect((await run({})).length).toBe(12);
    // stops once the context is full: positions 20…23 are run, so 5 tokens (the last predicted at 23)
    const long: number[] = [];
    for await (const t of m.generate(ids(20, 1), { maxNewTokens: 50 })) long.push(t);
    expect(long.length).toBe(5);
    m.dispose();
  });

  it('refuses ids out of range and prompts longer than the context', async () => {
    const m = new GPT(e, tinyConfig(), 5);
    expect(() => m.forward({ inputIds: [[1, 2, 37]] })).toThrow(TokenIdError);
    e.endStep();
    expect(() => m.forward({ inputIds: [ids(25, 1)] })).toThrow(SequenceTooLongError);
    e.endStep();
    await expect(m.generate(ids(25, 1), { maxNewTokens: 1 }).next()).rejects.toThrow(SequenceTooLongError);
    const kept: number[] = [];
    for await (const t of m.generate(ids(25, 1), { maxNewTokens: 1, truncate: 'left' })) kept.push(t);
    expect(kept.length).toBe(1); // the kept 24 tokens fill the context; one token is predicted from them
    m.dispose();
  });

  it('saves and loads back the same weights and logits (safetensors round trip)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-gpt-'));
    const m = new GPT(e, tinyConfig(), 6);
    await m.save(dir);
    const back = await loadModel(e, dir);
    for (const [n, t] of m.namedParameters())
      expectBitIdentical(back.namedParameters().get(n)!.toArray(), t.toArray(), n);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config.model_type).toBe('gpt2');
    expect(config.architectures).toEqual(['GPT2LMHeadModel']);
    m.dispose();
    back.dispose();
    await rm(dir, { recursive: true });
  });

  it('loads the checkpoint written by Hugging Face transformers; its logits match a float64 GPT-2 written from the HF tensors', async () => {
    const loaded = asCausalLM(await loadModel(e, FIXTURE));
    expect(loaded).toBeInstanceOf(GPT);
    const m = loaded as GPT;
    expect(m.config.n_layer).toBe(5);
    expect(m.tokenizer).toBeDefined();
    const prompt = m.tokenizer!.encode('Hello world, the jury said it', undefined, { addSpecialTokens: false }).ids;
    const logits = e.noGrad(() => m.forward({ inputIds: [prompt] }).logits);
    expect(logits.shape).toEqual([1, prompt.length, 1000]);
    const file = readSafetensors(await readFile(join(FIXTURE, 'model.safetensors')));
    const ref = gpt2Ref((n) => ({ data: getFloat32(file, n), shape: file.tensors.get(n)!.shape }), prompt, {
      n_layer: 5,
      n_head: 4,
      eps: m.config.layer_norm_epsilon,
    });
    expectClose(logits.toArray(), ref, 1e-4, 1e-5, 'logits of the HF checkpoint');
    e.endStep();
    m.dispose();
  });

  it('a corrupt or truncated checkpoint gives a typed error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-bad-'));
    const m = new GPT(e, tinyConfig(), 7);
    await m.save(dir);
    m.dispose();
    const weights = await readFile(join(dir, 'model.safetensors'));
    await writeFile(join(dir, 'model.safetensors'), weights.subarray(0, weights.length - 100));
    await expect(loadModel(e, dir)).rejects.toThrow(SafetensorsError);
    await writeFile(join(dir, 'model.safetensors'), weights);
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_embd: 32 }));
    await expect(loadModel(e, dir)).rejects.toThrow(CheckpointError);
    await rm(join(dir, 'config.json'));
    await expect(loadModel(e, dir)).rejects.toThrow(CheckpointError);
    await rm(dir, { recursive: true });
  });
});
