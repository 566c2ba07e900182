import type { NameMap } from './rules.js';

/**
 * BART (BartForConditionalGeneration, BartModel) names. Weights are torch Linear [out, in] with biases;
 * q, k and v (and cross-attention's k and v) are fused here and stacked along the output dimension in
 * the file. Token embeddings are `model.shared.weight`; `model.encoder.embed_tokens`,
 * `model.decoder.embed_tokens` and the tied `lm_head.weight` are the same tensor. `final_logits_bias`
 * is a buffer of the checkpoint, loaded and saved but not trained.
 */
const EL = 'model.encoder.layers.$1';
const DL = 'model.decoder.layers.$1';
const layer = (side: 'encoder' | 'decoder', L: string) => [
  { internal: `${side}\\.layers\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)`, hf: ['q', 'k', 'v'].map((p) => `${L}.self_attn.${p}_proj.$2`) },
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
    { internal: 'decoder\\.layers\\.(\\d+)\\.cross\\.kv\\.(weight|bias)', hf: [`${DL}.encoder_attn.k_proj.$2`, `${DL}.encoder_attn.v_proj.$2`] },
    { internal: 'decoder\\.layers\\.(\\d+)\\.cross\\.o\\.(weight|bias)', hf: `${DL}.encoder_attn.out_proj.$2` },
    { internal: 'decoder\\.layers\\.(\\d+)\\.cross_norm\\.(weight|bias)', hf: `${DL}.encoder_attn_layer_norm.$2` },
    { internal: 'final_logits_bias', hf: 'final_logits_bias' },
  ],
  ignore: [/^(model\.)?(encoder|decoder)\.embed_tokens\.weight$/, /^lm_head\.weight$/],
};
