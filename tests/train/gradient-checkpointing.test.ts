import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import type { BertConfig, LlamaConfig, RobertaConfig } from '../../src/io/hf/index.js';
import { Bart } from '../../src/models/bart.js';
import { Bert, type BertBatch } from '../../src/models/bert.js';
import { GPT, type LmBatch } from '../../src/models/gpt.js';
import { Llama } from '../../src/models/llama.js';
import { Roberta } from '../../src/models/roberta.js';
import type { EncoderDecoder, Seq2SeqBatch } from '../../src/models/seq2seq.js';
import { T5 } from '../../src/models/t5.js';
import type { Module } from '../../src/nn/module.js';
import { Engine } from '../../src/tensor/engine.js';
import { add, checkpoint, crossEntropy, gelu, linear } from '../../src/tensor/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { Trainer, type TrainableModel } from '../../src/train/trainer.js';
import { expectBitIdentical, randn } from '../util/check.js';
import { tinyBart, tinyT5 } from '../util/seq2seq-configs.js';
import { tinyGptConfig } from '../util/tiny-gpt.js';

/**
 * Gradient checkpointing recomputes each block in backward: the same kernels on the same inputs with the same
 * dropout seeds, so a checkpointed step must give the very bits of the plain one (losses, every gradient, the
 * weights after AdamW), with dropout on, for every family. And it must hold less memory while it runs.
 */

type Model = Module & TrainableModel<unknown> & { loss(batch: unknown): Tensor };

function lcg(n: number, seed: number, lo: number, hi: number): Int32Array {
  let s = seed;
  return Int32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), lo + ((s >>> 8) % (hi - lo))));
}

const lmBatch = (V: number, seed: number): LmBatch => {
  const B = 3;
  const T = 11;
  const labels = lcg(B * T, seed + 1, 0, V);
  labels[4] = -100;
  return { inputIds: lcg(B * T, seed, 0, V), labels, B, T };
};

const bertBatch = (V: number, seed: number, pad: number): BertBatch => {
  const B = 3;
  const T = 9;
  const inputIds = lcg(B * T, seed, 3, V);
  const attentionMask = new Int32Array(B * T).fill(1);
  for (let t = 6; t < T; t++) {
    inputIds[2 * T + t] = pad;
    attentionMask[2 * T + t] = 0;
  }
  return { inputIds, attentionMask, labels: lcg(B, seed + 7, 0, 3), B, T };
};

const seq2seqBatch = (m: EncoderDecoder, seed: number): Seq2SeqBatch => {
  const labels = lcg(2 * 5, seed + 3, 3, 23);
  labels[9] = -100;
  const attentionMask = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
  return {
    inputIds: lcg(2 * 7, seed, 3, 23),
    attentionMask,
    B: 2,
    S: 7,
    T: 5,
    labels,
    decoderInputIds: m.shiftRight(labels, 2, 5),
  };
};

/** [name, make, batch, has dropout] (LLaMA has none: its attention_dropout is not applied, see src/models/llama.ts). */
const FAMILIES: [string, (e: Engine) => Model, (m: Model, seed: number) => unknown, boolean?][] = [
  [
    'GPT-2',
    (e) => new GPT(e, { ...tinyGptConfig(), n_layer: 3, resid_pdrop: 0.2, embd_pdrop: 0.1, attn_pdrop: 0.3 }, 4),
    (_, s) => lmBatch(29, s),
  ],
  [
    'LLaMA',
    (e) =>
      new Llama(
        e,
        parseConfig({
          model_type: 'llama',
          vocab_size: 31,
          hidden_size: 16,
          intermediate_size: 24,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          max_position_embeddings: 32,
          bos_token_id: null,
          eos_token_id: null,
        }) as LlamaConfig,
        5,
      ),
    (_, s) => lmBatch(31, s),
    false,
  ],
  [
    'BERT (sequence classification)',
    (e) =>
      new Bert(
        e,
        parseConfig({
          model_type: 'bert',
          architectures: ['BertForSequenceClassification'],
          vocab_size: 19,
          hidden_size: 16,
          num_hidden_layers: 2,
          num_attention_heads: 2,
          intermediate_size: 20,
          max_position_embeddings: 16,
          pad_token_id: 0,
          hidden_dropout_prob: 0.2,
          attention_probs_dropout_prob: 0.3,
          id2label: { 0: 'a', 1: 'b', 2: 'c' },
        }) as BertConfig,
        6,
      ),
    (_, s) => bertBatch(19, s, 0),
  ],
  [
    'RoBERTa (sequence classification)',
    (e) =>
      new Roberta(
        e,
        parseConfig({
          model_type: 'roberta',
          architectures: ['RobertaForSequenceClassification'],
          vocab_size: 23,
          hidden_size: 16,
          num_hidden_layers: 2,
          num_attention_heads: 2,
          intermediate_size: 24,
          max_position_embeddings: 20,
          type_vocab_size: 1,
          hidden_dropout_prob: 0.2,
          attention_probs_dropout_prob: 0.1,
          id2label: { 0: 'a', 1: 'b', 2: 'c' },
        }) as RobertaConfig,
        7,
      ),
    (_, s) => bertBatch(23, s, 1),
  ],
  [
    'T5',
    (e) => new T5(e, tinyT5({ dropout_rate: 0.2 }), 8) as unknown as Model,
    (m, s) => seq2seqBatch(m as unknown as EncoderDecoder, s),
  ],
  [
    'BART',
    (e) =>
      new Bart(e, tinyBart({ dropout: 0.2, attention_dropout: 0.1, activation_dropout: 0.1 }), 9) as unknown as Model,
    (m, s) => seq2seqBatch(m as unknown as EncoderDecoder, s),
  ],
];

