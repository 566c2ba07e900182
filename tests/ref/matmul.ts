/** C = op(A)·op(B) in float64, and Σ|a||b| per element (the scale a float32 sum's error is measured against). */
export function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  transposeA = false,
  transposeB = false,
): { c: Float64Array; magnitude: Float64Array } {
  const c = new Float64Array(M * N);
  const magnitude = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const av = transposeA ? a[k * M + i]! : a[i * K + k]!;
      for (let j = 0; j < N; j++) {
        const bv = transposeB ? b[j * K + k]! : b[k * N + j]!;
        c[i * N + j]! += av * bv;
        magnitude[i * N + j]! += Math.abs(av * bv);
      }
    }
  }
  return { c, magnitude };
}
