/** y = x·W (+ b) in float64; W [out, in] ('out_in') or [in, out] ('in_out'). */
export function linearRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  M: number,
  In: number,
  Out: number,
  layout: 'out_in' | 'in_out',
): Float64Array {
  const y = new Float64Array(M * Out);
  for (let m = 0; m < M; m++)
    for (let o = 0; o < Out; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < In; i++) s += x[m * In + i]! * (layout === 'out_in' ? w[o * In + i]! : w[i * Out + o]!);
      y[m * Out + o] = s;
    }
  return y;
}
