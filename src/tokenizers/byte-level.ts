/**
 * GPT-2's byte-level alphabet: every byte maps to one printable character (printable ASCII and
 * Latin-1 map to themselves, the rest to U+0100…), so any UTF-8 text is a string over 256 symbols.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return out;
})();

/** GPT-2's pre-tokenizer pattern (contractions, letters, numbers, other, whitespace). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const encoder = new TextEncoder();

/** A pre-token's bytes as byte-level characters. */
export function toByteLevel(piece: string): string {
  let s = '';
  for (const b of encoder.encode(piece)) s += BYTE_TO_CHAR[b];
  return s;
}
