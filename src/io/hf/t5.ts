/**
 * T5 in Hugging Face's files: `config.json` as T5Config reads it, and the weight names of
 * T5ForConditionalGeneration. Weights are torch Linear [out, in] without biases; q, k and v (and
 * cross-attention's k and v) are fused here and stacked along the output dimension in the file. The
 * relative position bias lives in block 0 of each stack and is shared by all its blocks. The gated
 * feed-forward (T5 v1.1) has `wi_0` (through the activation) and `wi_1` (linear); the plain one `wi`.
 * Token embeddings are `shared.weight`; `encoder.embed_tokens` and `decoder.embed_tokens` are the same
 * tensor, and so is `lm_head.weight` when the head is tied.
 */
import { ConfigError } from '../../errors.js';
import {
  ACTIVATIONS,
  bool,
  num,
  positive,
  prob,
  size,
  SIZE_LIMITS,
  str,
  tokenId,
  type Activation,
} from '../config-fields.js';
import { describe } from '../describe.js';
import type { NameMap } from '../name-rules.js';
import type { CommonConfig, ConfigTable } from './family.js';

export interface T5Fields {
  vocab_size: number;
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  /** null in the file means num_layers; parseConfig resolves it, as transformers does on load. */
  num_decoder_layers: number;
  num_heads: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  dropout_rate: number;
  classifier_dropout: number;
  layer_norm_epsilon: number;
  initializer_factor: number;
  /** "relu" (T5) or "gated-gelu" (T5 v1.1, flan-T5); in general "<act>" or "gated-<act>": see t5FeedForward. */
  feed_forward_proj: string;
  is_encoder_decoder: boolean;
  use_cache: boolean;
  pad_token_id: number | null;
  eos_token_id: number | null;
  bos_token_id: number | null;
  /** transformers leaves this null; every released T5 config sets it to 0 (= pad_token_id). */
  decoder_start_token_id: number | null;
  tie_word_embeddings: boolean;
}

export type T5Config = { model_type: 't5' } & T5Fields & CommonConfig;

export const T5_TABLE: ConfigTable<T5Fields> = {
  fields: {
    vocab_size: size(32128, SIZE_LIMITS.vocab),
    d_model: size(512, SIZE_LIMITS.width),
    d_kv: size(64, SIZE_LIMITS.width),
    d_ff: size(2048, SIZE_LIMITS.ffn),
    num_layers: size(6, SIZE_LIMITS.layers),
    // null reads as 0 here and becomes num_layers in finish(), as T5Config does
    num_decoder_layers: {
      def: 6,
      read: (v, where) => (v === null ? 0 : size(6, SIZE_LIMITS.layers).read(v, where)),
    },
    num_heads: size(8, SIZE_LIMITS.heads),
    relative_attention_num_buckets: size(32, SIZE_LIMITS.buckets),
    relative_attention_max_distance: size(128, SIZE_LIMITS.buckets),
    dropout_rate: prob(0.1),
    classifier_dropout: prob(0.0),
    layer_norm_epsilon: positive(1e-6),
    initializer_factor: num(1.0, { min: 0 }),
    feed_forward_proj: str('relu'),
    is_encoder_decoder: bool(true),
    use_cache: bool(true),
    pad_token_id: tokenId(0),
    eos_token_id: tokenId(1),
    bos_token_id: tokenId(null),
    decoder_start_token_id: tokenId(null),
    tie_word_embeddings: bool(true),
  },
  aliases: { hidden_size: 'd_model', num_attention_heads: 'num_heads', num_hidden_layers: 'num_layers' },
  defaultNumLabels: 2,
  defaultArchitecture: 'T5ForConditionalGeneration',
  finish(c, raw) {
    // transformers: num_decoder_layers = num_decoder_layers if not None else num_layers
    if (raw['num_decoder_layers'] === undefined || raw['num_decoder_layers'] === null)
      c.num_decoder_layers = c.num_layers;
    t5FeedForward(c); // throws on a malformed feed_forward_proj
  },
};

