import { describe, expect, it } from 'vitest';
import { hash32, Rng } from '../../src/rng.js';
import { splitByKey, splitOf } from '../../src/data/split.js';

/** Pearson chi-square statistic of `counts` against a uniform expectation. */
function chiSquare(counts: ArrayLike<number>, total: number): number {
  const e = total / counts.length;
  let x = 0;
  for (let i = 0; i < counts.length; i++) x += (counts[i]! - e) ** 2 / e;
  return x;
}

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42),
      b = new Rng(42),
      c = new Rng(43);
    const xa = Array.from({ length: 100 }, () => a.next());
    const xb = Array.from({ length: 100 }, () => b.next());
    const xc = Array.from({ length: 100 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    expect(xa.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    expect(new Rng('seed').next()).toBe(new Rng('seed').next());
  });

  it('forks by seed key and stream id only, not by how much the parent drew', () => {
    const a = new Rng(7),
      b = new Rng(7);
    for (let i = 0; i < 1000; i++) b.next();
    expect(a.fork(3).next()).toBe(b.fork(3).next());
    expect(a.fork(3).next()).not.toBe(a.fork(4).next());
    expect(a.fork('epoch').next()).toBe(new Rng(7).fork('epoch').next());
    // Streams 0..999 give distinct first outputs (no trivial collisions).
    expect(new Set(Array.from({ length: 1000 }, (_, i) => a.fork(i).next())).size).toBe(1000);
  });

  it('int(n) is uniform (chi-square, 10 and 7 buckets, 200k draws)', () => {
    for (const n of [10, 7]) {
      const r = new Rng(1);
      const counts = new Float64Array(n);
      const N = 200_000;
      for (let i = 0; i < N; i++) counts[r.int(n)]!++;
      // 99.9 % quantile of chi-square with 9 d.o.f. is 27.9, with 6 d.o.f. 22.5.
      expect(chiSquare(counts, N)).toBeLessThan(n === 10 ? 27.9 : 22.5);
    }
  });

  it('next() bytes are uniform and float() is in [0, 1) with mean 1/2', () => {
    const r = new Rng(2);
    const counts = new Float64Array(256);
    let sum = 0;
    let outside = 0;
    const N = 100_000;
    for (let i = 0; i < N; i++) {
      const x = r.next();
      counts[x >>> 24]!++;
      counts[x & 255]!++;
      const f = r.float();
      if (!(f >= 0 && f < 1)) outside++;
      sum += f;
    }
    expect(outside).toBe(0);
    // 99.9 % quantile of chi-square with 255 d.o.f. ≈ 330.5.
    expect(chiSquare(counts, 2 * N)).toBeLessThan(330.5);
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(0.005);
  });

  it('normal() and poisson() have the right mean and variance', () => {
    const r = new Rng(3);
    const N = 100_000;
    let s = 0,
      s2 = 0,
      p = 0,
      p2 = 0,
      zeros = 0,
      big = 0;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
      const k = r.poisson(3);
      p += k;
      p2 += k * k;
      if (k === 0) zeros++;
      big += r.poisson(75);
    }
    expect(Math.abs(s / N)).toBeLessThan(0.015);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.02);
    expect(Math.abs(p / N - 3)).toBeLessThan(0.03);
    expect(Math.abs(p2 / N - (p / N) ** 2 - 3)).toBeLessThan(0.08);
    expect(Math.abs(zeros / N - Math.exp(-3))).toBeLessThan(0.004);
    expect(Math.abs(big / N - 75)).toBeLessThan(0.2);
  });

  it('shuffle() is a permutation with uniform positions', () => {
    const r = new Rng(4);
    const counts = new Float64Array(5 * 5); // [value, position]
    const N = 50_000;
    let notPermutation = 0;
    for (let i = 0; i < N; i++) {
      const a = r.shuffle([0, 1, 2, 3, 4]);
      if ([...a].sort().join() !== '0,1,2,3,4') notPermutation++;
      a.forEach((v, pos) => counts[v * 5 + pos]!++);
    }
    expect(notPermutation).toBe(0);
    // 99.9 % quantile of chi-square with 24 d.o.f. ≈ 51.2 (loose: rows are constrained).
    expect(chiSquare(counts, 5 * N)).toBeLessThan(51.2);
  });

  it('rejects bad arguments', () => {
    expect(() => new Rng(0).int(0)).toThrow(/integer n/);
    expect(() => new Rng(0).poisson(-1)).toThrow(/λ/);
  });
});

describe('hash32 and splits', () => {
  it('hash32 is deterministic, 32-bit, and spreads keys evenly', () => {
    expect(hash32('ca01')).toBe(hash32('ca01'));
    expect(hash32('ca01')).not.toBe(hash32('ca02'));
    const counts = new Float64Array(16);
    for (let i = 0; i < 64_000; i++) counts[hash32(`key-${i}`) >>> 28]!++;
    expect(chiSquare(counts, 64_000)).toBeLessThan(37.7); // 99.9 % for 15 d.o.f.
  });

  it('splitOf follows the fractions and never moves a key', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `doc${i}`);
    const s = splitByKey(keys, (k) => k, { train: 0.8, validation: 0.1, test: 0.1 });
    expect(Math.abs(s.train.length / 20_000 - 0.8)).toBeLessThan(0.015);
    expect(Math.abs(s.test.length / 20_000 - 0.1)).toBeLessThan(0.01);
    expect(splitOf('doc5', { train: 0.8, validation: 0.1, test: 0.1 })).toBe(
      splitOf('doc5', { train: 0.8, validation: 0.1, test: 0.1 }),
    );
    expect(() => splitOf('x', { train: 0.8, validation: 0.1, test: 0.2 })).toThrow(/sum to 1/);
  });
});
