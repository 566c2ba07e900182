import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

const CHUNK = 1024; // elements per work item of dropout_fwd_f32 / dropout_bwd_f32

/** murmur3's 32-bit finaliser (the kernels use the same one per element). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The kernel's keys and threshold for (p, seed). Exported for tests: element k is kept iff
 * fmix32(fmix32((k·0x9e3779b9) ⊕ key0) + key1) ≥ threshold, threshold = ⌊p·2³²⌋.
 */
export function dropoutKeys(p: number, seed: number): { key0: number; key1: number; threshold: number } {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const key0 = fmix32(lo ^ 0x6a09e667);
  const key1 = fmix32((hi + 0xbb67ae85 + key0) >>> 0);
  const threshold = Math.min(2 ** 32 - 1, Math.floor(p * 2 ** 32));
  return { key0, key1, threshold };
}

/**
 * Dropout: y = x·mask/(1−p), each element dropped with probability p by a mask that is a pure function of
 * (seed, element index): the same for any thread count, and recomputed in backward (dx += dy·mask/(1−p))
 * instead of stored. p = 0, or no tape (inference under noGrad), is the identity: x itself, no kernel.
 * p = 1 gives zeros (as PyTorch) and no gradient. seed: a non-negative safe integer; pass a new one per
 * call site and step (a dropped element's output is +0 even when x is NaN or inf).
 */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  const e = x.engine;
  if (!(p >= 0 && p <= 1)) throw new ArgumentError(`dropout: p must be in [0, 1], got ${p}`);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new ArgumentError(`dropout: seed must be a non-negative safe integer, got ${seed}`);
  if (p === 0 || !e.tape.enabled) return x;
  if (p === 1) return e.zeros(x.shape, 'step');
  const { key0, key1, threshold } = dropoutKeys(p, seed);
  const scale = 1 / (1 - p);
  const n = x.size;
  const items = Math.ceil(n / CHUNK);
  const y = e.empty(x.shape, 'step');
  e.runtime.run('dropout_fwd_f32', [y.ptr, x.ptr, n, key0, key1, threshold, scale], items, n * 8);
  if (e.needsGrad(x)) {
    e.record([y], () => {
      e.runtime.run('dropout_bwd_f32', [e.gradOf(x).ptr, y.grad!.ptr, n, key0, key1, threshold, scale], items, n * 8);
    });
  }
  return y;
}
