/**
 * RoBERTa: BERT's encoder with RoBERTa's differences. Position ids count only the non-padding tokens,
 * from pad_token_id + 1 (padding itself reads position pad_token_id), as transformers'
 * `create_position_ids_from_input_ids`: a row's real tokens get the same positions whether the batch is
 * padded on the left or the right. One token type, no next-sentence head and no pooler. Its heads, in
 * Hugging Face's names (src/io/hf/roberta.ts): masked LM (`lm_head`: dense + exact GELU whatever hidden_act
 * says + LayerNorm + the decoder tied to the word embeddings + bias), sequence classification on `<s>`
 * (dropout, `classifier.dense`, tanh, dropout, `classifier.out_proj`) and token classification. Everything
 * else, the encoder blocks included, is the Bert class's.
 */
import { ArgumentError } from '../errors.js';
import type { RobertaConfig } from '../io/hf/index.js';
import { robertaNames } from '../io/hf/roberta.js';
import type { Engine } from '../tensor/engine.js';
import { gelu, tanh } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { initialising, type Module } from '../nn/module.js';
import { Bert, type BertBatch, type EncoderFamily } from './bert.js';

export const ROBERTA_FAMILY: EncoderFamily = {
  name: 'RoBERTa',
  architectures: {
    'masked-lm': 'RobertaForMaskedLM',
    'sequence-classification': 'RobertaForSequenceClassification',
    'token-classification': 'RobertaForTokenClassification',
  },
  names: (head) => robertaNames(head === 'sequence-classification'),
  headTensors: /^(lm_head|classifier)\.|pooler/,
};

export class Roberta extends Bert {
  declare readonly config: RobertaConfig;
  /** The padding id: position ids count from it, and padding reads its row of the position table. */
  readonly padId: number;

  constructor(engine: Engine, config: RobertaConfig, seed = 0) {
    if (config.pad_token_id === null)
      throw new ArgumentError('a RoBERTa config needs pad_token_id: position ids count from it');
    super(engine, config, seed, ROBERTA_FAMILY);
    this.padId = config.pad_token_id;
    const C = config.hidden_size;
    // nn.Embedding(padding_idx=pad_token_id) of the position table: its padding row starts at zero
    if (initialising(engine)) this.position.weight.view().fill(0, this.padId * C, (this.padId + 1) * C);
  }

  /** Positions run from pad_token_id + 1 up to max_position_embeddings − 1. */
  override get maxLength(): number {
    return this.config.max_position_embeddings - this.padId - 1;
  }

  /** RobertaClassificationHead: `classifier.dense` (the pooler here) and `classifier.out_proj`. */
  override classificationHead(): Module[] {
    return [...(this.pooler ? [this.pooler] : []), ...super.classificationHead()];
  }

  /** pad_token_id + 1, + 2, … over each row's non-padding tokens; pad_token_id at padding. */
  protected override positionIds(batch: BertBatch): Int32Array {
    const { B, T, inputIds } = batch;
    const pad = this.padId;
    const positions = new Int32Array(B * T);
    let longest = 0;
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let t = 0; t < T; t++) {
        const real = inputIds[b * T + t] !== pad;
        if (real) n++;
        positions[b * T + t] = real ? pad + n : pad;
      }
      longest = Math.max(longest, n);
    }
    if (longest > this.maxLength)
      throw new ArgumentError(
        `a row has ${longest} tokens besides padding; with positions from pad_token_id + 1 (${pad + 1}) and ` +
          `max_position_embeddings ${this.config.max_position_embeddings}, at most ${this.maxLength} fit`,
      );
    return positions;
  }

  /** RobertaClassificationHead up to out_proj: tanh(dense(dropout(h[<s>]))): [B, C]. */
  override pool(sequence: Tensor, B: number, T: number): Tensor {
    return tanh(this.pooler!.forward(this.headDropout(this.firstTokens(sequence, B, T))));
  }

  /** RobertaLMHead applies the exact GELU, whatever hidden_act says. */
  protected override mlmActivation(x: Tensor): Tensor {
    return gelu(x, 'none');
  }
}
