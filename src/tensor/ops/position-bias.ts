import { ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

/**
 * An attention bias [H, Tq, Tk] gathered from a table [buckets, H] by a bucket per (query, key) pair:
 * bias[h, i, j] = table[bucket[i·Tk + j], h] (T5's relative position bias). Backward adds each pair's
 * gradient into its bucket's row, in pair order (deterministic). Both loops are over H·Tq·Tk values,
 * small next to the attention they feed, so they run on the host.
 */
export function positionBias(table: Tensor, buckets: Int32Array, Tq: number, Tk: number): Tensor {
  const e = table.engine;
  if (table.shape.length !== 2)
    throw new ShapeError(`positionBias: table must be [buckets, heads], got [${table.shape.join(', ')}]`);
  const [nb, H] = table.shape as [number, number];
  const P = Tq * Tk;
  if (buckets.length !== P) throw new ShapeError(`positionBias: ${buckets.length} buckets for ${Tq}×${Tk} pairs`);
  for (let p = 0; p < P; p++) {
    if (buckets[p]! < 0 || buckets[p]! >= nb)
      throw new ShapeError(`positionBias: bucket ${buckets[p]} outside [0, ${nb})`);
  }
  const out = e.empty([H, Tq, Tk], 'step');
  const f32 = e.runtime.f32;
  const t0 = table.offset;
  const o0 = out.offset;
  for (let h = 0; h < H; h++) for (let p = 0; p < P; p++) f32[o0 + h * P + p] = f32[t0 + buckets[p]! * H + h]!;
  if (e.needsGrad(table)) {
    e.record([out], () => {
      const g = e.gradOf(table).offset;
      const d = out.grad!.offset;
      const m = e.runtime.f32;
      for (let p = 0; p < P; p++) for (let h = 0; h < H; h++) m[g + buckets[p]! * H + h]! += m[d + h * P + p]!;
    });
  }
  return out;
}
