/** The dropout mask written out plainly: element k kept iff fmix32(fmix32(k·φ ⊕ key0) + key1) ≥ threshold. */
function fmix32(h: number): number {
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function dropoutMaskRef(n: number, key0: number, key1: number, threshold: number): Uint8Array {
  const mask = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const h = fmix32((fmix32((Math.imul(k, 0x9e3779b9) ^ key0) >>> 0) + key1) >>> 0);
    mask[k] = h >= threshold ? 1 : 0;
  }
  return mask;
}

/** y = x·mask/(1−p) in float64. */
export function dropoutRef(x: ArrayLike<number>, mask: Uint8Array, p: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) y[k] = mask[k] ? x[k]! / (1 - p) : 0;
  return y;
}
