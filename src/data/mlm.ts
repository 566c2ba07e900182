/**
 * BERT masked-LM corruption. Per sequence, exactly `round(maskProb · n)` positions are chosen uniformly
 * without replacement among the n candidate positions (ids not in `specialIds`; put the padding,
 * [CLS], [SEP], [MASK] ids there) — a fixed count, as Google's `create_pretraining_data.py` does, rather
 * than a Bernoulli draw per token (HF's collator): the rate is exact per sequence, not only on average.
 * Each chosen position independently becomes `[MASK]` (80 %), a uniform random non-special id (10 %)
 * or stays (10 %). labels = original id at chosen positions, -100 elsewhere.
 * Whole-word masking (`wholeWord` = 1 where a word starts, e.g. not a `##` piece): words are taken in a
 * random order and added whole while the count stays ≤ the target (a word that would overshoot is
 * skipped), as Google's does; the 80/10/10 choice is still per token.
 * Dynamic masking: call again each epoch (with `rng.fork(epoch)`) for fresh positions.
 */
import { ArgumentError, TokenIdError } from '../errors.js';
import type { Rng } from '../rng.js';

export const IGNORE_INDEX = -100;

export interface MlmOptions {
  maskProb: number;
  maskId: number;
  vocabSize: number;
  /** Ids never chosen and never drawn as random replacements: pad, [CLS], [SEP], [MASK], [UNK]… */
  specialIds: ReadonlySet<number> | readonly number[];
  /** Same length as the sequence: 1 where a word starts (whole-word masking), 0 on continuation pieces. */
  wholeWord?: ArrayLike<number>;
  /** Probabilities of [MASK] and of a random id among chosen positions; default 0.8 and 0.1. */
  maskReplaceProb?: number;
  randomReplaceProb?: number;
}

export interface MlmExample {
  inputIds: Int32Array; // (T)
  labels: Int32Array; // (T) original id or -100
}

/** Mask one sequence. */
export function maskTokens(ids: ArrayLike<number>, rng: Rng, opts: MlmOptions): MlmExample {
  const special = opts.specialIds instanceof Set ? opts.specialIds : new Set(opts.specialIds as readonly number[]);
  const { maskProb, maskId, vocabSize } = opts;
  const pMask = opts.maskReplaceProb ?? 0.8;
  const pRandom = opts.randomReplaceProb ?? 0.1;
  if (!(maskProb >= 0 && maskProb <= 1)) throw new ArgumentError(`maskProb must be in [0, 1], got ${maskProb}`);
  if (!(pMask >= 0 && pRandom >= 0 && pMask + pRandom <= 1)) {
    throw new ArgumentError(`maskReplaceProb + randomReplaceProb must be ≤ 1, got ${pMask} + ${pRandom}`);
  }
  if (special.size >= vocabSize)
    throw new ArgumentError(`every one of the ${vocabSize} ids is special: no random replacement possible`);
  const T = ids.length;
  const inputIds = Int32Array.from(ids);
  const labels = new Int32Array(T).fill(IGNORE_INDEX);
  const candidates: number[] = [];
  for (let t = 0; t < T; t++) {
    const id = inputIds[t]!;
    if (!(id >= 0 && id < vocabSize))
      throw new TokenIdError(`token id ${id} at position ${t} is outside [0, ${vocabSize})`);
    if (!special.has(id)) candidates.push(t);
  }
  const target = Math.round(maskProb * candidates.length);
  const chosen = opts.wholeWord
    ? chooseWholeWords(candidates, opts.wholeWord, target, T, rng)
    : chooseTokens(candidates, target, rng);
  for (const t of chosen) {
    labels[t] = inputIds[t]!;
    const r = rng.float();
    if (r < pMask) inputIds[t] = maskId;
    else if (r < pMask + pRandom) inputIds[t] = randomNonSpecial(rng, vocabSize, special);
  }
  return { inputIds, labels };
}

/** Mask each row of a (B, T) batch. */
export function maskBatch(ids: Int32Array, T: number, rng: Rng, opts: MlmOptions): MlmExample {
  if (T <= 0 || ids.length % T !== 0)
    throw new ArgumentError(`batch of ${ids.length} ids is not a whole number of rows of ${T}`);
  const inputIds = new Int32Array(ids.length);
  const labels = new Int32Array(ids.length);
  for (let b = 0; b * T < ids.length; b++) {
    const row = maskTokens(ids.subarray(b * T, (b + 1) * T), rng, {
      ...opts,
      wholeWord: opts.wholeWord ? Array.prototype.slice.call(opts.wholeWord, b * T, (b + 1) * T) : undefined,
    });
    inputIds.set(row.inputIds, b * T);
    labels.set(row.labels, b * T);
  }
  return { inputIds, labels };
}

/** `k` of the candidate positions, uniformly (partial Fisher–Yates). */
function chooseTokens(candidates: number[], k: number, rng: Rng): number[] {
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(candidates.length - i);
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  return candidates.slice(0, k);
}

function chooseWholeWords(
  candidates: number[],
  starts: ArrayLike<number>,
  target: number,
  T: number,
  rng: Rng,
): number[] {
  if (starts.length !== T) throw new ArgumentError(`wholeWord flags have length ${starts.length}, the sequence ${T}`);
  const words: number[][] = [];
  for (const t of candidates) {
    const last = words[words.length - 1];
    if (starts[t] || !last || last[last.length - 1] !== t - 1) words.push([t]);
    else last.push(t);
  }
  rng.shuffle(words);
  const chosen: number[] = [];
  for (const w of words) {
    if (chosen.length >= target) break;
    if (chosen.length + w.length > target) continue;
    chosen.push(...w);
  }
  return chosen;
}

function randomNonSpecial(rng: Rng, vocabSize: number, special: ReadonlySet<number>): number {
  for (;;) {
    const id = rng.int(vocabSize);
    if (!special.has(id)) return id;
  }
}
