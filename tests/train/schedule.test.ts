import { describe, expect, it } from 'vitest';
import { cycleEnds, learningRate, type Schedule } from '../../src/train/schedule.js';

describe('learning-rate schedule', () => {
  const base: Schedule = { lr: 0.02, warmup: 10, total: 403, kind: 'linear' };

  it('warms up linearly, then decays linearly to zero at total', () => {
    expect(learningRate(base, 0)).toBeCloseTo(0.002, 12);
    expect(learningRate(base, 9)).toBeCloseTo(0.02, 12);
    expect(learningRate(base, 10 + 393 / 2)).toBeCloseTo(0.01, 12);
    expect(learningRate(base, 403)).toBe(0);
  });

  it('one cycle is the plain schedule', () => {
    for (let step = 0; step <= 403; step += 7)
      expect(learningRate({ ...base, cycles: [1] }, step)).toBe(learningRate(base, step));
  });

  it('warm restarts: the first cycle is the plain schedule ending early; each later one warms up to restartRatio × lr and decays to zero at its end', () => {
    const s: Schedule = { ...base, cycles: [2, 1, 1], restartRatio: 0.5, restartWarmup: 5 };
    const ends = cycleEnds(s);
    expect(ends).toEqual([Math.round(403 / 2), Math.round((403 * 3) / 4), 403]);
    const first = { ...base, total: ends[0]! };
    for (let step = 0; step < ends[0]!; step += 3) expect(learningRate(s, step)).toBe(learningRate(first, step));
    for (const [c, begin] of [
      [1, ends[0]!],
      [2, ends[1]!],
    ] as const) {
      const end = ends[c]!;
      expect(learningRate(s, begin)).toBeCloseTo(0.01 / 5, 12); // the restart's warm-up, from its first step
      expect(learningRate(s, begin + 4)).toBeCloseTo(0.01, 12);
      const mid = begin + 5 + (end - begin - 5) / 2;
      expect(learningRate(s, mid)).toBeCloseTo(0.005, 12);
      expect(learningRate(s, end - 1)).toBeLessThan(0.01 / (end - begin - 5) + 1e-12);
      expect(learningRate(s, end - 1)).toBeGreaterThan(0);
    }
    expect(learningRate(s, 403)).toBe(0);
    expect(learningRate(s, 10_000)).toBe(0);
  });

  it('cosine cycles decay to the floor, and past the end the rate stays there', () => {
    const s: Schedule = { lr: 1, warmup: 0, total: 100, kind: 'cosine', cycles: [1, 1] };
    expect(learningRate(s, 0)).toBe(1);
    expect(learningRate(s, 50)).toBe(1); // restarts at the full rate with no warm-up
    expect(learningRate(s, 100)).toBeCloseTo(0.1, 12);
    expect(learningRate(s, 500)).toBeCloseTo(0.1, 12);
  });
});
