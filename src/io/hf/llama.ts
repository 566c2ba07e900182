/**
 * LLaMA in Hugging Face's files: `config.json` as LlamaConfig reads it, and the weight names of
 * LlamaForCausalLM. Weights are torch Linear [out, in]. Here q, k and v are one fused projection (one
 * matmul): its weight is `q_proj`, `k_proj`, `v_proj` stacked along the output dimension, which with
 * grouped-query attention (num_key_value_heads < num_attention_heads) are parts of unequal size. The LM head
 * is `lm_head.weight` unless tied to `model.embed_tokens` (then not stored). Older checkpoints also hold each
 * layer's `rotary_emb.inv_freq` buffer, which is recomputed here from rope_theta. Only plain RoPE is built:
 * a `rope_scaling` other than null (linear, dynamic, YaRN, llama3 …) is a ConfigError naming it.
 */
import { ConfigError } from '../../errors.js';
import { activation, bool, int, num, positive, prob, tokenId, type Activation, type Field } from '../config-fields.js';
import { describe } from '../describe.js';
import type { NameMap } from '../name-rules.js';
import { divisible, type CommonConfig, type ConfigTable } from './family.js';

export interface LlamaFields {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** null in the file means num_attention_heads (multi-head attention); resolved on load, as transformers does. */
  num_key_value_heads: number;
  /** "silu" (its alias "swish" too): the SwiGLU feed-forward. */
  hidden_act: Activation;
  max_position_embeddings: number;
  initializer_range: number;
  rms_norm_eps: number;
  use_cache: boolean;
  pad_token_id: number | null;
  bos_token_id: number | null;
  /** One id, or several (Llama 3 stops on any of a list). */
  eos_token_id: number | number[] | null;
  pretraining_tp: number;
  tie_word_embeddings: boolean;
  rope_theta: number;
  /** Only null is supported (see the file comment). */
  rope_scaling: null;
  /** Biases on q, k, v and o projections. */
  attention_bias: boolean;
  attention_dropout: number;
  /** Biases on gate, up and down projections. */
  mlp_bias: boolean;
  /** null in the file means hidden_size / num_attention_heads; resolved on load, as transformers does. */
  head_dim: number;
}

export type LlamaConfig = { model_type: 'llama' } & LlamaFields & CommonConfig;

/** An int read where null means "derive it" (0 here, resolved in finish()). */
const derived = (def: number): Field<number> => ({
  def,
  read: (v, where) => (v === null ? 0 : int(def).read(v, where)),
});

const eosField: Field<number | number[] | null> = {
  def: 2,
  read: (v, where) =>
    Array.isArray(v) && v.length > 0 ? v.map((x, i) => int(0, 0).read(x, `${where}[${i}]`)) : tokenId(2).read(v, where),
};

const ropeScaling: Field<null> = {
  def: null,
  read: (v, where) => {
    if (v === null) return null;
    throw new ConfigError(
      `${where}: only null (plain RoPE) is supported, got ${describe(v)}; rope scaling (linear, dynamic, yarn, ` +
        `longrope, llama3) is not implemented`,
    );
  },
};

