import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { embedding, reshape } from '../../src/tensor/ops/index.js';
import { expectBitIdentical, randn } from '../util/check.js';
import { backwardWith } from '../util/gradcheck.js';

describe('reshape', () => {
  it('shares the elements and passes gradients through unchanged (gathering [CLS] rows of a [B, T, C] tensor)', async () => {
    const e = await Engine.create({ threads: 1 });
    const [B, T, C] = [3, 5, 7];
    const x = e.parameter('x', randn(B * T * C, 1), [B, T, C]);
    const flat = reshape(x, [B * T, C]);
    expectBitIdentical(flat.toArray(), x.toArray(), 'elements');
    const cls = embedding(flat, [0, T, 2 * T], [B]); // rows 0, T, 2T
    const w = randn(B * C, 2);
    backwardWith(e, cls, w);
    const want = new Float32Array(B * T * C);
    for (let b = 0; b < B; b++) want.set(w.subarray(b * C, (b + 1) * C), b * T * C);
    expectBitIdentical(x.grad!.toArray(), want, 'dx');
    expect(() => reshape(x, [4, 4])).toThrow(/105 elements/);
    await e.dispose();
  });
});
