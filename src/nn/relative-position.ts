/**
 * T5's relative position buckets (Raffel et al. 2020, as `T5Attention._relative_position_bucket`):
 * distances below half the buckets (per direction) get a bucket each, longer ones share logarithmically
 * wider buckets up to maxDistance, beyond which all share the last. Bidirectional (the encoder) splits the
 * buckets between keys before and after the query; the decoder (causal) only sees keys at or before it.
 */
export function relativePositionBucket(
  relative: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): number {
  let bucket = 0;
  let n = numBuckets;
  let r: number;
  if (bidirectional) {
    n = Math.floor(n / 2);
    if (relative > 0) bucket += n;
    r = Math.abs(relative);
  } else {
    r = -Math.min(relative, 0);
  }
  const maxExact = Math.floor(n / 2);
  if (r < maxExact) return bucket + r;
  // float32 as torch computes it (relative_position.float()), then truncated toward zero (.to(long))
  const large =
    maxExact +
    Math.trunc(
      Math.fround(Math.fround(Math.log(Math.fround(r / maxExact)) / Math.log(maxDistance / maxExact)) * (n - maxExact)),
    );
  return bucket + Math.min(large, n - 1);
}

/** Buckets of every (query, key) pair, query positions start … start+Tq−1, key positions 0 … Tk−1: [Tq·Tk]. */
export function relativePositionBuckets(
  Tq: number,
  Tk: number,
  start: number,
  bidirectional: boolean,
  numBuckets: number,
  maxDistance: number,
): Int32Array {
  const out = new Int32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++)
    for (let j = 0; j < Tk; j++)
      out[i * Tk + j] = relativePositionBucket(j - (start + i), bidirectional, numBuckets, maxDistance);
  return out;
}
