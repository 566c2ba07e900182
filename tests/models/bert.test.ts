import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/io/config.js';
import { type BertConfig } from '../../src/io/hf/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { Bert } from '../../src/models/bert.js';
import { loadModel } from '../../src/models/load.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { expectBitIdentical, expectClose } from '../util/check.js';
import { twinAccuracy } from '../util/mlm-twins.js';

function config(architecture: string, over: Record<string, unknown> = {}): BertConfig {
  return parseConfig({
    model_type: 'bert',
    architectures: [architecture],
    vocab_size: 41,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 24,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    pad_token_id: 0,
    ...over,
  }) as BertConfig;
}

const ids = (n: number, seed: number) => {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), 1 + (s % 40)));
};

describe('BERT', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  it('is bidirectional: the output at position 0 changes when the last token changes', () => {
    const m = new Bert(e, config('BertForMaskedLM'), 1);
    const a = ids(12, 3);
    const b = [...a.slice(0, 11), (a[11]! % 40) + 1];
    const la = e.noGrad(() => m.forward({ inputIds: [a] }).logits.toArray());
    e.endStep();
    const lb = e.noGrad(() => m.forward({ inputIds: [b] }).logits.toArray());
    e.endStep();
    expect(Array.from(la.subarray(0, 41))).not.toEqual(Array.from(lb.subarray(0, 41)));
    m.dispose();
  });

  it('the padding mask makes outputs independent of what fills padded positions', () => {
    const m = new Bert(e, config('BertForTokenClassification', { id2label: { 0: 'A', 1: 'B', 2: 'C' } }), 2);
    const real = ids(7, 5);
    const mask = [[...real.map(() => 1), 0, 0, 0]];
    const run = (fill: number[]) => {
      const out = e.noGrad(() => m.forward({ inputIds: [[...real, ...fill]], attentionMask: mask }).logits.toArray());
      e.endStep();
      return out.subarray(0, 7 * 3);
    };
    expectBitIdentical(run([0, 0, 0]), run([9, 33, 17]), 'logits of the real positions');
    m.dispose();
  });

  it('a row whose attention mask is all 0 sees no token: its labels (tokens, class, next sentence) are not counted', () => {
    const loss = (architecture: string, over: Record<string, unknown>, inputs: (rows: number) => object) => {
      const m = new Bert(e, config(architecture, over), 4);
      const a = ids(8, 21);
      const one = e.noGrad(() => m.forward({ inputIds: [a], ...inputs(1) }).loss!);
      e.endStep();
      const both = e.noGrad(
        () =>
          m.forward({
            inputIds: [a, ids(8, 22)],
            attentionMask: [a.map(() => 1), a.map(() => 0)],
            ...inputs(2),
          }).loss!,
      );
      e.endStep();
      m.dispose();
      return [one, both];
    };
    const tokens = (rows: number) => ({ labels: Array.from({ length: rows }, (_, b) => ids(8, 30 + b)) });
    const [mlm1, mlm2] = loss('BertForPreTraining', {}, (rows) => ({
      ...tokens(rows),
      nextSentenceLabel: [0, 1].slice(0, rows),
    }));
    expectClose([mlm2!], [mlm1!], 1e-6, 0, 'pre-training loss');
    const [cls1, cls2] = loss('BertForSequenceClassification', { num_labels: 3 }, (rows) => ({
      labels: [2, 0].slice(0, rows),
    }));
    expectClose([cls2!], [cls1!], 1e-6, 0, 'classification loss');
    const tags = (rows: number) => ({
      labels: Array.from({ length: rows }, (_, b) => ids(8, 40 + b).map((t) => t % 3)),
    });
    const [tag1, tag2] = loss('BertForTokenClassification', { num_labels: 3 }, tags);
    expectClose([tag2!], [tag1!], 1e-6, 0, 'tagging loss');
  });

  it('pre-training: MLM + NSP loss; token types are used; saves with the Hugging Face names and loads back', async () => {
    const m = new Bert(e, config('BertForPreTraining'), 3);
    const input = ids(10, 7);
    const labels = input.map((t, i) => (i % 3 === 0 ? t : -100));
    const out = e.noGrad(() =>
      m.forward({
        inputIds: [input],
        tokenTypeIds: [input.map((_, i) => (i < 5 ? 0 : 1))],
        labels: [labels],
        nextSentenceLabel: [1],
      }),
    );
    expect(out.logits.shape).toEqual([1, 10, 41]);
    expect(out.seqRelationshipLogits!.shape).toEqual([1, 2]);
    expect(out.loss).toBeGreaterThan(Math.log(41) * 0.5);
    const noTypes = e.noGrad(() => m.forward({ inputIds: [input] }).logits.toArray());
    expect(Array.from(out.logits.toArray())).not.toEqual(Array.from(noTypes));
    e.endStep();
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-bert-'));
    await m.save(dir);
    const file = readSafetensors(await readFile(join(dir, 'model.safetensors')));
    const names = [...file.tensors.keys()];
    for (const n of [
      'bert.embeddings.word_embeddings.weight',
      'bert.encoder.layer.1.attention.self.key.weight',
      'bert.encoder.layer.0.output.LayerNorm.bias',
      'bert.pooler.dense.weight',
      'cls.predictions.bias',
      'cls.seq_relationship.weight',
    ]) {
      expect(names).toContain(n);
    }
    expect(file.tensors.get('bert.encoder.layer.0.attention.self.query.weight')!.shape).toEqual([16, 16]);
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).architectures).toEqual(['BertForPreTraining']);
    const back = (await loadModel(e, dir)) as Bert;
    expect(back).toBeInstanceOf(Bert);
    expect(back.task).toBe('pretraining');
    const again = e.noGrad(() => back.forward({ inputIds: [input] }).logits.toArray());
    expectBitIdentical(again, noTypes, 'logits after a save and load');
    e.endStep();
    m.dispose();
    back.dispose();
    await rm(dir, { recursive: true });
  });

  it('the training loss decodes only the masked positions and equals the full forward loss; its gradients reach the body', () => {
    const m = new Bert(e, config('BertForPreTraining'), 6);
    const input = ids(14, 11);
    const labels = input.map((t, i) => (i % 4 === 1 ? t : -100));
    const batch = {
      inputIds: Int32Array.from(input),
      B: 1,
      T: 14,
      labels: Int32Array.from(labels),
      nextSentenceLabel: Int32Array.of(0),
    };
    const full = e.noGrad(() => m.forward({ inputIds: [input], labels: [labels], nextSentenceLabel: [0] }).loss!);
    e.endStep();
    const picked = m.loss(batch);
    expectClose([picked.item()], [full], 1e-5, 1e-6, 'masked-only loss');
    picked.backward();
    expect(m.layer.items[0]!.attn.qkv.weight.grad!.toArray().some((g) => g !== 0)).toBe(true);
    e.endStep();
    m.dispose();
  });

  it('the masked LM learns to use context: on fresh sequences of doubled tokens it predicts a masked token from its twin', () => {
    // [a a b b c c …]: without context a masked token is one of 36 ids (2.8 %); from its neighbour, certain
    const m = new Bert(
      e,
      config('BertForMaskedLM', { hidden_size: 32, num_attention_heads: 4, intermediate_size: 64 }),
      7,
    );
    expect(twinAccuracy(m, { V: 41, lo: 5, maskId: 1 })).toBeGreaterThan(0.9);
    m.dispose();
  });

  it('a sequence-classification head overfits a small batch', () => {
    const m = new Bert(e, config('BertForSequenceClassification', { id2label: { 0: 'ham', 1: 'spam' } }), 4);
    const rows = [ids(9, 1), ids(9, 2), ids(9, 3), ids(9, 4)];
    const labels = Int32Array.from([0, 1, 1, 0]);
    const trainer = new Trainer(m, { lr: 3e-3, totalSteps: 200, schedule: 'constant', weightDecay: 0 });
    let loss = Infinity;
    for (let s = 0; s < 200 && loss > 0.02; s++)
      loss = trainer.step({ inputIds: Int32Array.from(rows.flat()), B: 4, T: 9, labels }).loss;
    expect(loss).toBeLessThan(0.02);
    m.train(false);
    const logits = e.noGrad(() => m.forward({ inputIds: rows }).logits.toArray());
    e.endStep();
    for (let b = 0; b < 4; b++) expect(logits[b * 2 + labels[b]!]!).toBeGreaterThan(logits[b * 2 + 1 - labels[b]!]!);
    m.dispose();
  });

  it('token classification: logits per token, -100 ignored in the loss', () => {
    const m = new Bert(e, config('BertForTokenClassification', { id2label: { 0: 'A', 1: 'B', 2: 'C' } }), 5);
    const input = ids(6, 9);
    const full = e.noGrad(() => m.forward({ inputIds: [input], labels: [[0, 1, 2, 0, 1, 2]] }));
    const partial = e.noGrad(() => m.forward({ inputIds: [input], labels: [[0, -100, 2, -100, 1, -100]] }));
    expect(full.logits.shape).toEqual([1, 6, 3]);
    // the mean over the counted tokens: recompute from the logits
    const l = full.logits.toArray();
    const nll = (t: number, y: number) => {
      const row = Array.from(l.subarray(t * 3, t * 3 + 3));
      const m2 = Math.max(...row);
      return Math.log(row.reduce((s, v) => s + Math.exp(v - m2), 0)) + m2 - row[y]!;
    };
    expectClose([partial.loss!], [(nll(0, 0) + nll(2, 2) + nll(4, 1)) / 3], 1e-5, 1e-6, 'masked mean');
    e.endStep();
    m.dispose();
  });
});
