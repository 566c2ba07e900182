/**
 * GPT-2 in Hugging Face's files: `config.json` as GPT2Config reads it, and the weight names of
 * GPT2LMHeadModel. Conv1D weights are stored [in, out] and kept so (the linear op reads the 'in_out'
 * layout); the fused q|k|v projection is one tensor there too (`c_attn`). The LM head is tied to `wte`
 * and not stored; `attn.bias` / `attn.masked_bias` are causal-mask buffers of older versions.
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
  str,
  tokenId,
  type Activation,
} from '../config-fields.js';
import type { NameMap } from '../name-rules.js';
import { divisible, type CommonConfig, type ConfigTable } from './family.js';

export interface Gpt2Fields {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** Feed-forward width; null means 4·n_embd (see gpt2InnerDim). */
  n_inner: number | null;
  activation_function: Activation;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  summary_type: 'last' | 'first' | 'mean' | 'cls_index' | 'attn';
  summary_use_proj: boolean;
  summary_activation: string | null;
  summary_proj_to_labels: boolean;
  summary_first_dropout: number;
  scale_attn_weights: boolean;
  use_cache: boolean;
  scale_attn_by_inverse_layer_idx: boolean;
  reorder_and_upcast_attn: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  tie_word_embeddings: boolean;
}

export type Gpt2Config = { model_type: 'gpt2' } & Gpt2Fields & CommonConfig;

export const GPT2_TABLE: ConfigTable<Gpt2Fields> = {
  fields: {
    vocab_size: size(50257, SIZE_LIMITS.vocab),
    n_positions: size(1024, SIZE_LIMITS.positions),
    n_embd: size(768, SIZE_LIMITS.width),
    n_layer: size(12, SIZE_LIMITS.layers),
    n_head: size(12, SIZE_LIMITS.heads),
    n_inner: orNull(size(3072, SIZE_LIMITS.ffn)),
    activation_function: activation('gelu_new'),
    resid_pdrop: prob(0.1),
    embd_pdrop: prob(0.1),
    attn_pdrop: prob(0.1),
    layer_norm_epsilon: positive(1e-5),
    initializer_range: num(0.02, { min: 0 }),
    summary_type: oneOf('cls_index', ['last', 'first', 'mean', 'cls_index', 'attn'] as const),
    summary_use_proj: bool(true),
    summary_activation: orNull(str('tanh')),
    summary_proj_to_labels: bool(true),
    summary_first_dropout: prob(0.1),
    scale_attn_weights: bool(true),
    use_cache: bool(true),
    scale_attn_by_inverse_layer_idx: bool(false),
    reorder_and_upcast_attn: bool(false),
    bos_token_id: tokenId(50256),
    eos_token_id: tokenId(50256),
    pad_token_id: tokenId(null),
    tie_word_embeddings: bool(true),
  },
  aliases: {
    hidden_size: 'n_embd',
    max_position_embeddings: 'n_positions',
    num_attention_heads: 'n_head',
    num_hidden_layers: 'n_layer',
  },
  defaultNumLabels: 2,
  defaultArchitecture: 'GPT2LMHeadModel',
  finish(c) {
    divisible('gpt2', 'n_embd', c.n_embd, 'n_head', c.n_head);
  },
};

/** GPT-2 feed-forward width: n_inner, or 4·n_embd when it is null (as GPT2MLP builds it). */
export function gpt2InnerDim(cfg: Gpt2Config): number {
  return cfg.n_inner ?? 4 * cfg.n_embd;
}

export const GPT2_NAMES: NameMap = {
  optionalPrefix: 'transformer.',
  rules: [
    { internal: 'wte\\.weight', hf: 'transformer.wte.weight' },
    { internal: 'wpe\\.weight', hf: 'transformer.wpe.weight' },
    { internal: 'h\\.(\\d+)\\.attn_norm\\.(weight|bias)', hf: 'transformer.h.$1.ln_1.$2' },
    { internal: 'h\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)', hf: 'transformer.h.$1.attn.c_attn.$2' },
    { internal: 'h\\.(\\d+)\\.attn\\.o\\.(weight|bias)', hf: 'transformer.h.$1.attn.c_proj.$2' },
    { internal: 'h\\.(\\d+)\\.ffn_norm\\.(weight|bias)', hf: 'transformer.h.$1.ln_2.$2' },
    { internal: 'h\\.(\\d+)\\.ffn\\.up\\.(weight|bias)', hf: 'transformer.h.$1.mlp.c_fc.$2' },
    { internal: 'h\\.(\\d+)\\.ffn\\.down\\.(weight|bias)', hf: 'transformer.h.$1.mlp.c_proj.$2' },
    { internal: 'ln_f\\.(weight|bias)', hf: 'transformer.ln_f.$1' },
  ],
  ignore: [/^lm_head\.weight$/, /\.attn\.(masked_)?bias$/],
};
