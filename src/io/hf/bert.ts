/**
 * BERT in Hugging Face's files: `config.json` as BertConfig reads it, and the weight names of
 * BertForPreTraining, BertForMaskedLM, BertForSequenceClassification and BertForTokenClassification.
 * Weights are torch Linear [out, in]. Here q, k and v are one fused projection (one matmul): its weight is
 * the three checkpoint tensors stacked along the output dimension. The MLM decoder is tied to the word
 * embeddings (`cls.predictions.decoder.weight` is that tensor again; its bias is `cls.predictions.bias`);
 * `position_ids` is a buffer.
 */
import {
  activation,
  bool,
  num,
  oneOf,
  orNull,
  positive,
  prob,
  size,
  SIZE_LIMITS,
  tokenId,
  type Activation,
} from '../config-fields.js';
import type { NameMap, NameRule } from '../name-rules.js';
import { divisible, type CommonConfig, type ConfigTable } from './family.js';

export interface BertFields {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: Activation;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  position_embedding_type: 'absolute' | 'relative_key' | 'relative_key_query';
  /**
   * simdformer's pre-LN option (not a transformers field): blocks compute x + f(LN(x)) and a final
   * LayerNorm (`bert.encoder.final_layer_norm`) follows the last one. transformers' BertModel ignores the
   * field and would run such weights post-LN, so keep pre-LN checkpoints to simdformer.
   */
  pre_norm: boolean;
  use_cache: boolean;
  classifier_dropout: number | null;
  pad_token_id: number | null;
  bos_token_id: number | null;
  eos_token_id: number | null;
  tie_word_embeddings: boolean;
}

export type BertConfig = { model_type: 'bert' } & BertFields & CommonConfig;

export const BERT_TABLE: ConfigTable<BertFields> = {
  fields: {
    vocab_size: size(30522, SIZE_LIMITS.vocab),
    hidden_size: size(768, SIZE_LIMITS.width),
    num_hidden_layers: size(12, SIZE_LIMITS.layers),
    num_attention_heads: size(12, SIZE_LIMITS.heads),
    intermediate_size: size(3072, SIZE_LIMITS.ffn),
    hidden_act: activation('gelu'),
    hidden_dropout_prob: prob(0.1),
    attention_probs_dropout_prob: prob(0.1),
    max_position_embeddings: size(512, SIZE_LIMITS.positions),
    type_vocab_size: size(2, SIZE_LIMITS.positions),
    initializer_range: num(0.02, { min: 0 }),
    layer_norm_eps: positive(1e-12),
    position_embedding_type: oneOf('absolute', ['absolute', 'relative_key', 'relative_key_query'] as const),
    pre_norm: bool(false),
    use_cache: bool(true),
    classifier_dropout: orNull(prob(0.1)),
    pad_token_id: tokenId(0),
    bos_token_id: tokenId(null),
    eos_token_id: tokenId(null),
    tie_word_embeddings: bool(true),
  },
  aliases: {},
  defaultNumLabels: 2,
  defaultArchitecture: 'BertForMaskedLM',
  finish(c) {
    divisible('bert', 'hidden_size', c.hidden_size, 'num_attention_heads', c.num_attention_heads);
  },
};

/** The encoder's weights (embeddings, blocks, pre-LN's final norm) under `<prefix>.`: BERT's and RoBERTa's. */
export function encoderBodyRules(prefix: 'bert' | 'roberta'): NameRule[] {
  const L = `${prefix}.encoder.layer.$1`;
  return [
    { internal: 'embeddings\\.word\\.weight', hf: `${prefix}.embeddings.word_embeddings.weight` },
    { internal: 'embeddings\\.position\\.weight', hf: `${prefix}.embeddings.position_embeddings.weight` },
    { internal: 'embeddings\\.token_type\\.weight', hf: `${prefix}.embeddings.token_type_embeddings.weight` },
    { internal: 'embeddings\\.norm\\.(weight|bias)', hf: `${prefix}.embeddings.LayerNorm.$1` },
    {
      internal: 'layer\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)',
      hf: [`${L}.attention.self.query.$2`, `${L}.attention.self.key.$2`, `${L}.attention.self.value.$2`],
    },
    { internal: 'layer\\.(\\d+)\\.attn\\.o\\.(weight|bias)', hf: `${L}.attention.output.dense.$2` },
    { internal: 'layer\\.(\\d+)\\.attn_norm\\.(weight|bias)', hf: `${L}.attention.output.LayerNorm.$2` },
    { internal: 'layer\\.(\\d+)\\.ffn\\.up\\.(weight|bias)', hf: `${L}.intermediate.dense.$2` },
    { internal: 'layer\\.(\\d+)\\.ffn\\.down\\.(weight|bias)', hf: `${L}.output.dense.$2` },
    { internal: 'layer\\.(\\d+)\\.ffn_norm\\.(weight|bias)', hf: `${L}.output.LayerNorm.$2` },
    { internal: 'final_norm\\.(weight|bias)', hf: `${prefix}.encoder.final_layer_norm.$1` },
  ];
}

export const BERT_NAMES: NameMap = {
  optionalPrefix: 'bert.',
  rules: [
    ...encoderBodyRules('bert'),
    { internal: 'pooler\\.(weight|bias)', hf: 'bert.pooler.dense.$1' },
    { internal: 'mlm\\.transform\\.(weight|bias)', hf: 'cls.predictions.transform.dense.$1' },
    { internal: 'mlm\\.norm\\.(weight|bias)', hf: 'cls.predictions.transform.LayerNorm.$1' },
    { internal: 'mlm\\.bias', hf: 'cls.predictions.bias' },
    { internal: 'nsp\\.(weight|bias)', hf: 'cls.seq_relationship.$1' },
    { internal: 'classifier\\.(weight|bias)', hf: 'classifier.$1' },
  ],
  ignore: [/^cls\.predictions\.decoder\.(weight|bias)$/, /position_ids$/],
};
