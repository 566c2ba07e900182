import { linearRef } from './linear.js';

/**
 * A linear layer with a LoRA update on output columns [offset, offset+width), in float64:
 * y = x·W (+ b), then y[:, cols] += s · (x·Aᵀ)·Bᵀ with A [r, In], B [width, r].
 */
export function loraLinearRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  s: number,
  dims: { M: number; In: number; Out: number; r: number; offset: number; width: number },
  layout: 'out_in' | 'in_out',
): Float64Array {
  const { M, In, Out, r, offset, width } = dims;
  const y = linearRef(x, w, b, M, In, Out, layout);
  for (let m = 0; m < M; m++) {
    const h = new Float64Array(r);
    for (let k = 0; k < r; k++) for (let i = 0; i < In; i++) h[k]! += x[m * In + i]! * A[k * In + i]!;
    for (let j = 0; j < width; j++) {
      let d = 0;
      for (let k = 0; k < r; k++) d += h[k]! * B[j * r + k]!;
      y[m * Out + offset + j]! += s * d;
    }
  }
  return y;
}
