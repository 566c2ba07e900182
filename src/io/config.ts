/**
 * Hugging Face `config.json` for the four families, with the field names and defaults of `transformers`
 * (GPT2Config, BertConfig, T5Config, BartConfig and the PretrainedConfig fields they use).
 *
 * parseConfig(json)     → a typed config: known fields checked and defaulted, unknown fields kept in `extra`.
 * serializeConfig(cfg)  → a plain object `transformers` loads: model_type, architectures, every typed field,
 *                         id2label/label2id when not the default, and `extra` back as it came.
 *
 * Null is kept where `transformers` keeps it (GPT-2 `n_inner: null` means 4·n_embd at build time: use
 * gpt2InnerDim) and resolved where `transformers` resolves it on load (T5 `num_decoder_layers: null` →
 * num_layers, which is also what it writes back). Attribute aliases (GPT-2 `hidden_size` for `n_embd`, ...)
 * are read as their canonical field and written back under the canonical name.
 */
import { ConfigError } from '../errors.js';
import {
  ACTIVATIONS, type Activation, type Fields, activation, bool, int, num, oneOf, orNull, prob, str, tokenId,
} from './config-fields.js';
import { isDefaultLabels, readLabels } from './config-labels.js';
import { describe } from './describe.js';

export type { Activation } from './config-fields.js';

/** Fields every family has (PretrainedConfig), plus everything parseConfig did not know. */
export interface CommonConfig {
  /** Model classes that wrote the checkpoint, e.g. ["GPT2LMHeadModel"]; null if the file had none. */
  architectures: string[] | null;
  /** Class index → label name of a classification head (transformers' default: LABEL_0 … LABEL_{n-1}). */
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  /** Derived: the number of entries of id2label (never written; transformers derives it the same way). */
  num_labels: number;
  /** Every field of config.json parseConfig does not know, unchanged, so a round trip loses nothing. */
  extra: Record<string, unknown>;
}

export interface Gpt2Fields {
  vocab_size: number; n_positions: number; n_embd: number; n_layer: number; n_head: number;
  /** Feed-forward width; null means 4·n_embd (see gpt2InnerDim). */
  n_inner: number | null;
  activation_function: Activation;
  resid_pdrop: number; embd_pdrop: number; attn_pdrop: number;
  layer_norm_epsilon: number; initializer_range: number;
  summary_type: 'last' | 'first' | 'mean' | 'cls_index' | 'attn';
  summary_use_proj: boolean; summary_activation: string | null; summary_proj_to_labels: boolean;
  summary_first_dropout: number;
  scale_attn_weights: boolean; use_cache: boolean;
  scale_attn_by_inverse_layer_idx: boolean; reorder_and_upcast_attn: boolean;
  bos_token_id: number | null; eos_token_id: number | null; pad_token_id: number | null;
  tie_word_embeddings: boolean;
}

export interface BertFields {
  vocab_size: number; hidden_size: number; num_hidden_layers: number; num_attention_heads: number;
  intermediate_size: number; hidden_act: Activation;
  hidden_dropout_prob: number; attention_probs_dropout_prob: number;
  max_position_embeddings: number; type_vocab_size: number;
  initializer_range: number; layer_norm_eps: number;
  position_embedding_type: 'absolute' | 'relative_key' | 'relative_key_query';
  /**
   * simdformer's pre-LN option (not a transformers field): blocks compute x + f(LN(x)) and a final
   * LayerNorm (`bert.encoder.final_layer_norm`) follows the last one. transformers' BertModel ignores the
   * field and would run such weights post-LN, so keep pre-LN checkpoints to simdformer.
   */
  pre_norm: boolean;
  use_cache: boolean; classifier_dropout: number | null;
  pad_token_id: number | null; bos_token_id: number | null; eos_token_id: number | null;
  tie_word_embeddings: boolean;
}

export interface T5Fields {
  vocab_size: number; d_model: number; d_kv: number; d_ff: number;
  num_layers: number;
  /** null in the file means num_layers; parseConfig resolves it, as transformers does on load. */
  num_decoder_layers: number;
  num_heads: number;
  relative_attention_num_buckets: number; relative_attention_max_distance: number;
  dropout_rate: number; classifier_dropout: number;
  layer_norm_epsilon: number; initializer_factor: number;
  /** "relu" (T5) or "gated-gelu" (T5 v1.1, flan-T5); in general "<act>" or "gated-<act>": see t5FeedForward. */
  feed_forward_proj: string;
  is_encoder_decoder: boolean; use_cache: boolean;
  pad_token_id: number | null; eos_token_id: number | null; bos_token_id: number | null;
  /** transformers leaves this null; every released T5 config sets it to 0 (= pad_token_id). */
  decoder_start_token_id: number | null;
  tie_word_embeddings: boolean;
}

