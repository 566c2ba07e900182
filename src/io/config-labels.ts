/**
 * Labels of a classification head, as PretrainedConfig handles them: id2label (class index → name) wins over
 * num_labels, num_labels alone means LABEL_0 … LABEL_{n-1}, label2id defaults to the inverse of id2label.
 */
import { ConfigError } from '../errors.js';
import { SIZE_LIMITS } from './config-fields.js';
import { describe } from './describe.js';

/** id2label wins over num_labels, as in transformers; label2id defaults to the inverse of id2label. */
export function readLabels(raw: Record<string, unknown>, defaultNumLabels: number) {
  const { id2label: rawId2label, label2id: rawLabel2id, num_labels: rawNum } = raw;
  delete raw['id2label'];
  delete raw['label2id'];
  delete raw['num_labels'];

  let id2label: Record<number, string>;
  if (rawId2label !== undefined && rawId2label !== null) {
    if (typeof rawId2label !== 'object' || Array.isArray(rawId2label)) {
      throw new ConfigError(
        `config field "id2label": expected an object {"0": "label", ...}, got ${describe(rawId2label)}`,
      );
    }
    id2label = {};
    for (const [k, name] of Object.entries(rawId2label)) {
      if (!/^(0|[1-9]\d*)$/.test(k) || typeof name !== 'string') {
        throw new ConfigError(
          `config field "id2label": expected class index → label name, such as "0": "NEGATIVE", got "${k}": ${describe(name)}`,
        );
      }
      id2label[Number(k)] = name;
    }
  } else {
    const n = rawNum === undefined || rawNum === null ? defaultNumLabels : rawNum;
    if (!Number.isSafeInteger(n) || (n as number) < 0 || (n as number) > SIZE_LIMITS.labels) {
      throw new ConfigError(
        `config field "num_labels": expected an integer ≥ 0 and ≤ ${SIZE_LIMITS.labels.toLocaleString('en-US')}, got ${describe(n)}`,
      );
    }
    id2label = defaultId2label(n as number);
  }

  let label2id: Record<string, number>;
  if (rawLabel2id !== undefined && rawLabel2id !== null) {
    if (typeof rawLabel2id !== 'object' || Array.isArray(rawLabel2id)) {
      throw new ConfigError(
        `config field "label2id": expected an object {"label": 0, ...}, got ${describe(rawLabel2id)}`,
      );
    }
    for (const [name, id] of Object.entries(rawLabel2id)) {
      if (!Number.isSafeInteger(id) || (id as number) < 0) {
        throw new ConfigError(
          `config field "label2id": expected label name → class index, got "${name}": ${describe(id)}`,
        );
      }
    }
    label2id = Object.fromEntries(Object.entries(rawLabel2id)) as Record<string, number>; // own keys, "__proto__" too
  } else {
    label2id = Object.fromEntries(Object.entries(id2label).map(([id, name]) => [name, Number(id)]));
  }
  return { id2label, label2id, num_labels: Object.keys(id2label).length };
}

function defaultId2label(n: number): Record<number, string> {
  const out: Record<number, string> = {};
  for (let i = 0; i < n; i++) out[i] = `LABEL_${i}`;
  return out;
}

export function isDefaultLabels(
  cfg: { id2label: Record<number, string>; label2id: Record<string, number> },
  n: number,
): boolean {
  const ids = Object.entries(cfg.id2label);
  const names = Object.entries(cfg.label2id);
  return (
    ids.length === n &&
    names.length === n &&
    ids.every(([k, v]) => v === `LABEL_${k}`) &&
    names.every(([k, v]) => k === `LABEL_${v}`)
  );
}
