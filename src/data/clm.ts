/**
 * Causal-LM data: documents' token ids → one stream `doc0 EOS doc1 EOS …` → windows of T + 1 tokens
 * taken every T tokens (consecutive windows share one token), so each stream token after the first is
 * a label exactly once. Input = window[0..T), label = window[1..T]. The tail that does not fill a whole
 * window is dropped (`droppedTokens` says how many).
 */
import { ArgumentError } from '../errors.js';
import type { Rng } from '../rng.js';
import { splitByKey, type SplitFractions, type Splits } from './split.js';

export interface ClmWindows {
  windows: Int32Array; // (N, T + 1)
  N: number;
  T: number;
  /** Stream tokens after the last full window (not in any label). */
  droppedTokens: number;
}

export interface ClmBatch {
  inputIds: Int32Array; // (B, T)
  labels: Int32Array; // (B, T) next token of each input position
  B: number;
  T: number;
}

/** Pack documents into windows of `contextLength + 1` (an EOS after every document). */
export function packClm(
  docs: readonly ArrayLike<number>[],
  opts: { eosId: number; contextLength: number },
): ClmWindows {
  const T = opts.contextLength;
  if (!Number.isInteger(T) || T < 1) throw new ArgumentError(`contextLength must be an integer ≥ 1, got ${T}`);
  let total = 0;
  for (const d of docs) total += d.length + 1;
  const stream = new Int32Array(total);
  let p = 0;
  for (const d of docs) {
    for (let i = 0; i < d.length; i++) stream[p++] = d[i]!;
    stream[p++] = opts.eosId;
  }
  const N = total >= T + 1 ? Math.floor((total - 1) / T) : 0;
  const windows = new Int32Array(N * (T + 1));
  for (let n = 0; n < N; n++) windows.set(stream.subarray(n * T, n * T + T + 1), n * (T + 1));
  return { windows, N, T, droppedTokens: N === 0 ? total : total - 1 - N * T };
}

/**
 * One epoch of batches: window order shuffled with `rng`; the last partial batch is yielded unless
 * `dropLast`. Pass `rng.fork(epoch)` for a different, reproducible order per epoch.
 */
export function* clmBatches(packed: ClmWindows, rng: Rng, batchSize: number, dropLast = false): Generator<ClmBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ArgumentError(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  const { windows, N, T } = packed;
  const order = rng.shuffle(Int32Array.from({ length: N }, (_, i) => i));
  for (let start = 0; start < N; start += batchSize) {
    const B = Math.min(batchSize, N - start);
    if (B < batchSize && dropLast) return;
    const inputIds = new Int32Array(B * T);
    const labels = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const w = order[start + b]! * (T + 1);
      inputIds.set(windows.subarray(w, w + T), b * T);
      labels.set(windows.subarray(w + 1, w + T + 1), b * T);
    }
    yield { inputIds, labels, B, T };
  }
}

/** Held-out split by document (hash32 of its id): pack each side separately so no document straddles. */
export function splitClmDocuments<D>(
  docs: readonly D[],
  idOf: (doc: D) => string,
  fractions: SplitFractions,
): Splits<D> {
  return splitByKey(docs, idOf, fractions);
}