export interface BartFields {
  vocab_size: number; d_model: number; max_position_embeddings: number;
  encoder_layers: number; decoder_layers: number;
  encoder_attention_heads: number; decoder_attention_heads: number;
  encoder_ffn_dim: number; decoder_ffn_dim: number;
  activation_function: Activation;
  dropout: number; attention_dropout: number; activation_dropout: number; classifier_dropout: number;
  encoder_layerdrop: number; decoder_layerdrop: number;
  init_std: number; scale_embedding: boolean; use_cache: boolean; is_encoder_decoder: boolean;
  pad_token_id: number | null; bos_token_id: number | null; eos_token_id: number | null;
  decoder_start_token_id: number | null; forced_eos_token_id: number | null;
  /** Legacy fields of older BartConfig files; BART is post-LN without a final layer norm, so both must be false. */
  normalize_before: boolean; add_final_layer_norm: boolean;
  tie_word_embeddings: boolean;
}

export type Gpt2Config = { model_type: 'gpt2' } & Gpt2Fields & CommonConfig;
export type BertConfig = { model_type: 'bert' } & BertFields & CommonConfig;
export type T5Config = { model_type: 't5' } & T5Fields & CommonConfig;
export type BartConfig = { model_type: 'bart' } & BartFields & CommonConfig;
export type ModelConfig = Gpt2Config | BertConfig | T5Config | BartConfig;
export type ModelType = ModelConfig['model_type'];

interface Family<F> {
  fields: Fields<F>;
  /** transformers' attribute_map: other names a config.json may use for a field. */
  aliases: Record<string, keyof F & string>;
  defaultNumLabels: number;
  /** Written when the config has no `architectures` (the model layer should set the real head class). */
  defaultArchitecture: string;
  /** Cross-field checks and derived defaults, after every field has been read. */
  finish(cfg: F, raw: Record<string, unknown>): void;
}

const positive = (def: number) => num(def, { aboveZero: true });

const GPT2: Family<Gpt2Fields> = {
  fields: {
    vocab_size: int(50257), n_positions: int(1024), n_embd: int(768), n_layer: int(12), n_head: int(12),
    n_inner: orNull(int(3072)), activation_function: activation('gelu_new'),
    resid_pdrop: prob(0.1), embd_pdrop: prob(0.1), attn_pdrop: prob(0.1),
    layer_norm_epsilon: positive(1e-5), initializer_range: num(0.02, { min: 0 }),
    summary_type: oneOf('cls_index', ['last', 'first', 'mean', 'cls_index', 'attn'] as const),
    summary_use_proj: bool(true), summary_activation: orNull(str('tanh')), summary_proj_to_labels: bool(true),
    summary_first_dropout: prob(0.1),
    scale_attn_weights: bool(true), use_cache: bool(true),
    scale_attn_by_inverse_layer_idx: bool(false), reorder_and_upcast_attn: bool(false),
    bos_token_id: tokenId(50256), eos_token_id: tokenId(50256), pad_token_id: tokenId(null),
    tie_word_embeddings: bool(true),
  },
  aliases: { hidden_size: 'n_embd', max_position_embeddings: 'n_positions', num_attention_heads: 'n_head', num_hidden_layers: 'n_layer' },
  defaultNumLabels: 2,
  defaultArchitecture: 'GPT2LMHeadModel',
  finish(c) {
    divisible('gpt2', 'n_embd', c.n_embd, 'n_head', c.n_head);
  },
};

const BERT: Family<BertFields> = {
  fields: {
    vocab_size: int(30522), hidden_size: int(768), num_hidden_layers: int(12), num_attention_heads: int(12),
    intermediate_size: int(3072), hidden_act: activation('gelu'),
    hidden_dropout_prob: prob(0.1), attention_probs_dropout_prob: prob(0.1),
    max_position_embeddings: int(512), type_vocab_size: int(2),
    initializer_range: num(0.02, { min: 0 }), layer_norm_eps: positive(1e-12),
    position_embedding_type: oneOf('absolute', ['absolute', 'relative_key', 'relative_key_query'] as const),
    pre_norm: bool(false),
    use_cache: bool(true), classifier_dropout: orNull(prob(0.1)),
    pad_token_id: tokenId(0), bos_token_id: tokenId(null), eos_token_id: tokenId(null),
    tie_word_embeddings: bool(true),
  },
  aliases: {},
  defaultNumLabels: 2,
  defaultArchitecture: 'BertForMaskedLM',
  finish(c) {
    divisible('bert', 'hidden_size', c.hidden_size, 'num_attention_heads', c.num_attention_heads);
  },
};

