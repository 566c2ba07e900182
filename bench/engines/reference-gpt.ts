// The reference GPT of the training and generation benchmarks (4 layers, d_model 128, 4 heads, FFN 512,
// GELU tanh, pre-LN, learned positions, context 128, 256 byte ids, tied head; batch 8) and its seeded
// random batches. No Node APIs: the browser benchmark bundles it.
import { parseConfig } from '../../src/io/config.js';
import { type Gpt2Config } from '../../src/io/hf/index.js';
import type { LmBatch } from '../../src/models/gpt.js';
import { Rng } from '../../src/rng.js';

export const REFERENCE = { layers: 4, dModel: 128, heads: 4, ffn: 512, context: 128, vocab: 256, batch: 8 } as const;

export function referenceConfig(): Gpt2Config {
  const r = REFERENCE;
  return parseConfig({
    model_type: 'gpt2',
    vocab_size: r.vocab,
    n_positions: r.context,
    n_embd: r.dModel,
    n_layer: r.layers,
    n_head: r.heads,
    n_inner: r.ffn,
    activation_function: 'gelu_new',
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    bos_token_id: null,
    eos_token_id: null,
  }) as Gpt2Config;
}

/** Random byte windows (the same for every engine: seeded). */
export function randomBatch(step: number): LmBatch {
  const { batch: B, context: T } = REFERENCE;
  const rng = new Rng(1000 + step);
  const rand = () => rng.float();
  const inputIds = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) inputIds[i] = Math.floor(rand() * 256);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) targets[b * T + t] = t + 1 < T ? inputIds[b * T + t + 1]! : Math.floor(rand() * 256);
  return { inputIds, labels: targets, B, T };
}
