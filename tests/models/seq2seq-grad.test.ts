import { afterAll, beforeAll, describe, it } from 'vitest';
import { Bart } from '../../src/models/bart.js';
import type { EncoderDecoder, Seq2SeqBatch } from '../../src/models/seq2seq.js';
import { T5 } from '../../src/models/t5.js';
import { Engine } from '../../src/tensor/engine.js';
import { expectModelGradients } from '../util/gradcheck.js';
import { tinyBart, tinyT5 } from '../util/seq2seq-configs.js';

/**
 * The whole model's gradients against central differences of its loss (float32 forward, so a wide step
 * and a loose tolerance): every op's backward is checked on its own elsewhere; this checks how the model
 * wires them (shared relative position bias, tied and scaled head, cross-attention memory, padding).
 */
describe('encoder-decoder gradients by finite differences of the loss', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const models: [string, (e: Engine) => EncoderDecoder, string[]][] = [
    [
      'T5',
      (e) => new T5(e, tinyT5({ vocab_size: 10 }), 3),
      [
        'encoder.relative_attention_bias',
        'decoder.relative_attention_bias',
        'shared.weight',
        'decoder.block.1.cross.kv.weight',
        'encoder.block.0.attn.qkv.weight',
        'decoder.final_layer_norm.weight',
      ],
    ],
    [
      'BART',
      (e) =>
        new Bart(
          e,
          tinyBart({ vocab_size: 10, pad_token_id: 0, eos_token_id: 1, bos_token_id: null, decoder_start_token_id: 0 }),
          3,
        ),
      [
        'shared.weight',
        'encoder.embed_positions.weight',
        'decoder.layernorm_embedding.weight',
        'decoder.layers.0.cross.q.bias',
        'encoder.layers.1.ffn.down.weight',
      ],
    ],
  ];
  for (const [name, make, params] of models) {
    it(name, () => {
      const m = make(e);
      const labels = Int32Array.from([3, 4, 5, 1, 2, 3, 1, -100]);
      const batch: Seq2SeqBatch = {
        inputIds: Int32Array.from([3, 4, 5, 6, 7, 2, 3, 4, 0, 0]),
        attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
        B: 2,
        S: 5,
        T: 4,
        labels,
        decoderInputIds: m.shiftRight(labels, 2, 4),
      };
      expectModelGradients(e, m, () => m.loss(batch), params, 1e-2);
      m.dispose();
    });
  }
});
