import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, SafetensorsError, SequenceTooLongError, TokenIdError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import { type Gpt2Config } from '../../src/io/hf/index.js';
import type { GenerateOptions, GenerateResult } from '../../src/generate/generate.js';
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
    // stops once the context is full: positions 20…23 are run, so 5 tokens (the last predicted at 23),
    // and says so
    const long: number[] = [];
    let finish: GenerateResult | undefined;
    const stream = m.generate(ids(20, 1), { maxNewTokens: 50, onFinish: (r) => (finish = r) });
    for await (const t of stream) long.push(t);
    expect(long.length).toBe(5);
    expect(finish).toEqual({ finishReason: 'context', newTokens: 5, slides: 0 });
    m.dispose();
  });

  it("says why generation ended ('length', 'eos', 'stop', 'context') as its return value and to onFinish", async () => {
    const m = new GPT(e, tinyConfig(), 4);
    const decode = (t: number[]) => t.map((x) => String.fromCharCode(97 + (x % 26))).join('');
    m.tokenizer = { decode } as never;
    const run = async (prompt: number[], opts: Partial<GenerateOptions>) => {
      let told: GenerateResult | undefined;
      const s = m.generate(prompt, { maxNewTokens: 12, ...opts, onFinish: (r) => (told = r) });
      const tokens: number[] = [];
      let next = await s.next();
      for (; !next.done; next = await s.next()) tokens.push(next.value);
      expect(told).toEqual(next.value);
      return { tokens, result: next.value };
    };
    const plain = await run([1, 2, 3], {});
    expect(plain.result).toEqual({ finishReason: 'length', newTokens: 12, slides: 0 });
    // the 4th greedy token as eos, then its text as a stop string
    const eos = await run([1, 2, 3], { eosTokenId: plain.tokens[3] });
    const firstAt = plain.tokens.indexOf(plain.tokens[3]!);
    expect(eos.tokens).toEqual(plain.tokens.slice(0, firstAt + 1));
    expect(eos.result.finishReason).toBe('eos');
    const stop = await run([1, 2, 3], { stopStrings: [decode(plain.tokens.slice(2, 4))] });
    expect(stop.result.finishReason).toBe('stop');
    expect(stop.tokens.length).toBeLessThanOrEqual(4);
    expect((await run([1, 2, 3], { maxNewTokens: 0 })).result).toEqual({
      finishReason: 'length',
      newTokens: 0,
      slides: 0,
    });
    // the prompt fills the context: one token (predicted at the last position), then 'context'
    expect((await run(ids(24, 1), {})).result).toEqual({ finishReason: 'context', newTokens: 1, slides: 0 });
    // a caller that stops early gets no onFinish
    let called = false;
    for await (const _ of m.generate([1, 2, 3], { maxNewTokens: 5, onFinish: () => (called = true) })) break;
    expect(called).toBe(false);
    m.dispose();
  });

  it("contextFull: 'slide' keeps the last half of the context and goes on, as a new prompt of that half would", async () => {
    const m = new GPT(e, tinyConfig(), 4); // context 24: a slide keeps 12 tokens
    const prompt = ids(20, 1);
    const all = [...prompt];
    let finish: GenerateResult | undefined;
    for await (const t of m.generate(prompt, { maxNewTokens: 30, contextFull: 'slide', onFinish: (r) => (finish = r) }))
      all.push(t);
    expect(all.length - prompt.length).toBe(30);
    // a token chosen with no position left slides the window: after 5 tokens (the 5th predicted at
    // position 23), then after 13 more (predicted at positions 11…23 of the kept 12), so twice in 30
    expect(finish).toEqual({ finishReason: 'length', newTokens: 30, slides: 2 });
    // the 13 tokens after the first slide are what a fresh prompt of the kept 12 tokens gives
    const kept = all.slice(prompt.length + 5 - 12, prompt.length + 5);
    const fresh: number[] = [];
    for await (const t of m.generate(kept, { maxNewTokens: 13 })) fresh.push(t);
    expect(all.slice(prompt.length + 5, prompt.length + 18)).toEqual(fresh);
    await expect(m.generate(prompt, { maxNewTokens: 1, contextFull: 'wrap' as never }).next()).rejects.toThrow(
      /contextFull must be 'stop' or 'slide'/,
    );
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

  it('a left-padded batch: logits of every position that sees a token, and the loss, match a float64 GPT-2; pads before the first token are not counted', async () => {
    const m = asCausalLM(await loadModel(e, FIXTURE)) as GPT;
    const file = readSafetensors(await readFile(join(FIXTURE, 'model.safetensors')));
    const get = (n: string) => ({ data: getFloat32(file, n), shape: file.tensors.get(n)!.shape });
    const V = 1000;
    const T = 10;
    const pads = [3, 0, 9]; // row 2: one token after nine pads
    const rows = pads.map((p, b) => [...Array<number>(p).fill(0), ...ids(T - p, 11 + b, V)]);
    const mask = pads.map((p) => Array.from({ length: T }, (_, t) => (t < p ? 0 : 1)));
    // labels as transformers users give them: the ids, padding as -100
    const labels = rows.map((r, b) => r.map((id, t) => (t < pads[b]! ? -100 : id)));
    const out = e.noGrad(() => m.forward({ inputIds: rows, attentionMask: mask, labels }));
    const logits = out.logits.toArray();
    let sum = 0;
    let counted = 0;
    rows.forEach((r, b) => {
      const ref = gpt2Ref(get, r, { n_layer: 5, n_head: 4, eps: m.config.layer_norm_epsilon }, mask[b]);
      const p = pads[b]!;
      // positions that see a token: the engine agrees with the float64 GPT-2
      expectClose(logits.subarray((b * T + p) * V, (b + 1) * T * V), ref.subarray(p * V), 1e-4, 1e-5, `row ${b}`);
      // the pads before the first token see none: their reference output is undefined
      for (let t = 0; t < p; t++) expect(Number.isNaN(ref[t * V]!)).toBe(true);
      // the loss counts position t's prediction of token t + 1 from the first real token on
      for (let t = p; t + 1 < T; t++) {
        const row = ref.subarray(t * V, (t + 1) * V);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((a, z) => a + Math.exp(z - max), 0));
        sum += lse - row[labels[b]![t + 1]!]!;
        counted++;
      }
    });
    // 6 + 9 + 0 predictions: transformers would count 2 more (rows 0 and 2: the last pad predicting the first token)
    expect(counted).toBe(15);
    expectClose([out.loss!], [sum / counted], 1e-5, 0, 'loss of the left-padded batch');
    e.endStep();
    // the training loss (a flat batch, labels already shifted) counts the same positions
    const flat = (xs: number[][]) => Int32Array.from(xs.flat());
    const shifted = labels.map((l) => [...l.slice(1), -100]);
    const train = e.noGrad(() =>
      m.loss({ inputIds: flat(rows), labels: flat(shifted), attentionMask: flat(mask), B: 3, T }).item(),
    );
    expectClose([train], [sum / counted], 1e-5, 0, 'training loss of the left-padded batch');
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
