import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, SafetensorsError, SequenceTooLongError } from '../../src/errors.js';
import { parseConfig, serializeConfig } from '../../src/io/config.js';
import { type LlamaConfig } from '../../src/io/hf/index.js';
import { getFloat32, readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { Llama } from '../../src/models/llama.js';
import { asCausalLM, loadModel } from '../../src/models/load.js';
import { Engine } from '../../src/tensor/engine.js';
import { trainBpe } from '../../src/tokenizers/bpe.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { Trainer } from '../../src/train/trainer.js';
import { llamaRef } from '../ref/llama.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { expectModelGradients } from '../util/gradcheck.js';

export function tinyLlama(over: Record<string, unknown> = {}): LlamaConfig {
  return parseConfig({
    model_type: 'llama',
    vocab_size: 37,
    hidden_size: 24,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 32,
    rms_norm_eps: 1e-5,
    bos_token_id: null,
    eos_token_id: null,
    ...over,
  }) as LlamaConfig;
}

function ids(n: number, seed: number, V = 37): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), s % V));
}

/** Weights of a scale that makes every part of the forward matter (the default init's 0.02 leaves logits flat). */
function randomize(m: Llama, seed: number): void {
  let k = seed;
  for (const [name, t] of m.namedParameters()) {
    const r = randn(t.size, k++, -1, 1);
    t.set(name.endsWith('norm.weight') ? r.map((x) => 1 + 0.3 * x) : r.map((x) => 0.35 * x));
  }
}

