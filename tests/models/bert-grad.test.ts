import { afterAll, beforeAll, describe, it } from 'vitest';
import { parseConfig } from '../../src/io/config.js';
import { type BertConfig } from '../../src/io/hf/index.js';
import { Bert, type BertBatch } from '../../src/models/bert.js';
import { Engine } from '../../src/tensor/engine.js';
import { expectModelGradients } from '../util/gradcheck.js';

/**
 * BERT's gradients against central differences of its training loss (float32 forward, so a loose
 * tolerance). The step is 1e-3, not 1e-2: BERT's embeddings (std 0.02) feed a LayerNorm, whose curvature at
 * that scale makes a 1e-2 step's difference off by 10 % while a 1e-3 step's agrees to 4 digits. Every op's backward is checked on its own elsewhere; this checks how BERT wires
 * them: the word embeddings used twice (lookup and the tied MLM decoder, run on the masked rows only),
 * segment and position embeddings, the padding mask, the pooler under NSP and the classifier.
 */
describe('BERT gradients by finite differences of the loss', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const config = (architecture: string, extra: Record<string, unknown> = {}) =>
    parseConfig({
      model_type: 'bert',
      architectures: [architecture],
      vocab_size: 12,
      hidden_size: 8,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 16,
      max_position_embeddings: 16,
      pad_token_id: 0,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
      ...extra,
    }) as BertConfig;
  // two rows of 6: [CLS] A [SEP] B [SEP] in the first, the second padded after 4 tokens
  const base = {
    inputIds: Int32Array.from([2, 5, 4, 3, 7, 3, 2, 9, 11, 3, 0, 0]),
    tokenTypeIds: Int32Array.from([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
    B: 2,
    T: 6,
  };
  const cases: [string, BertConfig, BertBatch, string[]][] = [
    [
      'pre-training (MLM + NSP), post-LN',
      config('BertForPreTraining'),
      {
        ...base,
        labels: Int32Array.from([-100, 6, 4, -100, 8, -100, -100, 10, -100, -100, -100, -100]),
        nextSentenceLabel: Int32Array.from([0, 1]),
      },
      [
        'embeddings.word.weight',
        'embeddings.token_type.weight',
        'embeddings.position.weight',
        'layer.0.attn.qkv.weight',
        'mlm.bias',
        'mlm.transform.weight',
        'pooler.weight',
        'nsp.weight',
      ],
    ],
    [
      'masked LM, pre-LN',
      config('BertForMaskedLM', { pre_norm: true }),
      { ...base, labels: Int32Array.from([-100, 6, -100, -100, 8, -100, -100, 10, 5, -100, -100, -100]) },
      [
        'embeddings.word.weight',
        'embeddings.norm.weight',
        'layer.1.ffn.down.weight',
        'final_norm.bias',
        'mlm.norm.weight',
      ],
    ],
    [
      'sequence classification',
      config('BertForSequenceClassification', { num_labels: 3, id2label: { 0: 'a', 1: 'b', 2: 'c' } }),
      { ...base, labels: Int32Array.from([2, 0]) },
      ['embeddings.word.weight', 'layer.0.attn.o.weight', 'layer.1.attn_norm.bias', 'pooler.bias', 'classifier.weight'],
    ],
  ];
  for (const [name, c, batch, params] of cases) {
    it(name, () => {
      const m = new Bert(e, c, 5);
      expectModelGradients(e, m, () => m.loss(batch), params, 1e-3);
      m.dispose();
    });
  }
});
