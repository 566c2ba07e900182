/** Hugging Face-style inputs (rows of ids) → the flat arrays the models run on. */
import { ArgumentError, TokenIdError } from '../errors.js';

/** labels[b, t+1] as the target of position t; -100 at each row's last position. */
export function shiftLabels(labels: Int32Array, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) out[b * T + t] = labels[b * T + t + 1]!;
  return out;
}

/** Rows of ids → one Int32Array [B·T], checking that every row has the same length. */
export function flatten(
  rows: ArrayLike<number>[],
  what: string,
  B?: number,
  T?: number,
): { ids: Int32Array; B: number; T: number } {
  const b = rows.length;
  const t = b ? rows[0]!.length : 0;
  if (b === 0 || t === 0) throw new ArgumentError(`${what}: need at least one non-empty row`);
  if ((B !== undefined && b !== B) || (T !== undefined && t !== T)) {
    throw new ArgumentError(`${what} is [${b}, ${t}], inputIds is [${B}, ${T}]`);
  }
  const ids = new Int32Array(b * t);
  rows.forEach((r, i) => {
    if (r.length !== t) throw new ArgumentError(`${what}: row ${i} has ${r.length} tokens, row 0 has ${t} (pad them)`);
    for (let j = 0; j < t; j++) {
      const v = r[j]!;
      if (!Number.isInteger(v)) throw new TokenIdError(`${what}[${i}][${j}] = ${v} is not an integer`);
      ids[i * t + j] = v;
    }
  });
  return { ids, B: b, T: t };
}

/*
 * Labels of positions whose attention row is fully masked: such a position sees no real key. transformers
 * gives it attention spread evenly over keys it masks (its additive mask is the dtype's minimum, not −∞; which
 * keys depends on the version and the attention implementation), the fused attention here gives it zeros; the
 * two disagree, and neither output means anything. So those labels are ignored (−100) by default, in the loss
 * and in what `forward` reports: in a left-padded GPT batch, the last pad position's prediction of the first
 * real token is not counted (docs/checkpoints.md, interop notes).
 */

/**
 * Causal attention (GPT): position t of row b sees keys 0..t, so it sees no real key while mask[b, 0..t] is all 0
 * (the pads before the first real token of a left-padded row). labels [B·T] are the targets of the positions
 * (already shifted). Returns a copy with −100 there, or `labels` itself when no position is affected.
 */
export function ignoreBeforeFirstToken(labels: Int32Array, mask: ArrayLike<number>, B: number, T: number): Int32Array {
  let out = labels;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T && mask[b * T + t] === 0; t++) {
      if (out[b * T + t] === -100) continue;
      if (out === labels) out = labels.slice();
      out[b * T + t] = -100;
    }
  }
  return out;
}

/**
 * Attention over a whole row (BERT's encoder; the decoder's cross-attention over a seq2seq source): a row whose
 * mask [S] is all 0 sees no real key at any position, so every label of that row is ignored. `labels` holds the
 * same number of labels per row (tokens [B·T], or one per row [B]). Returns a copy, or `labels` itself.
 */
export function ignoreEmptyRows(labels: Int32Array, mask: ArrayLike<number>, B: number, S: number): Int32Array {
  let out = labels;
  const per = labels.length / B;
  for (let b = 0; b < B; b++) {
    let empty = true;
    for (let s = 0; s < S && empty; s++) empty = mask[b * S + s] === 0;
    if (!empty) continue;
    if (out === labels) out = labels.slice();
    out.fill(-100, b * per, (b + 1) * per);
  }
  return out;
}
