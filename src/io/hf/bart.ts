/**
 * BART in Hugging Face's files: `config.json` as BartConfig reads it, and the weight names of
 * BartForConditionalGeneration and BartModel. Weights are torch Linear [out, in] with biases; q, k and v
 * (and cross-attention's k and v) are fused here and stacked along the output dimension in the file.
 * Token embeddings are `model.shared.weight`; `model.encoder.embed_tokens`, `model.decoder.embed_tokens`
 * and the tied `lm_head.weight` are the same tensor. `final_logits_bias` is a buffer of the checkpoint,
 * loaded and saved but not trained.
 */
import { ConfigError } from '../../errors.js';
import { activation, bool, num, prob, size, SIZE_LIMITS, tokenId, type Activation } from '../config-fields.js';
import type { NameMap } from '../name-rules.js';
import { divisible, type CommonConfig, type ConfigTable } from './family.js';

export interface BartFields {
  vocab_size: number;
  d_model: number;
  max_position_embeddings: number;
  encoder_layers: number;
  decoder_layers: number;
  encoder_attention_heads: number;
  decoder_attention_heads: number;
  encoder_ffn_dim: number;
  decoder_ffn_dim: number;
  activation_function: Activation;
  dropout: number;
  attention_dropout: number;
  activation_dropout: number;
  classifier_dropout: number;
  encoder_layerdrop: number;
  decoder_layerdrop: number;
  init_std: number;
  scale_embedding: boolean;
  use_cache: boolean;
  is_encoder_decoder: boolean;
  pad_token_id: number | null;
  bos_token_id: number | null;
  eos_token_id: number | null;
  decoder_start_token_id: number | null;
  forced_eos_token_id: number | null;
  /** Legacy fields of older BartConfig files; BART is post-LN without a final layer norm, so both must be false. */
  normalize_before: boolean;
  add_final_layer_norm: boolean;
  tie_word_embeddings: boolean;
}

export type BartConfig = { model_type: 'bart' } & BartFields & CommonConfig;

export const BART_TABLE: ConfigTable<BartFields> = {
  fields: {
    vocab_size: size(50265, SIZE_LIMITS.vocab),
    d_model: size(1024, SIZE_LIMITS.width),
    max_position_embeddings: size(1024, SIZE_LIMITS.positions),
    encoder_layers: size(12, SIZE_LIMITS.layers),
    decoder_layers: size(12, SIZE_LIMITS.layers),
    encoder_attention_heads: size(16, SIZE_LIMITS.heads),
    decoder_attention_heads: size(16, SIZE_LIMITS.heads),
    encoder_ffn_dim: size(4096, SIZE_LIMITS.ffn),
    decoder_ffn_dim: size(4096, SIZE_LIMITS.ffn),
    activation_function: activation('gelu'),
    dropout: prob(0.1),
    attention_dropout: prob(0.0),
    activation_dropout: prob(0.0),
    classifier_dropout: prob(0.0),
    encoder_layerdrop: prob(0.0),
    decoder_layerdrop: prob(0.0),
    init_std: num(0.02, { min: 0 }),
    scale_embedding: bool(false),
    use_cache: bool(true),
    is_encoder_decoder: bool(true),
    pad_token_id: tokenId(1),
    bos_token_id: tokenId(0),
    eos_token_id: tokenId(2),
    decoder_start_token_id: tokenId(2),
    forced_eos_token_id: tokenId(2),
    normalize_before: bool(false),
    add_final_layer_norm: bool(false),
    tie_word_embeddings: bool(true),
  },
  aliases: { hidden_size: 'd_model', num_attention_heads: 'encoder_attention_heads' },
  defaultNumLabels: 3,
  defaultArchitecture: 'BartForConditionalGeneration',
  finish(c) {
    divisible('bart', 'd_model', c.d_model, 'encoder_attention_heads', c.encoder_attention_heads);
    divisible('bart', 'd_model', c.d_model, 'decoder_attention_heads', c.decoder_attention_heads);
    for (const f of ['normalize_before', 'add_final_layer_norm'] as const) {
      if (c[f]) {
        throw new ConfigError(
          `bart field "${f}": expected false (BART is post-LN with no final layer norm; transformers ignores this ` +
            `field, so the weights would not match), got true. Pre-LN variants such as mBART have their own model_type`,
        );
      }
    }
  },
};

const EL = 'model.encoder.layers.$1';
const DL = 'model.decoder.layers.$1';
const layer = (side: 'encoder' | 'decoder', L: string) => [
  {
    internal: `${side}\\.layers\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)`,
    hf: ['q', 'k', 'v'].map((p) => `${L}.self_attn.${p}_proj.$2`),
  },
  { internal: `${side}\\.layers\\.(\\d+)\\.attn\\.o\\.(weight|bias)`, hf: `${L}.self_attn.out_proj.$2` },
  { internal: `${side}\\.layers\\.(\\d+)\\.attn_norm\\.(weight|bias)`, hf: `${L}.self_attn_layer_norm.$2` },
  { internal: `${side}\\.layers\\.(\\d+)\\.ffn\\.up\\.(weight|bias)`, hf: `${L}.fc1.$2` },
  { internal: `${side}\\.layers\\.(\\d+)\\.ffn\\.down\\.(weight|bias)`, hf: `${L}.fc2.$2` },
  { internal: `${side}\\.layers\\.(\\d+)\\.ffn_norm\\.(weight|bias)`, hf: `${L}.final_layer_norm.$2` },
  { internal: `${side}\\.embed_positions\\.weight`, hf: `model.${side}.embed_positions.weight` },
  { internal: `${side}\\.layernorm_embedding\\.(weight|bias)`, hf: `model.${side}.layernorm_embedding.$1` },
];
export const BART_NAMES: NameMap = {
  optionalPrefix: 'model.',
  rules: [
    { internal: 'shared\\.weight', hf: 'model.shared.weight' },
    ...layer('encoder', EL),
    ...layer('decoder', DL),
    { internal: 'decoder\\.layers\\.(\\d+)\\.cross\\.q\\.(weight|bias)', hf: `${DL}.encoder_attn.q_proj.$2` },
    {
      internal: 'decoder\\.layers\\.(\\d+)\\.cross\\.kv\\.(weight|bias)',
      hf: [`${DL}.encoder_attn.k_proj.$2`, `${DL}.encoder_attn.v_proj.$2`],
    },
    { internal: 'decoder\\.layers\\.(\\d+)\\.cross\\.o\\.(weight|bias)', hf: `${DL}.encoder_attn.out_proj.$2` },
    { internal: 'decoder\\.layers\\.(\\d+)\\.cross_norm\\.(weight|bias)', hf: `${DL}.encoder_attn_layer_norm.$2` },
    { internal: 'final_logits_bias', hf: 'final_logits_bias' },
  ],
  ignore: [/^(model\.)?(encoder|decoder)\.embed_tokens\.weight$/, /^lm_head\.weight$/],
};
