/**
 * What a model family's Hugging Face file declares (src/io/hf/<family>.ts): the config.json fields with
 * transformers' defaults and aliases, the fields every family shares, and the weight-name rules.
 */
import { ConfigError } from '../../errors.js';
import type { Fields } from '../config-fields.js';

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

/** One family's config.json table: read by parseConfig and serializeConfig (src/io/config.ts). */
export interface ConfigTable<F> {
  fields: Fields<F>;
  /** transformers' attribute_map: other names a config.json may use for a field. */
  aliases: Record<string, keyof F & string>;
  defaultNumLabels: number;
  /** Written when the config has no `architectures` (the model layer should set the real head class). */
  defaultArchitecture: string;
  /** Cross-field checks and derived defaults, after every field has been read. */
  finish(cfg: F, raw: Record<string, unknown>): void;
}

/** A ConfigError unless `a` is divisible by `b` (a width split over heads). */
export function divisible(type: string, a: string, av: number, b: string, bv: number): void {
  if (av % bv !== 0) {
    throw new ConfigError(
      `${type}: "${a}" (${av}) must be divisible by "${b}" (${bv}), since each head gets ${a} / ${b} dimensions`,
    );
  }
}
