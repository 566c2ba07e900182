/** A tiny GPT-2 config (vocabulary 29, context 16) and random batches for it, for trainer tests. */
import { parseConfig } from '../../src/io/config.js';
import type { Gpt2Config } from '../../src/io/hf/index.js';
import type { LmBatch } from '../../src/models/gpt.js';

export const tinyGptConfig = () =>
  parseConfig({
    model_type: 'gpt2',
    vocab_size: 29,
    n_positions: 16,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
    bos_token_id: null,
    eos_token_id: null,
  }) as Gpt2Config;

/** Three rows of 16 ids and labels, drawn by an LCG from `seed`. */
export function tinyGptBatch(seed: number): LmBatch {
  const B = 3;
  const T = 16;
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  let s = seed;
  for (let i = 0; i < B * T; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    inputIds[i] = s % 29;
    labels[i] = (s >>> 8) % 29;
  }
  return { inputIds, labels, B, T };
}
