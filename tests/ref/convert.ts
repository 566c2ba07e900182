/**
 * Half-precision bit patterns → values, in float64 arithmetic from the formats' definitions (IEEE 754
 * binary16; bfloat16 = the top 16 bits of a binary32): sign · 2^(e − bias) · (1 + f/2^m), subnormals
 * sign · 2^(1 − bias) · f/2^m, exponent all ones: ±Inf (f = 0) or NaN.
 */
export function refF16(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * (f / 1024) * 2 ** -14;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export function refBF16(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 7) & 255;
  const f = h & 127;
  if (e === 0) return s * (f / 128) * 2 ** -126;
  if (e === 255) return f ? NaN : s * Infinity;
  return s * (1 + f / 128) * 2 ** (e - 127);
}
