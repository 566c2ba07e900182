// The checkpoints users bring, as their published config.json files have them (the fields that size the
// model; the rest are the families' defaults), built with random weights: gpt2 (124 M), gpt2-medium
// (355 M), t5-small (60 M), facebook/bart-base (140 M), bert-base-uncased (110 M). Shared by the
// real-size suites (generation and inference here; loading and training in their own files).
import { parseConfig } from '../../src/io/config.js';
import type { ModelConfig } from '../../src/io/hf/index.js';
import { createModel, type PretrainedModel } from '../../src/models/registry.js';
import type { Engine } from '../../src/tensor/engine.js';
import { int8Of } from '../../src/tensor/ops/int8.js';

export const PUBLISHED = {
  gpt2: { model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, vocab_size: 50257, n_positions: 1024 },
  'gpt2-medium': { model_type: 'gpt2', n_embd: 1024, n_layer: 24, n_head: 16, vocab_size: 50257, n_positions: 1024 },
  't5-small': {
    model_type: 't5',
    d_model: 512,
    d_ff: 2048,
    d_kv: 64,
    num_heads: 8,
    num_layers: 6,
    vocab_size: 32128,
    feed_forward_proj: 'relu',
  },
  'bart-base': {
    model_type: 'bart',
    d_model: 768,
    encoder_layers: 6,
    decoder_layers: 6,
    encoder_attention_heads: 12,
    decoder_attention_heads: 12,
    encoder_ffn_dim: 3072,
    decoder_ffn_dim: 3072,
    vocab_size: 50265,
    max_position_embeddings: 1024,
  },
  'bert-base-uncased': {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    vocab_size: 30522,
    max_position_embeddings: 512,
  },
} as const;

export type PublishedName = keyof typeof PUBLISHED;

export function publishedConfig(name: PublishedName): ModelConfig {
  return parseConfig(PUBLISHED[name]);
}

/**
 * The published model with weights drawn from `seed`, in evaluation mode. `fixedLength`: an encoder-decoder's
 * eos id moves to the last id of the vocabulary, so that decoding runs every position it is given (random
 * weights copy their input token, and BART starts from its eos), as the PyTorch side decodes a fixed count.
 */
export function randomModel(engine: Engine, name: PublishedName, seed = 0, fixedLength = false): PretrainedModel {
  const json: Record<string, unknown> = { ...PUBLISHED[name] };
  if (fixedLength && (json.model_type === 't5' || json.model_type === 'bart')) {
    const start = json.model_type === 't5' ? 0 : 2; // decoder_start_token_id of t5-small (pad) and bart-base (eos)
    Object.assign(json, { decoder_start_token_id: start, eos_token_id: (json.vocab_size as number) - 1 });
  }
  const model = createModel(engine, parseConfig(json), seed);
  model.train(false);
  return model;
}

/**
 * Bytes of weights one cached decoding step of a causal model reads: every matrix of every block and
 * the tied head (the token table, all of it: the head reads every row), not the position table (one row).
 */
export function causalStepWeightBytes(model: PretrainedModel): number {
  let bytes = 0;
  for (const [name, t] of model.namedParameters()) {
    if (t.shape.length !== 2 || name === 'wpe.weight') continue;
    const int8 = int8Of(t); // int8 weights (quantize: 'int8'): a byte each, and a float32 scale per output channel
    bytes += int8 ? int8.N * int8.K + 4 * int8.N : 4 * t.size;
  }
  return bytes;
}

/** n token ids in [4, vocab), the same for a seed (a small LCG: the ids only need to be spread). */
export function tokenIds(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 4 + (s % (vocab - 4));
  });
}
