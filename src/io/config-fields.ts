/**
 * Field readers for config.json: each knows its default (the `transformers` default) and how to check a
 * value, and throws a ConfigError naming the field, the expected value and what it got.
 */
import { ConfigError } from '../errors.js';
import { describe } from './describe.js';

export interface Field<T> {
  def: T;
  read(v: unknown, where: string): T;
}

/** A table of fields for every key of `F`: the compiler fails if a field of the config type has no entry. */
export type Fields<F> = { [K in keyof F]-?: Field<F[K]> };

function fail(where: string, expected: string, got: unknown): never {
  throw new ConfigError(`${where}: expected ${expected}, got ${describe(got)}`);
}

export function int(def: number, min = 1, max = Number.MAX_SAFE_INTEGER): Field<number> {
  const upTo = max === Number.MAX_SAFE_INTEGER ? '' : ` ≤ ${max.toLocaleString('en-US')}`;
  const expected = (min === 1 ? 'a positive integer' : `an integer ≥ ${min}`) + upTo;
  return {
    def,
    read: (v, where) =>
      Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
        ? (v as number)
        : fail(where, expected, v),
  };
}

/**
 * Bounds on the sizes a config.json may give: far above any released model, far below where a count of
 * parameters overflows or a loop over layers or labels hangs. Whether a model of these sizes fits in memory
 * is checked (from the sizes, before anything is allocated) by the model layer against the engine's limit.
 */
export const SIZE_LIMITS = {
  /** vocab_size */
  vocab: 2 ** 24,
  /** n_positions, max_position_embeddings, type_vocab_size */
  positions: 2 ** 20,
  /** n_embd, hidden_size, d_model, d_kv */
  width: 2 ** 16,
  /** n_inner, intermediate_size, d_ff, encoder_ffn_dim, decoder_ffn_dim */
  ffn: 2 ** 20,
  /** n_layer, num_hidden_layers, num_layers, num_decoder_layers, encoder_layers, decoder_layers */
  layers: 2 ** 12,
  /** n_head, num_attention_heads, num_heads, encoder_attention_heads, decoder_attention_heads */
  heads: 2 ** 12,
  /** num_labels (id2label is made with one entry per label) */
  labels: 2 ** 16,
  /** relative_attention_num_buckets, relative_attention_max_distance */
  buckets: 2 ** 20,
} as const;

/** A size field: a positive integer up to `max` (one of SIZE_LIMITS). */
export const size = (def: number, max: number): Field<number> => int(def, 1, max);

export function num(def: number, range: { min?: number; max?: number; aboveZero?: boolean } = {}): Field<number> {
  const { min = -Infinity, max = Infinity, aboveZero = false } = range;
  const expected = aboveZero
    ? 'a number > 0'
    : min === 0 && max === 1
      ? 'a probability in [0, 1]'
      : `a number in [${min}, ${max}]`;
  return {
    def,
    read: (v, where) =>
      typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!aboveZero || v > 0)
        ? v
        : fail(where, expected, v),
  };
}

export const prob = (def: number): Field<number> => num(def, { min: 0, max: 1 });

export function bool(def: boolean): Field<boolean> {
  return { def, read: (v, where) => (typeof v === 'boolean' ? v : fail(where, 'true or false', v)) };
}

export function str(def: string): Field<string> {
  return { def, read: (v, where) => (typeof v === 'string' ? v : fail(where, 'a string', v)) };
}

export function oneOf<T extends string>(def: T, values: readonly T[]): Field<T> {
  return {
    def,
    read: (v, where) =>
      typeof v === 'string' && (values as readonly string[]).includes(v)
        ? (v as T)
        : fail(where, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v),
  };
}

/** `inner`, or JSON null (kept as null: `transformers` gives null its own meaning, e.g. GPT-2's n_inner). */
export function orNull<T>(inner: Field<T>, def: T | null = null): Field<T | null> {
  return { def, read: (v, where) => (v === null ? null : inner.read(v, where)) };
}

/** Activation names `transformers` knows (`ACT2FN` keys). Models choose which of them they implement. */
export const ACTIVATIONS = [
  'gelu',
  'gelu_10',
  'gelu_accurate',
  'gelu_fast',
  'gelu_new',
  'gelu_python',
  'gelu_pytorch_tanh',
  'laplace',
  'leaky_relu',
  'linear',
  'mish',
  'quick_gelu',
  'relu',
  'relu2',
  'relu6',
  'sigmoid',
  'silu',
  'swish',
  'tanh',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const activation = (def: Activation): Field<Activation> => oneOf(def, ACTIVATIONS);

export const tokenId = (def: number | null): Field<number | null> => orNull(int(0, 0), def);

/** A number > 0 (an epsilon, say). */
export const positive = (def: number): Field<number> => num(def, { aboveZero: true });