export const LLAMA_TABLE: ConfigTable<LlamaFields> = {
  fields: {
    vocab_size: int(32000),
    hidden_size: int(4096),
    intermediate_size: int(11008),
    num_hidden_layers: int(32),
    num_attention_heads: int(32),
    num_key_value_heads: derived(32),
    hidden_act: activation('silu'),
    max_position_embeddings: int(2048),
    initializer_range: num(0.02, { min: 0 }),
    rms_norm_eps: positive(1e-6),
    use_cache: bool(true),
    pad_token_id: tokenId(null),
    bos_token_id: tokenId(1),
    eos_token_id: eosField,
    pretraining_tp: int(1),
    tie_word_embeddings: bool(false),
    rope_theta: num(10000, { aboveZero: true }),
    rope_scaling: ropeScaling,
    attention_bias: bool(false),
    attention_dropout: prob(0),
    mlp_bias: bool(false),
    head_dim: derived(128),
  },
  aliases: {},
  defaultNumLabels: 2,
  defaultArchitecture: 'LlamaForCausalLM',
  finish(c, raw) {
    // transformers: num_key_value_heads = num_attention_heads when None; head_dim = hidden_size // heads when None
    if (raw['num_key_value_heads'] === undefined || raw['num_key_value_heads'] === null)
      c.num_key_value_heads = c.num_attention_heads;
    if (raw['head_dim'] === undefined || raw['head_dim'] === null) {
      divisible('llama', 'hidden_size', c.hidden_size, 'num_attention_heads', c.num_attention_heads);
      c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    if (c.num_attention_heads % c.num_key_value_heads !== 0) {
      throw new ConfigError(
        `llama: "num_attention_heads" (${c.num_attention_heads}) must be divisible by "num_key_value_heads" ` +
          `(${c.num_key_value_heads}), since each key/value head serves a whole group of query heads`,
      );
    }
    if (c.head_dim % 2 !== 0) {
      throw new ConfigError(`llama: "head_dim" (${c.head_dim}) must be even: rotary embeddings turn its two halves`);
    }
    for (const id of Array.isArray(c.eos_token_id) ? c.eos_token_id : []) {
      if (id >= c.vocab_size)
        throw new ConfigError(`llama field "eos_token_id": ${id} is not below vocab_size (${c.vocab_size})`);
    }
    if (c.hidden_act !== 'silu' && c.hidden_act !== 'swish') {
      throw new ConfigError(
        `llama field "hidden_act": expected "silu" (the SwiGLU feed-forward), got "${c.hidden_act}"`,
      );
    }
    // transformers 5 writes rope_parameters {rope_type, rope_theta} in place of rope_theta / rope_scaling
    const rp = raw['rope_parameters'];
    if (rp !== undefined && rp !== null) {
      const o = rp as Record<string, unknown>;
      if (typeof rp !== 'object' || (o['rope_type'] !== undefined && o['rope_type'] !== 'default')) {
        throw new ConfigError(
          `llama field "rope_parameters": only rope_type "default" (plain RoPE) is supported, got ${describe(rp)}`,
        );
      }
      if (raw['rope_theta'] === undefined && o['rope_theta'] !== undefined)
        c.rope_theta = num(10000, { aboveZero: true }).read(
          o['rope_theta'],
          'llama field "rope_parameters.rope_theta"',
        );
    }
  },
};

/** Hugging Face names of LlamaForCausalLM for a model of this shape (q | k | v parts sized by the heads). */
export function llamaNames(
  c: Pick<LlamaFields, 'num_attention_heads' | 'num_key_value_heads' | 'head_dim' | 'tie_word_embeddings'>,
): NameMap {
  const L = 'model.layers.$1';
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  return {
    optionalPrefix: 'model.',
    rules: [
      { internal: 'embed_tokens\\.weight', hf: 'model.embed_tokens.weight' },
      {
        internal: 'layers\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)',
        hf: ['q_proj', 'k_proj', 'v_proj'].map((p) => `${L}.self_attn.${p}.$2`),
        split: [q, kv, kv],
      },
      { internal: 'layers\\.(\\d+)\\.attn\\.o\\.(weight|bias)', hf: `${L}.self_attn.o_proj.$2` },
      { internal: 'layers\\.(\\d+)\\.attn_norm\\.weight', hf: `${L}.input_layernorm.weight` },
      { internal: 'layers\\.(\\d+)\\.ffn\\.gate\\.(weight|bias)', hf: `${L}.mlp.gate_proj.$2` },
      { internal: 'layers\\.(\\d+)\\.ffn\\.up\\.(weight|bias)', hf: `${L}.mlp.up_proj.$2` },
      { internal: 'layers\\.(\\d+)\\.ffn\\.down\\.(weight|bias)', hf: `${L}.mlp.down_proj.$2` },
      { internal: 'layers\\.(\\d+)\\.ffn_norm\\.weight', hf: `${L}.post_attention_layernorm.weight` },
      { internal: 'norm\\.weight', hf: 'model.norm.weight' },
      { internal: 'lm_head\\.weight', hf: 'lm_head.weight' },
    ],
    ignore: [/\.rotary_emb\.inv_freq$/, ...(c.tie_word_embeddings ? [/^lm_head\.weight$/] : [])],
  };
}
