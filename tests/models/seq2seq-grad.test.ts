import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bart } from '../../src/models/bart.js';
import type { EncoderDecoder, Seq2SeqBatch } from '../../src/models/seq2seq.js';
import { T5 } from '../../src/models/t5.js';
import { Engine } from '../../src/tensor/engine.js';
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
    ['T5', (e) => new T5(e, tinyT5({ vocab_size: 10 }), 3), ['encoder.relative_attention_bias', 'decoder.relative_attention_bias', 'shared.weight', 'decoder.block.1.cross.kv.weight', 'encoder.block.0.attn.qkv.weight', 'decoder.final_layer_norm.weight']],
    ['BART', (e) => new Bart(e, tinyBart({ vocab_size: 10, pad_token_id: 0, eos_token_id: 1, bos_token_id: null, decoder_start_token_id: 0 }), 3), ['shared.weight', 'encoder.embed_positions.weight', 'decoder.layernorm_embedding.weight', 'decoder.layers.0.cross.q.bias', 'encoder.layers.1.ffn.down.weight']],
  ];
  for (const [name, make, params] of models) {
    it(name, () => {
      const m = make(e);
      const labels = Int32Array.from([3, 4, 5, 1, 2, 3, 1, -100]);
      const batch: Seq2SeqBatch = {
        inputIds: Int32Array.from([3, 4, 5, 6, 7, 2, 3, 4, 0, 0]),
        attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
        B: 2, S: 5, T: 4, labels, decoderInputIds: m.shiftRight(labels, 2, 4),
      };
      const lossValue = () => {
        const v = e.noGrad(() => m.loss(batch).item());
        e.endStep();
        return v;
      };
      m.loss(batch).backward();
      const grads = new Map(params.map((p) => [p, m.namedParameters().get(p)!.grad!.toArray()]));
      e.endStep();
      for (const p of params) {
        const t = m.namedParameters().get(p)!;
        const g = grads.get(p)!;
        // the six largest gradients of the tensor, so that float32 noise stays small beside them
        const idx = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 6);
        for (const i of idx) {
          const v = t.view()[i]!;
          const h = 1e-2;
          t.view()[i] = v + h;
          const up = lossValue();
          t.view()[i] = v - h;
          const down = lossValue();
          t.view()[i] = v;
          const fd = (up - down) / (2 * h);
          expect(Math.abs(fd - g[i]!), `${p}[${i}]: finite difference ${fd}, backward ${g[i]}`).toBeLessThan(2e-3 + 0.02 * Math.abs(g[i]!));
        }
      }
      m.dispose();
    });
  }
});
