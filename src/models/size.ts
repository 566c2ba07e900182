/**
 * What a model will need, known from its config before anything is allocated: each family counts its float32
 * parameters as a few terms named by the config fields that size them (`gptParameters`, `bertParameters`, …),
 * and a config that cannot fit is refused in microseconds with the field and the bytes, never allocated,
 * initialised or looped over (a config.json with `n_layer: 2147483647` is one line of text).
 */
import { CheckpointError, ConfigError, OutOfMemoryError } from '../errors.js';
import type { KVCache } from '../nn/attention.js';
import { deferringParameters } from '../nn/module.js';
import type { Engine } from '../tensor/engine.js';
import type { Quantization } from './quantize.js';

/** A part of a model's parameters: what sizes it, in words of its config fields, and how many floats it is. */
export interface ParameterTerm {
  what: string;
  count: number;
}

export const parameterTotal = (terms: readonly ParameterTerm[]): number => terms.reduce((s, t) => s + t.count, 0);

const bytes = (n: number) => `${Math.round(n).toLocaleString('en-US')} bytes`;
const largest = (terms: readonly ParameterTerm[]) => terms.reduce((a, b) => (b.count > a.count ? b : a));

/**
 * A ConfigError unless the model's float32 parameters fit in the engine's free memory. Called first thing in
 * every family's constructor, so a huge config costs a multiplication, not an allocation.
 */
export function checkParameterMemory(
  engine: Engine,
  type: string,
  terms: readonly ParameterTerm[],
  quantize?: Quantization,
): void {
  // a model built for a quantizing load (deferred parameters): the loader checked its int8 need before building it
  if (quantize === undefined && deferringParameters(engine)) return;
  const top = largest(terms);
  // int8 as loadModel quantizes while loading: a byte a value, and the largest part in float32 while it arrives
  const need = quantize ? parameterTotal(terms) + 4 * top.count : 4 * parameterTotal(terms);
  const free = engine.memoryAvailableBytes;
  if (need <= free) return;
  throw new ConfigError(
    `${type} config needs ${bytes(need)} for its parameters (${quantize ? 'int8, loaded' : 'float32'}), more than the engine has free ` +
      `(${bytes(free)} of its limit of ${bytes(engine.memoryLimitBytes)}; the Engine option maxMemoryMiB, at most 4096): ` +
      `the largest part is ${top.what}, ${bytes(4 * top.count)}`,
  );
}

/**
 * A CheckpointError unless the checkpoint's tensors hold at least as many values as the config's model has
 * parameters (every parameter is read from a tensor of its own size). Checked before the model is built, so a
 * config that does not describe its weights allocates nothing: what is built is never more than the file holds.
 */
export function checkParametersInFile(
  type: string,
  terms: readonly ParameterTerm[],
  fileValues: number,
  where: string,
): void {
  const need = parameterTotal(terms);
  if (need <= fileValues) return;
  const top = largest(terms);
  throw new CheckpointError(
    `${where}: config.json describes a ${type} model of ${need.toLocaleString('en-US')} parameters, but its weights ` +
      `hold ${fileValues.toLocaleString('en-US')} values in all: the config does not describe these weights ` +
      `(its largest part is ${top.what}, ${top.count.toLocaleString('en-US')} parameters)`,
  );
}

/**
 * Empty KV caches of B rows × `capacity` positions for these self-attentions, all or none: their size is checked
 * against the engine's free memory first (an OutOfMemoryError before anything is allocated: a decoding budget of
 * 2^31 tokens is refused, not half-allocated), and what was made is released if one still does not fit.
 */
export function newCachesAllOrNone(
  engine: Engine,
  attentions: readonly { kvInner?: number; inner: number; newCache(B: number, capacity: number): KVCache }[],
  B: number,
  capacity: number,
): KVCache[] {
  // keys and values, float32, of every layer (each layer's cache is [B, capacity, inner] twice)
  const need = attentions.reduce((sum, a) => sum + 2 * 4 * B * capacity * (a.kvInner ?? a.inner), 0);
  if (need > engine.memoryAvailableBytes) {
    throw new OutOfMemoryError(
      need,
      engine.memoryLimitBytes,
      `KV caches of ${attentions.length} layers × ${B} × ${capacity} positions`,
    );
  }
  const caches: KVCache[] = [];
  try {
    for (const a of attentions) caches.push(a.newCache(B, capacity));
  } catch (e) {
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    throw e;
  }
  return caches;
}