describe('LLaMA', () => {
  let e: Engine;
  let dir: string;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
    dir = await mkdtemp(join(tmpdir(), 'simdformer-llama-'));
  });
  afterAll(async () => {
    await e.dispose();
    await rm(dir, { recursive: true });
  });

  const shapes: [string, Record<string, unknown>][] = [
    ['grouped-query (4 heads, 2 KV heads), untied head', {}],
    [
      'one KV head, tied head, biases, head_dim ≠ hidden / heads, theta 100,000',
      {
        num_key_value_heads: 1,
        hidden_size: 20,
        head_dim: 8,
        tie_word_embeddings: true,
        attention_bias: true,
        mlp_bias: true,
        rope_theta: 100_000,
      },
    ],
    ['multi-head (KV heads = heads)', { num_key_value_heads: null }],
  ];
  for (const [label, over] of shapes) {
    it(`logits match a float64 forward written from Hugging Face's modeling code: ${label}`, async () => {
      const cfg = tinyLlama(over);
      const m = new Llama(e, cfg, 1);
      randomize(m, 10);
      const out = join(dir, `ref-${label.length}`);
      await m.save(out);
      const file = readSafetensors(await readFile(join(out, 'model.safetensors')));
      expect(file.tensors.has('lm_head.weight')).toBe(!cfg.tie_word_embeddings);
      const prompt = ids(23, 3);
      const logits = e.noGrad(() => m.forward({ inputIds: [prompt] }).logits.toArray());
      e.endStep();
      const get = (n: string) => (file.tensors.has(n) ? Float64Array.from(getFloat32(file, n)) : undefined);
      const ref = llamaRef(get, prompt, {
        layers: cfg.num_hidden_layers,
        heads: cfg.num_attention_heads,
        kvHeads: cfg.num_key_value_heads,
        headDim: cfg.head_dim,
        eps: cfg.rms_norm_eps,
        theta: cfg.rope_theta,
      });
      expectClose(logits, ref, 2e-4, 2e-4, `logits (${label})`);
      m.dispose();
    });
  }

  it('logits at position t never change when tokens after t change', () => {
    const m = new Llama(e, tinyLlama(), 2);
    randomize(m, 20);
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

  it('KV-cached logits equal a full re-computation at every step; the cache is as wide as the KV heads', () => {
    const m = new Llama(e, tinyLlama(), 3);
    randomize(m, 30);
    const seq = ids(18, 5);
    const full = e.noGrad(() => m.forward({ inputIds: [seq] }).logits.toArray());
    e.endStep();
    const caches = m.newCaches(1, 18);
    expect(caches[0]!.k.shape).toEqual([1, 18, 2 * 6]); // 2 KV heads of 6, not 4 heads
    const V = 37;
    let pos = 0;
    for (const chunk of [seq.slice(0, 6), ...seq.slice(6).map((t) => [t])]) {
      const logits = e.noGrad(() =>
        m.head(m.hidden(Int32Array.from(chunk), 1, chunk.length, { start: pos, caches })).toArray(),
      );
      e.endStep();
      expectClose(logits, full.subarray(pos * V, (pos + chunk.length) * V), 1e-5, 1e-5, `positions ${pos}…`);
      pos += chunk.length;
    }
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    m.dispose();
  });

  it('grouped-query attention equals multi-head attention with each KV head repeated over its group', () => {
    const gqa = new Llama(e, tinyLlama(), 4);
    randomize(gqa, 40);
    const mha = new Llama(e, tinyLlama({ num_key_value_heads: 4 }), 4);
    const [H, Hkv, D, C] = [4, 2, 6, 24];
    const G = H / Hkv;
    const src = gqa.namedParameters();
    for (const [name, t] of mha.namedParameters()) {
      const from = src.get(name)!.toArray();
      if (!name.endsWith('attn.qkv.weight')) {
        t.set(from);
        continue;
      }
      // [q (H·D) | k (Hkv·D) | v (Hkv·D)] rows → [q | k (H·D) | v (H·D)]: KV head ⌊h / G⌋'s rows for head h
      const w = new Float32Array(t.size);
      w.set(from.subarray(0, H * D * C));
      for (const part of [0, 1])
        for (let h = 0; h < H; h++) {
          const srcRow = H * D + part * Hkv * D + Math.floor(h / G) * D;
          w.set(from.subarray(srcRow * C, (srcRow + D) * C), (H * D + part * H * D + h * D) * C);
        }
      t.set(w);
    }
    const batch = { inputIds: Int32Array.from([...ids(16, 1), ...ids(16, 2)]), B: 2, T: 16 };
    const labels = Int32Array.from([...ids(16, 3), ...ids(16, 4)]);
    const lossOf = (m: Llama) => {
      const loss = m.loss({ ...batch, labels });
      const v = loss.item();
      loss.backward();
      return v;
    };
    expect(lossOf(gqa)).toBeCloseTo(lossOf(mha), 5);
    const gq = src.get('layers.0.attn.qkv.weight')!.grad!.toArray();
    const mq = mha.namedParameters().get('layers.0.attn.qkv.weight')!.grad!.toArray();
    expectClose(gq.subarray(0, H * D * C), mq.subarray(0, H * D * C), 1e-4, 1e-6, 'dW_q');
    // dW of a KV head's rows = the sum of the repeated rows' gradients over its group
    const summed = new Float64Array(2 * Hkv * D * C);
    for (const part of [0, 1])
      for (let h = 0; h < H; h++)
        for (let i = 0; i < D * C; i++)
          summed[(part * Hkv + Math.floor(h / G)) * D * C + i]! += mq[(H * D + part * H * D + h * D) * C + i]!;
    expectClose(gq.subarray(H * D * C), summed, 1e-4, 1e-6, 'dW_k, dW_v');
    e.endStep();
    gqa.dispose();
    mha.dispose();
  });

  it('gradients of every kind of parameter match finite differences of the loss', () => {
    const m = new Llama(e, tinyLlama({ attention_bias: true, mlp_bias: true }), 5);
    randomize(m, 50);
    const batch = {
      inputIds: Int32Array.from([...ids(7, 1), ...ids(7, 2)]),
      labels: Int32Array.from([...ids(7, 3), ...ids(7, 4)]),
      B: 2,
      T: 7,
    };
    expectModelGradients(
      e,
      m,
      () => m.loss(batch),
      [
        'embed_tokens.weight',
        'layers.0.attn.qkv.weight',
        'layers.0.attn.qkv.bias',
        'layers.1.attn.o.weight',
        'layers.0.attn_norm.weight',
        'layers.1.ffn.gate.weight',
        'layers.1.ffn.up.bias',
        'layers.0.ffn.down.weight',
        'layers.1.ffn_norm.weight',
        'norm.weight',
        'lm_head.weight',
      ],
      1e-2,
    );
    m.dispose();
  });

  it('a training step is bit-identical for threads 1, 2 and 3', async () => {
    const runs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const en = await Engine.create({ threads });
      const m = new Llama(en, tinyLlama({ hidden_size: 48, num_attention_heads: 8, intermediate_size: 72 }), 6);
      const trainer = new Trainer(m, {
        lr: 1e-2,
        totalSteps: 3,
        warmup: 0,
        schedule: 'constant',
        weightDecay: 0.1,
        clip: 1,
      });
      const batch = {
        inputIds: Int32Array.from([...ids(30, 1), ...ids(30, 2)]),
        labels: Int32Array.from([...ids(30, 3), ...ids(30, 4)]),
        B: 2,
        T: 30,
      };
      const losses = [0, 1, 2].map(() => trainer.step(batch).loss);
      runs.push([Float32Array.from(losses), ...[...m.namedParameters().values()].map((t) => t.toArray())]);
      m.dispose();
      await en.dispose();
    }
    for (const r of runs.slice(1))
      r.forEach((v, i) => expectBitIdentical(v, runs[0]![i]!, i ? `parameter ${i}` : 'losses'));
  });

  it('overfits one batch to a loss under 0.05', () => {
    const m = new Llama(e, tinyLlama({ hidden_size: 32, intermediate_size: 64, initializer_range: 0.05 }), 7);
    const trainer = new Trainer(m, {
      lr: 3e-3,
      totalSteps: 400,
      warmup: 10,
      schedule: 'constant',
      weightDecay: 0,
      clip: 1,
    });
    const rows = [ids(16, 7), ids(16, 8)];
    const flat = Int32Array.from(rows.flat());
    const targets = new Int32Array(32).fill(-100);
    for (let b = 0; b < 2; b++) for (let t = 0; t < 15; t++) targets[b * 16 + t] = flat[b * 16 + t + 1]!;
    let loss = Infinity;
    for (let s = 0; s < 400 && loss > 0.05; s++)
      loss = trainer.step({ inputIds: flat, labels: targets, B: 2, T: 16 }).loss;
    expect(loss).toBeLessThan(0.05);
    expect(m.forward({ inputIds: rows, labels: rows }).loss).toBeLessThan(0.05);
    e.endStep();
    m.dispose();
  });

  it('generates greedily and by seeded sampling through the KV cache; stops at the context', async () => {
    const m = new Llama(e, tinyLlama(), 8);
    randomize(m, 80);
    const run = async (o: object, prompt = [1, 2, 3]) => {
      const out: number[] = [];
      for await (const t of m.generate(prompt, { maxNewTokens: 12, ...o })) out.push(t);
      return out;
    };
    const greedy = await run({});
    expect(greedy).toEqual(await run({}));
    // greedy = argmax of a full forward over the growing sequence
    const seq = [1, 2, 3];
    for (let i = 0; i < 4; i++) {
      const l = e.noGrad(() => m.forward({ inputIds: [seq] }).logits.toArray());
      e.endStep();
      const last = l.subarray((seq.length - 1) * 37);
      seq.push(last.indexOf(Math.max(...last)));
    }
    expect(greedy.slice(0, 4)).toEqual(seq.slice(3));
    const sampled = { doSample: true, topK: 5, topP: 0.9, temperature: 0.8, seed: 7 };
    expect(await run(sampled)).toEqual(await run(sampled));
    // a prompt of 30 in a context of 32: positions 29 (the prompt's last), 30 and 31 each predict one token
    expect((await run({}, ids(30, 1))).length).toBe(3);
    await expect(m.generate(ids(33, 1), { maxNewTokens: 1 }).next()).rejects.toThrow(SequenceTooLongError);
    m.dispose();
  });

  it('stops at a stop string and streams through its tokenizer (byte-level, 256 ids)', async () => {
    const m = new Llama(e, tinyLlama({ vocab_size: 256 }), 12);
    randomize(m, 120);
    m.tokenizer = Tokenizer.fromJson(trainBpe(['the jury said'], { vocabSize: 256 }));
    const all: number[] = [];
    for await (const t of m.generate([116, 104, 101], { maxNewTokens: 12 })) all.push(t);
    const stop = m.tokenizer.decode(all.slice(0, 3));
    const stopped: number[] = [];
    for await (const t of m.generate([116, 104, 101], { maxNewTokens: 12, stopStrings: [stop] })) stopped.push(t);
    expect(stopped).toEqual(all.slice(0, 3));
    m.dispose();
  });

  it('saves and loads back by name (tied and untied), as a causal LM of model_type llama', async () => {
    for (const tied of [false, true]) {
      const out = join(dir, `round-${tied}`);
      const m = new Llama(e, tinyLlama({ tie_word_embeddings: tied }), 9);
      randomize(m, 90);
      await m.save(out);
      const back = asCausalLM(await loadModel(e, out));
      expect(back).toBeInstanceOf(Llama);
      for (const [n, t] of m.namedParameters())
        expectBitIdentical(back.namedParameters().get(n)!.toArray(), t.toArray(), n);
      const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
      expect(config).toMatchObject({
        model_type: 'llama',
        architectures: ['LlamaForCausalLM'],
        num_key_value_heads: 2,
        head_dim: 6,
        tie_word_embeddings: tied,
        rope_scaling: null,
      });
      const names = [...readSafetensors(await readFile(join(out, 'model.safetensors'))).tensors.keys()].sort();
      expect(names).toContain('model.layers.1.self_attn.k_proj.weight');
      expect(names).toContain('model.layers.0.mlp.gate_proj.weight');
      expect(names.includes('lm_head.weight')).toBe(!tied);
      const a = e.noGrad(() => m.forward({ inputIds: [ids(9, 1)] }).logits.toArray());
      const b = e.noGrad(() => back.forward({ inputIds: [ids(9, 1)] }).logits.toArray());
      expectBitIdentical(a, b, 'logits after the round trip');
      e.endStep();
      m.dispose();
      back.dispose();
    }
  });

  it('reads checkpoints without the model. prefix and with old rotary_emb.inv_freq buffers', async () => {
    const out = join(dir, 'base-model');
    const m = new Llama(e, tinyLlama({ tie_word_embeddings: true }), 10);
    await m.save(out);
    const file = readSafetensors(await readFile(join(out, 'model.safetensors')));
    const tensors = [...file.tensors.keys()].map((n) => ({
      name: n.replace(/^model\./, ''),
      shape: file.tensors.get(n)!.shape,
      data: getFloat32(file, n),
    }));
    tensors.push({ name: 'layers.0.self_attn.rotary_emb.inv_freq', shape: [3], data: new Float32Array(3) });
    await writeFile(join(out, 'model.safetensors'), writeSafetensors(tensors));
    const back = await loadModel(e, out);
    for (const [n, t] of m.namedParameters())
      expectBitIdentical(back.namedParameters().get(n)!.toArray(), t.toArray(), n);
    m.dispose();
    back.dispose();
  });

  it('a corrupt, truncated or incomplete checkpoint gives a typed error', async () => {
    const out = join(dir, 'bad');
    const m = new Llama(e, tinyLlama(), 11);
    await m.save(out);
    const bytes = await readFile(join(out, 'model.safetensors'));
    await writeFile(join(out, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
    await expect(loadModel(e, out)).rejects.toThrow(SafetensorsError);
    const file = readSafetensors(bytes);
    const without = [...file.tensors.keys()]
      .filter((n) => n !== 'model.layers.1.self_attn.v_proj.weight')
      .map((n) => ({ name: n, shape: file.tensors.get(n)!.shape, data: getFloat32(file, n) }));
    await writeFile(join(out, 'model.safetensors'), writeSafetensors(without));
    await expect(loadModel(e, out)).rejects.toThrow(
      /lacks model\.layers\.1\.self_attn\.v_proj\.weight|the config does not describe these weights/,
    );
    await expect(loadModel(e, out)).rejects.toThrow(CheckpointError);
    m.dispose();
  });
});

describe('LLaMA config.json', () => {
  it('resolves num_key_value_heads and head_dim as transformers does, and round-trips', () => {
    const c = tinyLlama({ num_key_value_heads: null });
    expect([c.num_key_value_heads, c.head_dim, c.rope_theta, c.tie_word_embeddings]).toEqual([4, 6, 10000, false]);
    const again = parseConfig(serializeConfig(c)) as LlamaConfig;
    expect(serializeConfig(again)).toEqual(serializeConfig(c));
  });

  it('reads SmolLM2-135M’s config (GQA 9 / 3, tied, theta 100,000)', () => {
    const c = parseConfig(SMOLLM2_135M) as LlamaConfig;
    expect([c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads, c.head_dim]).toEqual([
      576, 30, 9, 3, 64,
    ]);
    expect([c.intermediate_size, c.vocab_size, c.tie_word_embeddings, c.rope_theta]).toEqual([
      1536,
      49152,
      true,
      100000,
    ]);
  });

  it('refuses rope_scaling other than null, naming it; and shapes that cannot be split', () => {
    expect(() => tinyLlama({ rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(ConfigError);
    expect(() => tinyLlama({ rope_scaling: { type: 'linear', factor: 2 } })).toThrow(/rope_scaling.*only null/);
    expect(() => tinyLlama({ rope_parameters: { rope_type: 'yarn', factor: 4 } })).toThrow(/rope_parameters/);
    expect(tinyLlama({ rope_parameters: { rope_type: 'default', rope_theta: 500000 } }).rope_theta).toBe(500000);
    expect(() => tinyLlama({ num_key_value_heads: 3 })).toThrow(/divisible by "num_key_value_heads"/);
    expect(() => tinyLlama({ head_dim: 5 })).toThrow(/must be even/);
    expect(() => tinyLlama({ hidden_act: 'gelu' })).toThrow(/hidden_act/);
    expect(() => tinyLlama({ eos_token_id: [1, 40] })).toThrow(/eos_token_id/);
    expect(tinyLlama({ eos_token_id: [1, 2] }).eos_token_id).toEqual([1, 2]);
  });
});

/** config.json of HuggingFaceTB/SmolLM2-135M (its fields as published; weights are not used here). */
const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: 'silu',
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  is_llama_config: true,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  vocab_size: 49152,
};
