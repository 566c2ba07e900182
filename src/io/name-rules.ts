import { CheckpointError } from '../errors.js';
import type { NamedTensor } from './safetensors.js';

/**
 * How one internal parameter is stored in a Hugging Face checkpoint: under one name, or split into
 * several tensors concatenated along their first dimension (q | k | v of a fused projection; for
 * [out, in] weights and for biases that is the output dimension).
 */
export interface NameRule {
  /** Internal name pattern (a regular expression over the whole name, with groups). */
  internal: string;
  /** HF name template(s), `$1`… for the groups; several = concatenated parts, in order. */
  hf: string | string[];
  /**
   * Rows (first-dimension entries) of each part, when the parts differ in size (LLaMA's q | k | v with fewer
   * key/value heads than query heads). Default: equal parts.
   */
  split?: number[];
}

/** First-dimension sizes of the parts of a tensor with `rows` rows stored under `names` names by `rule`. */
function partRows(rule: NameRule, names: number, rows: number, internal: string): number[] {
  if (!rule.split) return new Array<number>(names).fill(rows / names);
  if (rule.split.length !== names || rule.split.reduce((a, b) => a + b, 0) !== rows) {
    throw new CheckpointError(
      `${internal} has ${rows} rows, but its parts are ${rule.split.join(' + ')} rows under ${names} names`,
    );
  }
  return rule.split;
}

export interface NameMap {
  rules: NameRule[];
  /** HF tensors that are not parameters here (buffers, tied copies): read and dropped. */
  ignore: RegExp[];
  /** Prefixes a checkpoint may add or omit (e.g. `transformer.` of GPT2LMHeadModel vs GPT2Model). */
  optionalPrefix?: string;
}

const expand = (template: string, m: RegExpMatchArray) =>
  template.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? '');

/** Internal named tensors → the tensors a Hugging Face checkpoint holds. */
export function toHF(map: NameMap, tensors: NamedTensor[]): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const t of tensors) {
    const rule = map.rules.find((r) => new RegExp(`^${r.internal}$`).test(t.name));
    if (!rule) throw new CheckpointError(`no Hugging Face name for parameter ${t.name}`);
    const m = t.name.match(new RegExp(`^${rule.internal}$`))!;
    const names = Array.isArray(rule.hf) ? rule.hf : [rule.hf];
    const rows = partRows(rule, names.length, t.shape[0]!, t.name);
    const rowSize = t.data.length / t.shape[0]!;
    let at = 0;
    names.forEach((n, i) => {
      out.push({
        name: expand(n, m),
        shape: names.length === 1 ? t.shape : [rows[i]!, ...t.shape.slice(1)],
        data: names.length === 1 ? t.data : t.data.subarray(at * rowSize, (at + rows[i]!) * rowSize),
      });
      at += rows[i]!;
    });
  }
  return out;
}

/** Where one checkpoint tensor goes: into internal parameter `param`, from element `offset` on. */
export interface HFPart {
  param: string;
  offset: number;
}

export interface FromHFOptions {
  /** Parameters that keep their initialisation when the checkpoint has none of their tensors (a new head). */
  newHead?: RegExp;
  /** Checkpoint tensors that may be left unused (another head's weights). */
  ignoreUnused?: RegExp;
}

/**
 * Which checkpoint tensor fills which part of which parameter, checked before any data is read: every
 * expected parameter must be found with the expected shape (but those of `newHead`, which keep their
 * initialisation when absent: fine-tuning a pre-trained body); every checkpoint tensor must be used,
 * ignorable, or match `ignoreUnused` (another head's weights). Errors name the tensor and what was
 * expected. `shapeOf(name)` gives a checkpoint tensor's shape (undefined: absent).
 */
