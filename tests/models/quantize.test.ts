import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, QuantizedError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import type { BertConfig, Gpt2Config, LlamaConfig } from '../../src/io/hf/index.js';
import { Bart } from '../../src/models/bart.js';
import { Bert } from '../../src/models/bert.js';
import { GPT } from '../../src/models/gpt.js';
import { Llama } from '../../src/models/llama.js';
import { loadModel } from '../../src/models/load.js';
import { isQuantized, quantizeModel } from '../../src/models/quantize.js';
import { T5 } from '../../src/models/t5.js';
import { Embedding, Linear } from '../../src/nn/layers.js';
import type { Module } from '../../src/nn/module.js';
import { Engine } from '../../src/tensor/engine.js';
import { int8Of } from '../../src/tensor/ops/int8.js';
import { GEMV_ROWS } from '../../src/tensor/ops/matmul.js';
import { Trainer } from '../../src/train/trainer.js';
import { fixtureDir } from '../io/fixtures.js';
import { expectClose } from '../util/check.js';
import { tinyBart, tinyT5 } from '../util/seq2seq-configs.js';

// A model quantized to int8 (quantizeModel) against two float models built from the same seed: the same model
// with its weights replaced by their dequantized values q·scale (the quantized model must compute exactly
// that, up to float32 summation order: every Linear, both layouts, the tied head and the embedding lookup
// routed), and the original float model (the quantization error, small).

type Logits = (m: Module) => Float32Array;

const ids = (n: number, seed: number, V: number, lo = 1) => {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), lo + (s % (V - lo))));
};

