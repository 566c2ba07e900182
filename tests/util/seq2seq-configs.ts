import { parseConfig } from '../../src/io/config.js';
import { type BartConfig, type T5Config } from '../../src/io/hf/index.js';

/** Tiny T5 and BART configs (vocabulary of 23 unless overridden) for model tests. */
export function tinyT5(over: Record<string, unknown> = {}): T5Config {
  return parseConfig({
    model_type: 't5',
    vocab_size: 23,
    d_model: 16,
    d_kv: 4,
    d_ff: 24,
    num_layers: 2,
    num_heads: 4,
    relative_attention_num_buckets: 8,
    relative_attention_max_distance: 20,
    dropout_rate: 0,
    ...over,
  }) as T5Config;
}

export function tinyBart(over: Record<string, unknown> = {}): BartConfig {
  return parseConfig({
    model_type: 'bart',
    vocab_size: 23,
    d_model: 16,
    max_position_embeddings: 32,
    encoder_layers: 2,
    decoder_layers: 2,
    encoder_attention_heads: 4,
    decoder_attention_heads: 2,
    encoder_ffn_dim: 24,
    decoder_ffn_dim: 20,
    dropout: 0,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
    decoder_start_token_id: 2,
    ...over,
  }) as BartConfig;
}
