/**
 * BART denoising (Lewis et al. 2020): sentence permutation, then text infilling.
 *   - permutation: the document's sentences are shuffled (`permuteSentences`, default true);
 *   - infilling: M = round(maskRatio · n) tokens (0.3) are removed in spans whose lengths are drawn from
 *     Poisson(λ = 3) until they sum to at least M, the last one cut so the sum is exactly M (it may become
 *     0). Zero-length spans are kept: each inserts a `<mask>` without removing anything. The n − M kept
 *     tokens and the spans are interleaved uniformly at random (a shuffle of kept-token and span items),
 *     so spans never overlap and the masked fraction is exactly M / n; each span becomes one `<mask>`.
 *     (fairseq draws span starts independently, lets spans overlap, and handles 0-length spans as a
 *     separate insertion step: same ingredients, its realised ratio only approximates 0.3.)
 *   - target: the original tokens in their original order; `bosId` / `eosId`, when given, wrap both
 *     input and target and are never masked.
 */
import { ArgumentError } from '../errors.js';
import type { Rng } from '../rng.js';
import type { Seq2SeqExample } from './span-corruption.js';

export interface BartNoiseOptions {
  maskId: number;
  maskRatio?: number; // 0.3
  poissonLambda?: number; // 3
  permuteSentences?: boolean; // true
  bosId?: number;
  eosId?: number;
}

export interface BartNoiseResult extends Seq2SeqExample {
  /** Lengths of the spans replaced by `<mask>`, in input order (0 = insertion). */
  spanLengths: number[];
}

/** Span lengths ~ Poisson(λ) summing to exactly `total`. */
export function poissonSpanLengths(total: number, lambda: number, rng: Rng): number[] {
  const lengths: number[] = [];
  let sum = 0;
  while (sum < total) {
    const l = rng.poisson(lambda);
    lengths.push(l);
    sum += l;
  }
  if (sum > total) lengths[lengths.length - 1]! -= sum - total;
  return lengths;
}

/** Text infilling on one token sequence. */
export function textInfilling(
  ids: ArrayLike<number>,
  rng: Rng,
  opts: BartNoiseOptions,
): { inputIds: number[]; spanLengths: number[] } {
  const ratio = opts.maskRatio ?? 0.3;
  if (!(ratio >= 0 && ratio <= 1)) throw new ArgumentError(`maskRatio must be in [0, 1], got ${ratio}`);
  const n = ids.length;
  const spans = poissonSpanLengths(Math.round(ratio * n), opts.poissonLambda ?? 3, rng);
  const masked = spans.reduce((a, b) => a + b, 0);
  // Items: 0 = the next kept token, 1 = the next span; shuffled, then read left to right.
  const items = new Uint8Array(n - masked + spans.length);
  items.fill(1, n - masked);
  rng.shuffle(items);
  const inputIds: number[] = [];
  const spanLengths: number[] = [];
  let p = 0;
  let s = 0;
  for (let i = 0; i < items.length; i++) {
    if (items[i] === 0) {
      inputIds.push(ids[p++]!);
    } else {
      const len = spans[s++]!;
      spanLengths.push(len);
      inputIds.push(opts.maskId);
      p += len;
    }
  }
  return { inputIds, spanLengths };
}

/** Permute sentences (optional), infill, wrap with bos/eos; target = original document. */
export function bartNoise(sentences: readonly ArrayLike<number>[], rng: Rng, opts: BartNoiseOptions): BartNoiseResult {
  const original: number[] = [];
  for (const s of sentences) for (let i = 0; i < s.length; i++) original.push(s[i]!);
  const order = sentences.map((_, i) => i);
  if (opts.permuteSentences ?? true) rng.shuffle(order);
  const permuted: number[] = [];
  for (const i of order) {
    const s = sentences[i]!;
    for (let t = 0; t < s.length; t++) permuted.push(s[t]!);
  }
  const { inputIds, spanLengths } = textInfilling(permuted, rng, opts);
  const wrap = (xs: number[]): Int32Array =>
    Int32Array.from([
      ...(opts.bosId !== undefined ? [opts.bosId] : []),
      ...xs,
      ...(opts.eosId !== undefined ? [opts.eosId] : []),
    ]);
  return { inputIds: wrap(inputIds), labels: wrap(original), spanLengths };
}