export function planFromHF(
  map: NameMap,
  shapeOf: (hfName: string) => readonly number[] | undefined,
  available: string[],
  expected: Map<string, readonly number[]>,
  options: FromHFOptions = {},
): { parts: Map<string, HFPart>; loaded: Set<string> } {
  const prefix = map.optionalPrefix ?? '';
  const present = new Set(available);
  const resolve = (name: string): string | undefined => {
    if (present.has(name)) return name;
    if (prefix && name.startsWith(prefix) && present.has(name.slice(prefix.length))) return name.slice(prefix.length);
    return undefined;
  };
  const parts = new Map<string, HFPart>();
  const loaded = new Set<string>();
  for (const [name, shape] of expected) {
    const rule = map.rules.find((r) => new RegExp(`^${r.internal}$`).test(name));
    if (!rule) throw new CheckpointError(`no Hugging Face name for parameter ${name}`);
    const m = name.match(new RegExp(`^${rule.internal}$`))!;
    const names = (Array.isArray(rule.hf) ? rule.hf : [rule.hf]).map((n) => expand(n, m));
    if (options.newHead?.test(name) && names.every((n) => resolve(n) === undefined)) continue; // a new head keeps its initialisation
    const rows = partRows(rule, names.length, shape[0]!, name);
    let at = 0;
    for (const [i, n] of names.entries()) {
      const found = resolve(n);
      const got = found === undefined ? undefined : shapeOf(found);
      if (!got) throw new CheckpointError(`checkpoint lacks ${n} (for ${name}, shape [${shape.join(', ')}])`);
      const partShape = names.length === 1 ? shape : [rows[i]!, ...shape.slice(1)];
      if (got.length !== partShape.length || got.some((d, i) => d !== partShape[i])) {
        throw new CheckpointError(`${n} has shape [${got.join(', ')}], expected [${partShape.join(', ')}]`);
      }
      parts.set(found!, { param: name, offset: at });
      at += partShape.reduce((a, b) => a * b, 1);
    }
    loaded.add(name);
  }
  const unused = available.filter(
    (n) => !parts.has(n) && !map.ignore.some((r) => r.test(n)) && !options.ignoreUnused?.test(n),
  );
  if (unused.length > 0) {
    throw new CheckpointError(
      `checkpoint has tensors this model does not use: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ` and ${unused.length - 5} more` : ''}`,
    );
  }
  return { parts, loaded };
}

/**
 * A checkpoint's tensors → internal name → data, for the internal names the model expects (the checks
 * of planFromHF, which this follows).
 */
export function fromHF(
  map: NameMap,
  get: (hfName: string) => { shape: number[]; data: Float32Array } | undefined,
  available: string[],
  expected: Map<string, readonly number[]>,
  options: FromHFOptions = {},
): Map<string, Float32Array> {
  const { parts, loaded } = planFromHF(map, (n) => get(n)?.shape, available, expected, options);
  const out = new Map<string, Float32Array>();
  for (const name of loaded) out.set(name, new Float32Array(expected.get(name)!.reduce((a, b) => a * b, 1)));
  for (const [hfName, { param, offset }] of parts) out.get(param)!.set(get(hfName)!.data, offset);
  return out;
}

/**
 * The checkpoint names of internal parameter `internal` (of `rows` first-dimension entries) and the rows each
 * holds, in order (one part, or the q | k | v parts of a fused projection); undefined if no rule names it.
 */
export function hfParts(
  map: NameMap,
  internal: string,
  rows: number,
): { name: string; offset: number; rows: number }[] | undefined {
  const rule = map.rules.find((r) => new RegExp(`^${r.internal}$`).test(internal));
  if (!rule) return undefined;
  const m = internal.match(new RegExp(`^${rule.internal}$`))!;
  const names = (Array.isArray(rule.hf) ? rule.hf : [rule.hf]).map((n) => expand(n, m));
  const sizes = partRows(rule, names.length, rows, internal);
  let at = 0;
  return names.map((name, i) => {
    const part = { name, offset: at, rows: sizes[i]! };
    at += sizes[i]!;
    return part;
  });
}
