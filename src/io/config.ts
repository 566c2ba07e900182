/**
 * Hugging Face `config.json`: the generic reader and writer over each family's table (src/io/hf/<family>.ts),
 * with the field names and defaults of `transformers` and the PretrainedConfig fields they share.
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
import { isDefaultLabels, readLabels } from './config-labels.js';
import { describe } from './describe.js';
import { MAX_JSON_DEPTH, valueNestsWithin } from './json.js';
import { MODEL_TYPES, TABLES, type ModelConfig, type ModelType } from './hf/index.js';

export * from './hf/index.js';
export type { Activation } from './config-fields.js';

// --------------------------------------------------------------------------------------------- parse

export function parseConfig(json: unknown): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`config should be a JSON object, got ${describe(json)}`);
  }
  if (!valueNestsWithin(json)) {
    throw new ConfigError(`config nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const raw: Record<string, unknown> = structuredClone(json as Record<string, unknown>);
  const modelType = raw['model_type'];
  if (typeof modelType !== 'string' || !(modelType in TABLES)) {
    throw new ConfigError(
      `config field "model_type": expected one of ${MODEL_TYPES.map((t) => JSON.stringify(t)).join(', ')}, got ${describe(modelType)}`,
    );
  }
  delete raw['model_type'];
  const type = modelType as ModelType;
  const table = TABLES[type];

  for (const [alias, field] of Object.entries(table.aliases)) {
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
  for (const [key, field] of Object.entries(table.fields)) {
    const v = raw[key];
    delete raw[key];
    cfg[key] = v === undefined ? structuredClone(field.def) : field.read(v, `${type} field "${key}"`);
  }
  table.finish(cfg, seen);
  checkTokenIds(type, cfg);

  cfg['architectures'] = readArchitectures(raw['architectures']);
  delete raw['architectures'];
  Object.assign(cfg, readLabels(raw, table.defaultNumLabels));
  cfg['extra'] = raw;
  return cfg as unknown as ModelConfig;
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
  const table = TABLES[cfg.model_type] as (typeof TABLES)[ModelType] | undefined;
  if (table === undefined) {
    throw new ConfigError(`cannot serialize model_type ${describe(cfg.model_type)} (known: ${MODEL_TYPES.join(', ')})`);
  }
  const c = cfg as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { ...structuredClone(cfg.extra) };
  for (const key of Object.keys(table.fields)) out[key] = structuredClone(c[key]);
  out['model_type'] = cfg.model_type;
  out['architectures'] = cfg.architectures ?? [table.defaultArchitecture];

  if (!isDefaultLabels(cfg, table.defaultNumLabels)) {
    out['id2label'] = Object.fromEntries(Object.entries(cfg.id2label).map(([k, v]) => [String(k), v]));
    out['label2id'] = { ...cfg.label2id };
  }
  // fromEntries defines own properties: a field named "__proto__" in extra stays a field.
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((key) => [key, out[key]]),
  );
}