describe('gradient checkpointing', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const [name, make, batchOf, dropout = true] of FAMILIES) {
    it(`${name}: a checkpointed step is bit-identical to the plain one (loss, gradients, weights)${dropout ? ', dropout on' : ''}`, () => {
      const plain = make(e);
      const ckpt = make(e).gradientCheckpointingEnable();
      expect(ckpt.isGradientCheckpointing).toBe(true);
      expect(plain.isGradientCheckpointing).toBe(false);
      const batch0 = batchOf(plain, 11);

      // one forward + backward by hand: loss, every gradient, and the step memory's peak
      const run = (m: Model) => {
        m.train(true);
        e.endStep();
        e.resetPeak();
        const before = e.memoryStats().currentBytes;
        e.setDropoutSeed(12345);
        const loss = m.loss(batch0);
        const value = loss.item();
        loss.backward();
        const peak = e.memoryStats().peakBytes - before;
        const out = new Map([...m.namedParameters()].map(([n, p]) => [n, p.grad ? p.grad.toArray() : null]));
        e.endStep();
        for (const p of m.parameters()) p.grad?.view().fill(0);
        return { loss: value, grads: out, peak };
      };
      const a = run(plain);
      const b = run(ckpt);
      expect(Number.isFinite(a.loss)).toBe(true);
      expect(new Float32Array([b.loss])).toEqual(new Float32Array([a.loss]));
      let nonzero = 0;
      for (const [n, g] of a.grads) {
        const h = b.grads.get(n)!;
        expect(h === null, `${n}: gradient present in both`).toBe(g === null);
        if (g && h) {
          expectBitIdentical(h, g, `grad ${n}`);
          if (g.some((x) => x !== 0)) nonzero++;
        }
      }
      expect(nonzero).toBeGreaterThan(a.grads.size / 2);
      expect(b.peak, 'the checkpointed step holds less step memory').toBeLessThan(a.peak);

      // the same dropout masks: a step with other seeds gives another loss (dropout is really on)
      e.setDropoutSeed(999);
      plain.train(true);
      const other = plain.loss(batch0).item();
      e.endStep();
      if (dropout) expect(other).not.toBe(a.loss);
      else expect(other).toBe(a.loss);

      // three optimizer steps through the Trainer: the same losses and the same weights after
      const tp = new Trainer(plain, { lr: 3e-3, totalSteps: 3, seed: 4 });
      const tc = new Trainer(ckpt, { lr: 3e-3, totalSteps: 3, seed: 4 });
      for (let s = 0; s < 3; s++) {
        const batch = batchOf(plain, 20 + s);
        const lp = tp.step(batch);
        const lc = tc.step(batch);
        expect(lc.loss).toBe(lp.loss);
        expect(lc.gradNorm).toBe(lp.gradNorm);
      }
      const wc = ckpt.namedParameters();
      for (const [n, p] of plain.namedParameters())
        expectBitIdentical(wc.get(n)!.toArray(), p.toArray(), `weight ${n}`);
      tp.dispose();
      tc.dispose();
      plain.dispose();
      ckpt.dispose();
    });
  }

  it('the Trainer turns it on with gradientCheckpointing: true', () => {
    const m = new GPT(e, tinyGptConfig(), 1);
    const t = new Trainer(m, { lr: 1e-3, totalSteps: 1, gradientCheckpointing: true });
    expect(m.isGradientCheckpointing).toBe(true);
    expect(m.h.items[1]!.isGradientCheckpointing).toBe(true);
    m.gradientCheckpointingDisable();
    expect(m.h.items[0]!.isGradientCheckpointing).toBe(false);
    t.dispose();
    m.dispose();
  });

  it('ops.checkpoint: the same loss and gradients (inputs and parameters) as without it; bad uses are ArgumentErrors', () => {
    const w = e.parameter('w', randn(7 * 5, 1, -1, 1), [7, 5]);
    const labels = Int32Array.from([0, 6, 3]);
    const run = (wrap: boolean) => {
      const x = e.empty([3, 5], 'step').set(randn(3 * 5, 2, -1, 1));
      const y = e.empty([3, 7], 'step').set(randn(3 * 7, 3, -1, 1));
      x.requiresGrad = true;
      y.requiresGrad = true;
      const body = (a: Tensor, b: Tensor) => add(gelu(linear(a, w, null, 'out_in')), b);
      const out = wrap ? checkpoint(body, [x, y]) : body(x, y);
      const loss = crossEntropy(gelu(out), labels);
      const value = loss.item();
      loss.backward();
      const r = { value, dx: x.grad!.toArray(), dy: y.grad!.toArray(), dw: w.grad!.toArray() };
      w.grad!.view().fill(0);
      e.endStep();
      return r;
    };
    const a = run(false);
    const b = run(true);
    expect(b.value).toBe(a.value);
    expectBitIdentical(b.dx, a.dx, 'dx');
    expectBitIdentical(b.dy, a.dy, 'dy');
    expectBitIdentical(b.dw, a.dw, 'dw');
    expect(a.dx.some((v) => v !== 0) && a.dw.some((v) => v !== 0)).toBe(true);

    const p = e.parameter('p', [1, 2], [2]);
    expect(() => checkpoint((t) => t, [p])).toThrow(ArgumentError); // returns its input
    expect(() => checkpoint(() => p, [])).toThrow(ArgumentError); // no inputs
    e.endStep();
    p.dispose();
    w.dispose();
  });
});
