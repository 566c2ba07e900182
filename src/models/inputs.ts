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
