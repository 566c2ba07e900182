import { describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { positionBias } from '../../src/tensor/ops/index.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

describe('positionBias', () => {
  it('gathers [buckets, H] into [H, Tq, Tk]; its gradient matches finite differences', async () => {
    const e = await Engine.create({ threads: 1 });
    const [nb, H, Tq, Tk] = [7, 3, 4, 5];
    const table = randn(nb * H, 3);
    const buckets = Int32Array.from({ length: Tq * Tk }, (_, p) => (p * 5 + 3) % nb);
    const ref = (xs: Float64Array[]) => {
      const out = new Float64Array(H * Tq * Tk);
      for (let h = 0; h < H; h++) for (let p = 0; p < Tq * Tk; p++) out[h * Tq * Tk + p] = xs[0]![buckets[p]! * H + h]!;
      return out;
    };
    const t = e.parameter('table', table, [nb, H]);
    const y = positionBias(t, buckets, Tq, Tk);
    expectBitIdentical(y.toArray(), Float32Array.from(ref([Float64Array.from(table)])), 'forward');
    const w = randn(H * Tq * Tk, 4);
    backwardWith(e, y, w);
    expectClose(t.grad!.toArray(), finiteDifferences(ref, [table], w)[0]!, 1e-4, 1e-6, 'dtable');
    await e.dispose();
  });
});
