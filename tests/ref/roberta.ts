/**
 * A float64 RoBERTa forward written from Hugging Face's modeling_roberta.py, reading tensors by their
 * checkpoint names: RobertaEmbeddings (word + token type 0 + position from
 * `create_position_ids_from_input_ids`, then LayerNorm), post-LN RobertaLayer blocks (BERT's), and the heads
 * RobertaLMHead, RobertaClassificationHead and RobertaForTokenClassification's classifier. Eval mode: no
 * dropout. An independent check of the model, of its positions and of the name map.
 */
import { add, attend, gelu, geluTanh, layerNorm, linear } from './seq2seq.js';

type Get = (name: string) => Float64Array;

export interface RobertaRefConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  layer_norm_eps: number;
  pad_token_id: number | null;
  vocab_size: number;
  num_labels: number;
}

/**
 * `create_position_ids_from_input_ids`: mask = ids ≠ padding_idx; cumsum(mask) · mask + padding_idx.
 * Padding reads position padding_idx; real tokens count on from padding_idx + 1, skipping padding.
 */
export function createPositionIds(ids: number[], paddingIdx: number): number[] {
  let sum = 0;
  return ids.map((id) => {
    const m = id !== paddingIdx ? 1 : 0;
    sum += m;
    return sum * m + paddingIdx;
  });
}

export type RobertaRefHead = 'masked-lm' | 'sequence-classification' | 'token-classification';

/**
 * One row's logits: masked LM [T, V], token classification [T, num_labels], sequence classification
 * [num_labels]. `mask` is the attention mask (1 = attend).
 */
export function robertaRef(get: Get, c: RobertaRefConfig, ids: number[], mask: number[], head: RobertaRefHead) {
  const d = c.hidden_size;
  const H = c.num_attention_heads;
  const T = ids.length;
  const act = c.hidden_act === 'gelu' ? gelu : c.hidden_act === 'relu' ? (x: number) => Math.max(x, 0) : geluTanh;
  const proj = (p: string, x: Float64Array, n: number) =>
    linear(x, n, get(`${p}.weight`), get(`${p}.bias`).length, get(`${p}.bias`));
  const ln = (p: string, x: Float64Array) => layerNorm(x, d, get(`${p}.weight`), get(`${p}.bias`), c.layer_norm_eps);

  // RobertaEmbeddings
  const positions = createPositionIds(ids, c.pad_token_id!);
  const word = get('roberta.embeddings.word_embeddings.weight');
  const pos = get('roberta.embeddings.position_embeddings.weight');
  const type = get('roberta.embeddings.token_type_embeddings.weight');
  let x: Float64Array = new Float64Array(T * d);
  ids.forEach((id, t) => {
    for (let k = 0; k < d; k++) x[t * d + k] = word[id * d + k]! + type[k]! + pos[positions[t]! * d + k]!;
  });
  x = ln('roberta.embeddings.LayerNorm', x);

  // RobertaLayer: attention (+ output dense, LayerNorm of the residual), intermediate, output
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `roberta.encoder.layer.${l}`;
    const [q, k, v] = ['query', 'key', 'value'].map((n) => proj(`${p}.attention.self.${n}`, x, T));
    const context = attend(q!, k!, v!, T, T, H, d / H, 1 / Math.sqrt(d / H), { mask });
    x = ln(`${p}.attention.output.LayerNorm`, add(x, proj(`${p}.attention.output.dense`, context, T)));
    const inter = proj(`${p}.intermediate.dense`, x, T).map(act);
    x = ln(`${p}.output.LayerNorm`, add(x, proj(`${p}.output.dense`, inter, T)));
  }

  if (head === 'masked-lm') {
    // RobertaLMHead: dense, gelu (always the exact one), layer_norm, decoder (tied) + bias
    const h = ln('lm_head.layer_norm', proj('lm_head.dense', x, T).map(gelu));
    return linear(h, T, word, c.vocab_size, get('lm_head.bias'));
  }
  if (head === 'sequence-classification') {
    // RobertaClassificationHead on features[:, 0, :]
    const first = x.subarray(0, d);
    return proj('classifier.out_proj', proj('classifier.dense', first, 1).map(Math.tanh), 1);
  }
  return proj('classifier', x, T);
}