// (the configs of tests/models/gpt.test.ts and llama.test.ts; importing those files would run their suites here)
function tinyGpt(over: Record<string, unknown> = {}): Gpt2Config {
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

function tinyLlama(over: Record<string, unknown> = {}): LlamaConfig {
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

function bertConfig(): BertConfig {
  return parseConfig({
    model_type: 'bert',
    architectures: ['BertForMaskedLM'],
    vocab_size: 41,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 24,
    pad_token_id: 0,
  }) as BertConfig;
}

/** Every parameter of `twin` that is int8 in `quantized` set to q·scale, in the float layout. */
function dequantizeInto(quantized: Module, twin: Module): number {
  const params = twin.namedParameters();
  let n = 0;
  for (const [name, t] of quantized.namedParameters()) {
    const f = int8Of(t);
    if (!f) continue;
    const rt = t.engine.runtime;
    const q = new Int8Array(rt.u8.buffer, f.q, f.N * f.K);
    const s = rt.f32.subarray(f.scale >>> 2, (f.scale >>> 2) + f.N);
    const w = new Float32Array(f.N * f.K);
    for (let r = 0; r < f.N; r++)
      for (let k = 0; k < f.K; k++) w[f.layout === 'out_in' ? r * f.K + k : k * f.N + r] = q[r * f.K + k]! * s[r]!;
    params.get(name)!.set(w);
    n++;
  }
  return n;
}

describe('int8 quantized models', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const T = 13; // past GEMV_ROWS: the dequantized-panel path; one row per sequence below: the int8 GEMV
  const FAMILIES: [string, (seed: number) => Module & { config: { vocab_size: number } }, Logits, Logits][] = [
    [
      'GPT-2 (Conv1D weights [in, out], tied head)',
      (s) => new GPT(e, tinyGpt(), s),
      (m) => (m as GPT).forward({ inputIds: [ids(T, 3, 37)] }).logits.toArray(),
      (m) => (m as GPT).forward({ inputIds: [[5], [9]] }).logits.toArray(),
    ],
    [
      'LLaMA (untied head, grouped-query attention)',
      (s) => new Llama(e, tinyLlama({ tie_word_embeddings: false }), s),
      (m) => (m as Llama).forward({ inputIds: [ids(T, 4, 37)] }).logits.toArray(),
      (m) => (m as Llama).forward({ inputIds: [[5]] }).logits.toArray(),
    ],
    [
      'BERT (masked-LM head tied to the word embeddings)',
      (s) => new Bert(e, bertConfig(), s),
      (m) => (m as Bert).forward({ inputIds: [ids(T, 5, 41), ids(T, 6, 41)] }).logits.toArray(),
      (m) => (m as Bert).forward({ inputIds: [[2], [7]] }).logits.toArray(),
    ],
    [
      'T5 (tied head)',
      (s) => new T5(e, tinyT5(), s),
      (m) => (m as T5).forward({ inputIds: [ids(T, 7, 23, 3)], decoderInputIds: [ids(11, 8, 23, 3)] }).logits.toArray(),
      (m) => (m as T5).forward({ inputIds: [ids(5, 7, 23, 3)], decoderInputIds: [[0]] }).logits.toArray(),
    ],
    [
      'T5 v1.1 (gated-GELU, untied head)',
      (s) => new T5(e, tinyT5({ feed_forward_proj: 'gated-gelu', tie_word_embeddings: false }), s),
      (m) => (m as T5).forward({ inputIds: [ids(T, 9, 23, 3)], decoderInputIds: [ids(9, 10, 23, 3)] }).logits.toArray(),
      (m) => (m as T5).forward({ inputIds: [ids(4, 9, 23, 3)], decoderInputIds: [[0]] }).logits.toArray(),
    ],
    [
      'BART (tied head, final_logits_bias)',
      (s) => new Bart(e, tinyBart(), s),
      (m) =>
        (m as Bart).forward({ inputIds: [ids(T, 11, 23, 3)], decoderInputIds: [ids(10, 12, 23, 3)] }).logits.toArray(),
      (m) => (m as Bart).forward({ inputIds: [ids(6, 11, 23, 3)], decoderInputIds: [[2]] }).logits.toArray(),
    ],
  ];

  for (const [what, make, many, few] of FAMILIES) {
    it(`${what}: logits = the float model on q·scale weights; close to the float model`, () => {
      const float = make(1);
      const run = (m: Module, f: Logits) => {
        const out = e.noGrad(() => f(m));
        e.endStep();
        return out;
      };
      const floatMany = run(float, many);
      const floatFew = run(float, few);
      const quantized = quantizeModel(make(1), 'int8');
      expect(isQuantized(quantized)).toBe(true);
      expect(isQuantized(float)).toBe(false);
      // every Linear and the vocabulary table are int8; nothing else is
      let linears = 0;
      for (const m of quantized.namedModules().values()) {
        if (m instanceof Linear) {
          linears++;
          expect(int8Of(m.weight)).toBeDefined();
        }
        if (m instanceof Embedding)
          expect(int8Of(m.weight) !== undefined).toBe(m.count === quantized.config.vocab_size);
      }
      expect(linears).toBeGreaterThan(4);
      const twin = make(1);
      expect(dequantizeInto(quantized, twin)).toBeGreaterThan(linears - 1);
      const qMany = run(quantized, many);
      const qFew = run(quantized, few);
      const tMany = run(twin, many);
      const tFew = run(twin, few);
      const scale = Math.max(...tMany.map(Math.abs));
      expectClose(qMany, tMany, 1e-4, 1e-5 * scale, `${what}: dequantized panels (M ≥ ${T})`);
      expectClose(qFew, tFew, 1e-4, 1e-5 * scale, `${what}: int8 GEMV (M ≤ 2)`);
      // the quantization error itself: logits move by a small fraction of their range
      const gap = Math.max(...qMany.map((x, i) => Math.abs(x - floatMany[i]!)));
      const range = Math.max(...floatMany.map(Math.abs));
      expect(gap / range, `${what}: int8 against float`).toBeLessThan(0.03);
      expect(gap).toBeGreaterThan(0); // the weights did change
      const gapFew = Math.max(...qFew.map((x, i) => Math.abs(x - floatFew[i]!)));
      expect(gapFew / range).toBeLessThan(0.03);
      for (const m of [float, quantized, twin]) m.dispose();
    });
  }

  it('GPT-2: greedy generation with the KV cache (int8 GEMV) equals re-running the whole sequence (dequantized panels)', async () => {
    const m = quantizeModel(new GPT(e, tinyGpt({ n_positions: 32 }), 4), 'int8');
    const prompt = ids(5, 21, 37);
    const cached: number[] = [];
    for await (const id of m.generate(prompt, { maxNewTokens: 20 })) cached.push(id);
    const seq = [...prompt];
    for (let i = 0; i < 20; i++) {
      const logits = e.noGrad(() => m.forward({ inputIds: [seq] }).logits.toArray());
      e.endStep();
      const last = logits.subarray((seq.length - 1) * 37);
      seq.push(last.indexOf(Math.max(...last)));
    }
    expect(seq.length).toBeGreaterThan(GEMV_ROWS);
    expect(cached).toEqual(seq.slice(prompt.length));
    // and the logits of the last position agree: the cached path step by step, the full path at once
    const caches = m.newCaches(1, seq.length);
    let step: Float32Array = new Float32Array(0);
    for (let pos = 0; pos < seq.length; pos++) {
      step = e.noGrad(() => m.head(m.hidden(Int32Array.of(seq[pos]!), 1, 1, { start: pos, caches })).toArray());
      e.endStep();
    }
    const full = e.noGrad(() => m.forward({ inputIds: [seq] }).logits.toArray());
    e.endStep();
    expectClose(step, full.subarray((seq.length - 1) * 37), 1e-4, 1e-5, 'last position');
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    m.dispose();
  });

  it('training, saving or a backward pass through a quantized model is a QuantizedError', async () => {
    const m = quantizeModel(new GPT(e, tinyGpt(), 2), 'int8');
    expect(() => new Trainer(m, { lr: 1e-3, totalSteps: 1 })).toThrow(QuantizedError);
    expect(() => m.hfTensors()).toThrow(QuantizedError);
    await expect(m.save('/nonexistent/never-written')).rejects.toThrow(QuantizedError);
    // a backward through an int8 weight: the norms still require grad, so the activations do
    expect(() =>
      m.loss({ inputIds: Int32Array.from(ids(8, 1, 37)), labels: Int32Array.from(ids(8, 2, 37)), B: 1, T: 8 }),
    ).toThrow(QuantizedError);
    e.endStep();
    expect(() => quantizeModel(m, 'int4' as 'int8')).toThrow(ArgumentError);
    m.dispose();
  });

  it("loadModel(…, { quantize: 'int8' }) loads a checkpoint quantized; other values are an ArgumentError", async () => {
    const dir = fixtureDir('hf-tiny-random-gpt2');
    const float = await loadModel(e, dir);
    const floatBytes = float.parameters().reduce((n, t) => n + 4 * t.size, 0);
    const used = e.runtime.arena.usedBytes;
    const q = await loadModel(e, dir, { quantize: 'int8' });
    expect(isQuantized(q)).toBe(true);
    expect(isQuantized(float)).toBe(false);
    const inputIds = [[1, 5, 9, 2]];
    const a = e.noGrad(() => (float as GPT).forward({ inputIds }).logits.toArray());
    e.endStep();
    const b = e.noGrad(() => (q as GPT).forward({ inputIds }).logits.toArray());
    e.endStep();
    const range = Math.max(...a.map(Math.abs));
    expect(Math.max(...b.map((x, i) => Math.abs(x - a[i]!))) / range).toBeLessThan(0.03);
    // the quantized model holds well under half the float model's bytes (norms, biases, positions stay float)
    const int8Bytes = e.runtime.arena.usedBytes - used;
    expect(int8Bytes).toBeLessThan(0.5 * floatBytes);
    await expect(loadModel(e, dir, { quantize: 'fp8' as 'int8' })).rejects.toThrow(ArgumentError);
    float.dispose();
    q.dispose();
  });
});
