import type { NameMap } from './rules.js';

/**
 * T5 (T5ForConditionalGeneration) names. Weights are torch Linear [out, in] without biases; q, k and v
 * (and cross-attention's k and v) are fused here and stacked along the output dimension in the file.
 * The relative position bias lives in block 0 of each stack and is shared by all its blocks. The
 * gated feed-forward (T5 v1.1) has `wi_0` (through the activation) and `wi_1` (linear); the plain one `wi`.
 * Token embeddings are `shared.weight`; `encoder.embed_tokens` and `decoder.embed_tokens` are the
 * same tensor, and so is `lm_head.weight` when the head is tied.
 */
export function t5Names(opts: { gated: boolean; tied: boolean }): NameMap {
  const E = 'encoder.block.$1.layer';
  const D = 'decoder.block.$1.layer';
  const ffn = (at: string) => [
    { internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn\\.up\\.weight`, hf: `${at}.${at === E ? 1 : 2}.DenseReluDense.${opts.gated ? 'wi_1' : 'wi'}.weight` },
    { internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn\\.gate\\.weight`, hf: `${at}.${at === E ? 1 : 2}.DenseReluDense.wi_0.weight` },
    { internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn\\.down\\.weight`, hf: `${at}.${at === E ? 1 : 2}.DenseReluDense.wo.weight` },
    { internal: `${at === E ? 'encoder' : 'decoder'}\\.block\\.(\\d+)\\.ffn_norm\\.weight`, hf: `${at}.${at === E ? 1 : 2}.layer_norm.weight` },
  ];
  const selfAttn = (side: 'encoder' | 'decoder', at: string) => [
    { internal: `${side}\\.block\\.(\\d+)\\.attn\\.qkv\\.weight`, hf: ['q', 'k', 'v'].map((p) => `${at}.0.SelfAttention.${p}.weight`) },
    { internal: `${side}\\.block\\.(\\d+)\\.attn\\.o\\.weight`, hf: `${at}.0.SelfAttention.o.weight` },
    { internal: `${side}\\.block\\.(\\d+)\\.attn_norm\\.weight`, hf: `${at}.0.layer_norm.weight` },
    { internal: `${side}\\.relative_attention_bias`, hf: `${side}.block.0.layer.0.SelfAttention.relative_attention_bias.weight` },
    { internal: `${side}\\.final_layer_norm\\.weight`, hf: `${side}.final_layer_norm.weight` },
  ];
  return {
    rules: [
      { internal: 'shared\\.weight', hf: 'shared.weight' },
      ...selfAttn('encoder', E),
      ...ffn(E),
      ...selfAttn('decoder', D),
      { internal: 'decoder\\.block\\.(\\d+)\\.cross\\.q\\.weight', hf: `${D}.1.EncDecAttention.q.weight` },
      { internal: 'decoder\\.block\\.(\\d+)\\.cross\\.kv\\.weight', hf: [`${D}.1.EncDecAttention.k.weight`, `${D}.1.EncDecAttention.v.weight`] },
      { internal: 'decoder\\.block\\.(\\d+)\\.cross\\.o\\.weight', hf: `${D}.1.EncDecAttention.o.weight` },
      { internal: 'decoder\\.block\\.(\\d+)\\.cross_norm\\.weight', hf: `${D}.1.layer_norm.weight` },
      ...ffn(D),
      { internal: 'lm_head\\.weight', hf: 'lm_head.weight' },
    ],
    ignore: [/^(encoder|decoder)\.embed_tokens\.weight$/, ...(opts.tied ? [/^lm_head\.weight$/] : [])],
  };
}