const T5: Family<T5Fields> = {
  fields: {
    vocab_size: int(32128), d_model: int(512), d_kv: int(64), d_ff: int(2048),
    num_layers: int(6),
    // null reads as 0 here and becomes num_layers in finish(), as T5Config does
    num_decoder_layers: { def: 6, read: (v, where) => (v === null ? 0 : int(6).read(v, where)) },
    num_heads: int(8),
    relative_attention_num_buckets: int(32), relative_attention_max_distance: int(128),
    dropout_rate: prob(0.1), classifier_dropout: prob(0.0),
    layer_norm_epsilon: positive(1e-6), initializer_factor: num(1.0, { min: 0 }),
    feed_forward_proj: str('relu'),
    is_encoder_decoder: bool(true), use_cache: bool(true),
    pad_token_id: tokenId(0), eos_token_id: tokenId(1), bos_token_id: tokenId(null),
    decoder_start_token_id: tokenId(null),
    tie_word_embeddings: bool(true),
  },
  aliases: { hidden_size: 'd_model', num_attention_heads: 'num_heads', num_hidden_layers: 'num_layers' },
  defaultNumLabels: 2,
  defaultArchitecture: 'T5ForConditionalGeneration',
  finish(c, raw) {
    // transformers: num_decoder_layers = num_decoder_layers if not None else num_layers
    if (raw['num_decoder_layers'] === undefined || raw['num_decoder_layers'] === null) c.num_decoder_layers = c.num_layers;
    t5FeedForward(c); // throws on a malformed feed_forward_proj
  },
};

const BART: Family<BartFields> = {
  fields: {
    vocab_size: int(50265), d_model: int(1024), max_position_embeddings: int(1024),
    encoder_layers: int(12), decoder_layers: int(12),
    encoder_attention_heads: int(16), decoder_attention_heads: int(16),
    encoder_ffn_dim: int(4096), decoder_ffn_dim: int(4096),
    activation_function: activation('gelu'),
    dropout: prob(0.1), attention_dropout: prob(0.0), activation_dropout: prob(0.0), classifier_dropout: prob(0.0),
    encoder_layerdrop: prob(0.0), decoder_layerdrop: prob(0.0),
    init_std: num(0.02, { min: 0 }), scale_embedding: bool(false), use_cache: bool(true), is_encoder_decoder: bool(true),
    pad_token_id: tokenId(1), bos_token_id: tokenId(0), eos_token_id: tokenId(2),
    decoder_start_token_id: tokenId(2), forced_eos_token_id: tokenId(2),
    normalize_before: bool(false), add_final_layer_norm: bool(false),
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

// The one table of families: parse, serialize and the "known model types" message all read it.
type AnyFamily = Family<Record<string, unknown>>;
const FAMILIES: Record<ModelType, AnyFamily> = {
  gpt2: GPT2 as unknown as AnyFamily,
  bert: BERT as unknown as AnyFamily,
  t5: T5 as unknown as AnyFamily,
  bart: BART as unknown as AnyFamily,
};
export const MODEL_TYPES = Object.keys(FAMILIES) as ModelType[];

// --------------------------------------------------------------------------------------------- parse

export function parseConfig(json: unknown): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`config should be a JSON object, got ${describe(json)}`);
  }
  const raw: Record<string, unknown> = structuredClone(json as Record<string, unknown>);
  const modelType = raw['model_type'];
  if (typeof modelType !== 'string' || !(modelType in FAMILIES)) {
    throw new ConfigError(
      `config field "model_type": expected one of ${MODEL_TYPES.map((t) => JSON.stringify(t)).join(', ')}, got ${describe(modelType)}`,
    );
  }
  delete raw['model_type'];
  const type = modelType as ModelType;
  const family = FAMILIES[type];

  for (const [alias, field] of Object.entries(family.aliases)) {
    if (!(alias in raw)) continue;
    if (field in raw && raw[field] !== raw[alias]) {
      throw new ConfigError(
        `${type} fields "${alias}" (${describe(raw[alias])}) and "${field}" (${describe(raw[field])}) name the same ` +
          `setting with different values; keep one`,
      );
    }
    raw[field] = raw[alias];
    delete raw[alias];
  }

  const seen: Record<string, unknown> = { ...raw };
  const cfg: Record<string, unknown> = { model_type: type };
  for (const [key, field] of Object.entries(family.fields)) {
    const v = raw[key];
    delete raw[key];
    cfg[key] = v === undefined ? structuredClone(field.def) : field.read(v, `${type} field "${key}"`);
  }
  family.finish(cfg, seen);
  checkTokenIds(type, cfg);

  cfg['architectures'] = readArchitectures(raw['architectures']);
  delete raw['architectures'];
  Object.assign(cfg, readLabels(raw, family.defaultNumLabels));
  cfg['extra'] = raw;
  return cfg as unknown as ModelConfig;
}

