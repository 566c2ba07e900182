// Seeded inputs for tests and benchmarks (no vitest here, so bench/ can import it too).

/** n seeded values uniform in [lo, hi) (xorshift32, never a zero state): the same floats for a seed, everywhere. */
export function randn(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    a[i] = lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  }
  return a;
}
