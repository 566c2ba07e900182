/**
 * RoBERTa in Hugging Face's files: `config.json` as RobertaConfig reads it, and the weight names of
 * RobertaForMaskedLM, RobertaForSequenceClassification and RobertaForTokenClassification. The fields are
 * BERT's (RobertaConfig is BertConfig with other token ids and vocabulary size); its other defaults are
 * BertConfig's too (max_position_embeddings 512, type_vocab_size 2, layer_norm_eps 1e-12), which is what
 * transformers reads when a file leaves them out. roberta-base's own file sets 514, 1 and 1e-5: position
 * ids start at pad_token_id + 1, so 514 positions hold 512 tokens.
 *
 * Weights are BERT's under `roberta.` (q, k and v fused here, stacked along the output dimension in the
 * file). The masked-LM head is `lm_head.dense`, `lm_head.layer_norm` and `lm_head.bias`; its decoder is tied
 * to the word embeddings (`lm_head.decoder.weight` is that tensor again, `lm_head.decoder.bias` is
 * `lm_head.bias` again). Sequence classification has no pooler: `classifier.dense` (+ tanh) and
 * `classifier.out_proj` on the `<s>` token, which are the model's internal `pooler` and `classifier`;
 * token classification's `classifier` is one linear layer. `roberta.pooler.*` (RobertaModel's) is read and
 * dropped.
 */
import { int, tokenId } from '../config-fields.js';
import type { NameMap } from '../name-rules.js';
import { BERT_TABLE, encoderBodyRules, type BertFields } from './bert.js';
import { divisible, type CommonConfig, type ConfigTable } from './family.js';
import { ConfigError } from '../../errors.js';

export type RobertaFields = BertFields;
export type RobertaConfig = { model_type: 'roberta' } & RobertaFields & CommonConfig;

export const ROBERTA_TABLE: ConfigTable<RobertaFields> = {
  ...BERT_TABLE,
  fields: {
    ...BERT_TABLE.fields,
    vocab_size: int(50265),
    pad_token_id: tokenId(1),
    bos_token_id: tokenId(0),
    eos_token_id: tokenId(2),
  },
  defaultArchitecture: 'RobertaForMaskedLM',
  finish(c) {
    divisible('roberta', 'hidden_size', c.hidden_size, 'num_attention_heads', c.num_attention_heads);
    const first = (c.pad_token_id ?? -1) + 1;
    if (c.max_position_embeddings <= first) {
      throw new ConfigError(
        `roberta field "max_position_embeddings": expected more than pad_token_id + 1 (${first}), since position ids ` +
          `start there, got ${c.max_position_embeddings}`,
      );
    }
  },
};

/** RoBERTa's names; `sequenceClassification` picks the classifier's (a two-layer head, or one linear layer). */
export function robertaNames(sequenceClassification: boolean): NameMap {
  return {
    optionalPrefix: 'roberta.',
    rules: [
      ...encoderBodyRules('roberta'),
      { internal: 'mlm\\.transform\\.(weight|bias)', hf: 'lm_head.dense.$1' },
      { internal: 'mlm\\.norm\\.(weight|bias)', hf: 'lm_head.layer_norm.$1' },
      { internal: 'mlm\\.bias', hf: 'lm_head.bias' },
      { internal: 'pooler\\.(weight|bias)', hf: 'classifier.dense.$1' },
      {
        internal: 'classifier\\.(weight|bias)',
        hf: sequenceClassification ? 'classifier.out_proj.$1' : 'classifier.$1',
      },
    ],
    ignore: [/^lm_head\.decoder\.(weight|bias)$/, /position_ids$/, /^(roberta\.)?pooler\.dense\.(weight|bias)$/],
  };
}
