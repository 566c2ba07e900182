/**
 * T5 span corruption (Raffel et al. 2020), following `random_spans_noise_mask`:
 *   noise = round(n · density), clamped to [1, n − 1]; spans = max(1, round(noise / meanSpanLength)),
 *   also at most n − noise so every kept span is non-empty;
 *   noise lengths = a random segmentation of `noise` items into `spans` non-empty parts, kept lengths
 *   likewise for n − noise; the sequence alternates kept, noise, kept, noise, … (it starts with kept
 *   tokens and ends with a noise span).
 * A random segmentation of m items into k parts puts k − 1 cuts in k − 1 distinct gaps of the m − 1,
 * chosen uniformly (T5 shuffles a boolean vector to the same effect).
 * Input: kept tokens with each noise span replaced by one sentinel, then EOS. Target: for each span,
 * its sentinel then its tokens; then EOS. Sentinels count down from `firstSentinelId` (T5's
 * `<extra_id_0>` = 32099 is the highest id of its vocabulary, `<extra_id_1>` = 32098, …).
 */
import { ArgumentError } from '../errors.js';
import type { Rng } from '../rng.js';

export interface SpanCorruptionOptions {
  firstSentinelId: number;
  eosId: number;
  noiseDensity?: number; // 0.15
  meanSpanLength?: number; // 3
  /** Append EOS to the input (T5 does); default true. */
  inputEos?: boolean;
}

export interface Seq2SeqExample {
  inputIds: Int32Array;
  labels: Int32Array;
}

/** Lengths of `k` non-empty parts of `m` items, uniformly over all compositions. */
export function randomSegmentation(m: number, k: number, rng: Rng): number[] {
  if (k < 1 || k > m) throw new ArgumentError(`cannot cut ${m} items into ${k} non-empty parts`);
  const gaps = Int32Array.from({ length: m - 1 }, (_, i) => i + 1);
  for (let i = 0; i < k - 1; i++) {
    const j = i + rng.int(gaps.length - i);
    const t = gaps[i]!;
    gaps[i] = gaps[j]!;
    gaps[j] = t;
  }
  const cuts = Array.from(gaps.subarray(0, k - 1)).sort((x, y) => x - y);
  const lengths: number[] = [];
  let prev = 0;
  for (const c of cuts) {
    lengths.push(c - prev);
    prev = c;
  }
  lengths.push(m - prev);
  return lengths;
}

/** Noise mask of length n: 1 on corrupted positions. */
export function randomSpansNoiseMask(n: number, rng: Rng, noiseDensity = 0.15, meanSpanLength = 3): Uint8Array {
  const mask = new Uint8Array(n);
  if (n < 2) return mask; // nothing can be both kept and dropped
  const noise = Math.min(Math.max(Math.round(n * noiseDensity), 1), n - 1);
  const spans = Math.min(Math.max(Math.round(noise / meanSpanLength), 1), n - noise);
  const noiseLengths = randomSegmentation(noise, spans, rng);
  const keptLengths = randomSegmentation(n - noise, spans, rng);
  let p = 0;
  for (let s = 0; s < spans; s++) {
    p += keptLengths[s]!;
    mask.fill(1, p, p + noiseLengths[s]!);
    p += noiseLengths[s]!;
  }
  return mask;
}

/** Corrupt one sequence (ids without EOS). */
export function spanCorruption(ids: ArrayLike<number>, rng: Rng, opts: SpanCorruptionOptions): Seq2SeqExample {
  const mask = randomSpansNoiseMask(ids.length, rng, opts.noiseDensity ?? 0.15, opts.meanSpanLength ?? 3);
  const input: number[] = [];
  const target: number[] = [];
  let sentinel = opts.firstSentinelId;
  for (let t = 0; t < ids.length; t++) {
    if (!mask[t]) {
      input.push(ids[t]!);
      continue;
    }
    if (t === 0 || !mask[t - 1]) {
      if (sentinel < 0) throw new ArgumentError(`more spans than sentinel ids below ${opts.firstSentinelId}`);
      input.push(sentinel);
      target.push(sentinel);
      sentinel--;
    }
    target.push(ids[t]!);
  }
  if (opts.inputEos ?? true) input.push(opts.eosId);
  target.push(opts.eosId);
  return { inputIds: Int32Array.from(input), labels: Int32Array.from(target) };
}
