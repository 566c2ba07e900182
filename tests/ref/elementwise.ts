/** Float64 references of the elementwise ops. */
export function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for 1e-6; use the series / continued fraction split.
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = x;
    let term = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for |x| ≥ 3
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}

export const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
// ½x(1 + tanh u) = x·σ(2u): the σ form does not cancel in the negative tail (1 + tanh u does)
export const geluTanh = (x: number) => x / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const relu = (x: number) => Math.max(x, 0);

export const map = (xs: ArrayLike<number>, f: (x: number) => number) => Float64Array.from(xs as ArrayLike<number>, f);
export const zip = (a: ArrayLike<number>, b: ArrayLike<number>, f: (x: number, y: number) => number) =>
  Float64Array.from({ length: a.length }, (_, i) => f(a[i]!, b[i]!));