function divisible(type: string, a: string, av: number, b: string, bv: number): void {
  if (av % bv !== 0) {
    throw new ConfigError(
      `${type}: "${a}" (${av}) must be divisible by "${b}" (${bv}), since each head gets ${a} / ${b} dimensions`,
    );
  }
}

function checkTokenIds(type: string, cfg: Record<string, unknown>): void {
  const vocab = cfg['vocab_size'] as number;
  for (const [key, v] of Object.entries(cfg)) {
    if (key.endsWith('_token_id') && typeof v === 'number' && v >= vocab) {
      throw new ConfigError(`${type} field "${key}": expected a token id below vocab_size (${vocab}), got ${v}`);
    }
  }
}

function readArchitectures(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new ConfigError(`config field "architectures": expected an array of class names, got ${describe(v)}`);
  }
  return v as string[];
}

// ----------------------------------------------------------------------------------------- serialize

/** A plain object for config.json, keys sorted as transformers writes them. */
export function serializeConfig(cfg: ModelConfig): Record<string, unknown> {
  const family = FAMILIES[cfg.model_type] as AnyFamily | undefined;
  if (family === undefined) {
    throw new ConfigError(`cannot serialize model_type ${describe(cfg.model_type)} (known: ${MODEL_TYPES.join(', ')})`);
  }
  const c = cfg as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { ...structuredClone(cfg.extra) };
  for (const key of Object.keys(family.fields)) out[key] = structuredClone(c[key]);
  out['model_type'] = cfg.model_type;
  out['architectures'] = cfg.architectures ?? [family.defaultArchitecture];

  if (!isDefaultLabels(cfg, family.defaultNumLabels)) {
    out['id2label'] = Object.fromEntries(Object.entries(cfg.id2label).map(([k, v]) => [String(k), v]));
    out['label2id'] = { ...cfg.label2id };
  }
  // fromEntries defines own properties: a field named "__proto__" in extra stays a field.
  return Object.fromEntries(Object.keys(out).sort().map((key) => [key, out[key]]));
}

// ------------------------------------------------------------------------------------ derived values

/** GPT-2 feed-forward width: n_inner, or 4·n_embd when it is null (as GPT2MLP builds it). */
export function gpt2InnerDim(cfg: Gpt2Config): number {
  return cfg.n_inner ?? 4 * cfg.n_embd;
}

/**
 * T5 feed-forward kind from feed_forward_proj ("<act>" or "gated-<act>"), as T5Config reads it; "gated-gelu"
 * means gelu_new (tanh approximation), kept by transformers for backward compatibility.
 */
export function t5FeedForward(cfg: Pick<T5Fields, 'feed_forward_proj'>): { gated: boolean; act: Activation } {
  const parts = cfg.feed_forward_proj.split('-');
  const gated = parts.length === 2 && parts[0] === 'gated';
  const act = parts[parts.length - 1]!;
  if ((parts.length === 2 && !gated) || parts.length > 2 || !(ACTIVATIONS as readonly string[]).includes(act)) {
    throw new ConfigError(
      `t5 field "feed_forward_proj": expected "<act>" or "gated-<act>" such as "relu" or "gated-gelu" ` +
        `(<act> one of ${ACTIVATIONS.join(', ')}), got ${describe(cfg.feed_forward_proj)}`,
    );
  }
  return { gated, act: cfg.feed_forward_proj === 'gated-gelu' ? 'gelu_new' : (act as Activation) };
}