/**
 * T5 feed-forward kind from feed_forward_proj ("<act>" or "gated-<act>"), as T5Config reads it; "gated-gelu"
 * means gelu_new (tanh approximation), kept by transformers for backward compatibility.
 */
export function t5FeedForward(cfg: Pick<T5Fields, 'feed_forward_proj'>): { gated: boolean; act: Activation } {
  const parts = cfg.feed_forward_proj.split('-');
  const gated = parts.length === 2 && parts[0] === 'gated';
  const act = parts[parts.length - 1]!;
  if ((parts.length === 2 && !gated) || parts.length > 2 || !(ACTIVATIONS as readonly string[]).includes(act)) {
    throw new ConfigError(
      `t5 field "feed_forward_proj": expected "<act>" or "gated-<act>" such as "relu" or "gated-gelu" ` +
        `(<act> one of ${ACTIVATIONS.join(', ')}), got ${describe(cfg.feed_forward_proj)}`,
    );
  }
  return { gated, act: cfg.feed_forward_proj === 'gated-gelu' ? 'gelu_new' : (act as Activation) };
}

export function t5Names(opts: { gated: boolean; tied: boolean }): NameMap {
  const E = 'encoder.block.$1.layer';
  const D = 'decoder.block.$1.layer';
  const ffn = (at: string) => [
    {
      internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn\\.up\\.weight`,
      hf: `${at}.${at === E ? 1 : 2}.DenseReluDense.${opts.gated ? 'wi_1' : 'wi'}.weight`,
    },
    {
      internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn\\.gate\\.weight`,
      hf: `${at}.${at === E ? 1 : 2}.DenseReluDense.wi_0.weight`,
    },
    {
      internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn\\.down\\.weight`,
      hf: `${at}.${at === E ? 1 : 2}.DenseReluDense.wo.weight`,
    },
    {
      internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn_norm\\.weight`,
      hf: `${at}.${at === E ? 1 : 2}.layer_norm.weight`,
    },
  ];
  const selfAttn = (side: 'encoder' | 'decoder', at: string) => [
    {
      internal: `${side}\\.block\\.(\\d+)\\.attn\\.qkv\\.weight`,
      hf: ['q', 'k', 'v'].map((p) => `${at}.0.SelfAttention.${p}.weight`),
    },
    { internal: `${side}\\.block\\.(\\d+)\\.attn\\.o\\.weight`, hf: `${at}.0.SelfAttention.o.weight` },
    { internal: `${side}\\.block\\.(\\d+)\\.attn_norm\\.weight`, hf: `${at}.0.layer_norm.weight` },
    {
      internal: `${side}\\.relative_attention_bias`,
      hf: `${side}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`,
    },
    { internal: `${side}\\.final_layer_norm\\.weight`, hf: `${side}.final_layer_norm.weight` },
  ];
  return {
    rules: [
      { internal: 'shared\\.weight', hf: 'shared.weight' },
      ...selfAttn('encoder', E),
      ...ffn(E),
      ...selfAttn('decoder', D),
      { internal: 'decoder\\.block\\.(\\d+)\\.cross\\.q\\.weight', hf: `${D}.1.EncDecAttention.q.weight` },
      {
        internal: 'decoder\\.block\\.(\\d+)\\.cross\\.kv\\.weight',
        hf: [`${D}.1.EncDecAttention.k.weight`, `${D}.1.EncDecAttention.v.weight`],
      },
      { internal: 'decoder\\.block\\.(\\d+)\\.cross\\.o\\.weight', hf: `${D}.1.EncDecAttention.o.weight` },
      { internal: 'decoder\\.block\\.(\\d+)\\.cross_norm\\.weight', hf: `${D}.1.layer_norm.weight` },
      ...ffn(D),
      { internal: 'lm_head\\.weight', hf: 'lm_head.weight' },
    ],
    ignore: [/^(encoder|decoder)\.embed_tokens\.weight$/, ...(opts.tied ? [/^lm_head\.weight$/] : [])],
  };
}
