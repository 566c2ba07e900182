/**
 * Padding variable-length sequences into one row-major batch. Shapes: `data`, `inputIds`,
 * `attentionMask` are Int32Array (B, T); attention mask 1 on real tokens, 0 on padding (right padding).
 */
import { ArgumentError, SequenceTooLongError } from '../errors.js';

export interface Padded {
  data: Int32Array; // (B, T)
  B: number;
  T: number;
  /** Real length of each row (after truncation). */
  lengths: Int32Array; // (B)
}

export interface PaddedBatch {
  inputIds: Int32Array; // (B, T)
  attentionMask: Int32Array; // (B, T)
  B: number;
  T: number;
  lengths: Int32Array; // (B)
}

export interface PadOptions {
  /** Fixed T; default: the longest sequence. */
  length?: number;
  /** Cut sequences longer than `length` instead of throwing `SequenceTooLongError`. */
  truncate?: boolean;
}

/** Right-pad `seqs` with `padValue` (e.g. a pad id for inputs, -100 for labels). */
export function padSequences(seqs: readonly ArrayLike<number>[], padValue: number, opts: PadOptions = {}): Padded {
  const B = seqs.length;
  let longest = 0;
  for (const s of seqs) longest = Math.max(longest, s.length);
  const T = opts.length ?? longest;
  if (!Number.isInteger(T) || T < 0) throw new ArgumentError(`pad length must be an integer ≥ 0, got ${T}`);
  const data = new Int32Array(B * T).fill(padValue);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const s = seqs[b]!;
    if (s.length > T && !opts.truncate) {
      throw new SequenceTooLongError(
        `sequence ${b} has ${s.length} tokens, more than the padded length ${T} (pass truncate: true to cut)`,
      );
    }
    const n = Math.min(s.length, T);
    for (let t = 0; t < n; t++) data[b * T + t] = s[t]!;
    lengths[b] = n;
  }
  return { data, B, T, lengths };
}

/** Pad token ids with `padId` and build the matching attention mask. */
export function padBatch(seqs: readonly ArrayLike<number>[], padId: number, opts: PadOptions = {}): PaddedBatch {
  const { data, B, T, lengths } = padSequences(seqs, padId, opts);
  const attentionMask = new Int32Array(B * T);
  for (let b = 0; b < B; b++) attentionMask.fill(1, b * T, b * T + lengths[b]!);
  return { inputIds: data, attentionMask, B, T, lengths };
}
