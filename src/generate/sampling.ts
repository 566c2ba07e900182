import { ArgumentError } from '../errors.js';

export interface SamplingOptions {
  /** false: greedy (argmax). Default false. */
  doSample?: boolean;
  /** Logits are divided by this before top-k and top-p. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0: all). Default 0. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose mass is ≥ p (1: all). Default 1. */
  topP?: number;
}

export function checkSampling(o: SamplingOptions): Required<SamplingOptions> {
  const r = { doSample: o.doSample ?? false, temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1 };
  if (!(r.temperature > 0) || !Number.isFinite(r.temperature))
    throw new ArgumentError(`temperature must be > 0, got ${o.temperature}`);
  if (!Number.isInteger(r.topK) || r.topK < 0) throw new ArgumentError(`topK must be an integer ≥ 0, got ${o.topK}`);
  if (!(r.topP > 0 && r.topP <= 1)) throw new ArgumentError(`topP must be in (0, 1], got ${o.topP}`);
  return r;
}

/** The index of the largest value (the lowest index among ties). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * The distribution sampling draws from, as (token, probability) pairs, most likely first: softmax of
 * logits / temperature, restricted to the top k, then to the smallest prefix with mass ≥ topP (at least
 * one token), renormalised. Temperature, then top-k, then top-p, as Hugging Face applies them.
 */
export function truncatedDistribution(
  logits: ArrayLike<number>,
  opts: Required<SamplingOptions>,
): { tokens: Int32Array; probs: Float64Array } {
  const V = logits.length;
  const order = Array.from({ length: V }, (_, i) => i);
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);
  const k = opts.topK > 0 ? Math.min(opts.topK, V) : V;
  const max = logits[order[0]!]! / opts.temperature;
  const probs = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const p = Math.exp(logits[order[i]!]! / opts.temperature - max);
    probs[i] = p;
    sum += p;
  }
  let keep = k;
  if (opts.topP < 1) {
    let mass = 0;
    for (let i = 0; i < k; i++) {
      mass += probs[i]! / sum;
      if (mass >= opts.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += probs[i]!;
  const tokens = new Int32Array(keep);
  const out = new Float64Array(keep);
  for (let i = 0; i < keep; i++) {
    tokens[i] = order[i]!;
    out[i] = probs[i]! / kept;
  }
  return { tokens, probs: out };
}

/** Picks the next token: argmax when not sampling, else a draw (uniform `u` in [0, 1)) from the truncated distribution. */
export function pickToken(logits: ArrayLike<number>, opts: Required<SamplingOptions>, u: number): number {
  if (!opts.doSample) return argmax(logits);
  const { tokens, probs } = truncatedDistribution(logits, opts);
  let acc = 0;
  for (let i = 0; i < tokens.length; i++) {
    acc += probs[i]!;
    if (u < acc) return tokens[i]!;
  }
  return tokens[tokens.length - 1]!;
}
