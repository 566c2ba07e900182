import type { NameMap } from './rules.js';

/**
 * BERT (BertForPreTraining, BertForMaskedLM, BertForSequenceClassification, BertForTokenClassification)
 * names. Weights are torch Linear [out, in]. Here q, k and v are one fused projection (one matmul): its
 * weight is the three checkpoint tensors stacked along the output dimension. The MLM decoder is tied to
 * the word embeddings (`cls.predictions.decoder.weight` is that tensor again; its bias is
 * `cls.predictions.bias`); `position_ids` is a buffer.
 */
const L = 'bert.encoder.layer.$1';
export const BERT_NAMES: NameMap = {
  optionalPrefix: 'bert.',
  rules: [
    { internal: 'embeddings\\.word\\.weight', hf: 'bert.embeddings.word_embeddings.weight' },
    { internal: 'embeddings\\.position\\.weight', hf: 'bert.embeddings.position_embeddings.weight' },
    { internal: 'embeddings\\.token_type\\.weight', hf: 'bert.embeddings.token_type_embeddings.weight' },
    { internal: 'embeddings\\.norm\\.(weight|bias)', hf: 'bert.embeddings.LayerNorm.$1' },
    { internal: 'layer\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)', hf: [`${L}.attention.self.query.$2`, `${L}.attention.self.key.$2`, `${L}.attention.self.value.$2`] },
    { internal: 'layer\\.(\\d+)\\.attn\\.o\\.(weight|bias)', hf: `${L}.attention.output.dense.$2` },
    { internal: 'layer\\.(\\d+)\\.attn_norm\\.(weight|bias)', hf: `${L}.attention.output.LayerNorm.$2` },
    { internal: 'layer\\.(\\d+)\\.ffn\\.up\\.(weight|bias)', hf: `${L}.intermediate.dense.$2` },
    { internal: 'layer\\.(\\d+)\\.ffn\\.down\\.(weight|bias)', hf: `${L}.output.dense.$2` },
    { internal: 'layer\\.(\\d+)\\.ffn_norm\\.(weight|bias)', hf: `${L}.output.LayerNorm.$2` },
    { internal: 'final_norm\\.(weight|bias)', hf: 'bert.encoder.final_layer_norm.$1' },
    { internal: 'pooler\\.(weight|bias)', hf: 'bert.pooler.dense.$1' },
    { internal: 'mlm\\.transform\\.(weight|bias)', hf: 'cls.predictions.transform.dense.$1' },
    { internal: 'mlm\\.norm\\.(weight|bias)', hf: 'cls.predictions.transform.LayerNorm.$1' },
    { internal: 'mlm\\.bias', hf: 'cls.predictions.bias' },
    { internal: 'nsp\\.(weight|bias)', hf: 'cls.seq_relationship.$1' },
    { internal: 'classifier\\.(weight|bias)', hf: 'classifier.$1' },
  ],
  ignore: [/^cls\.predictions\.decoder\.(weight|bias)$/, /position_ids$/],
};
