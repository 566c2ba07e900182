import { describe, expect, it } from 'vitest';
import { argmax, checkSampling, pickToken, truncatedDistribution } from '../../src/generate/sampling.js';
import { randn } from '../util/check.js';

const V = 67;
const logits = Array.from(randn(V, 11, -3, 3));
const uniforms = (n: number, seed: number) => Array.from(randn(n, seed, 0, 1));
const rank = (l: number[]) => [...l.keys()].sort((a, b) => l[b]! - l[a]!);

describe('sampling', () => {
  it('greedy is the argmax, deterministic, lowest index among ties', () => {
    const o = checkSampling({});
    const best = argmax(logits);
    for (const u of uniforms(50, 1)) expect(pickToken(logits, o, u)).toBe(best);
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it('top-k never yields a token outside the k most likely', () => {
    for (const k of [1, 2, 5, 17]) {
      const o = checkSampling({ doSample: true, topK: k, temperature: 1.7 });
      const allowed = new Set(rank(logits).slice(0, k));
      for (const u of uniforms(2000, k)) expect(allowed.has(pickToken(logits, o, u))).toBe(true);
    }
  });

  it('top-p keeps the smallest most-likely set with mass ≥ p', () => {
    for (const p of [0.05, 0.3, 0.5, 0.9, 0.99]) {
      const o = checkSampling({ doSample: true, topP: p });
      const { tokens } = truncatedDistribution(logits, o);
      const r = rank(logits);
      expect(Array.from(tokens)).toEqual(r.slice(0, tokens.length));
      // mass of the full softmax over the kept set reaches p; without its last token it does not
      const max = Math.max(...logits);
      const z = logits.reduce((s, l) => s + Math.exp(l - max), 0);
      const mass = (n: number) => r.slice(0, n).reduce((s, i) => s + Math.exp(logits[i]! - max) / z, 0);
      expect(mass(tokens.length)).toBeGreaterThanOrEqual(p - 1e-12);
      expect(mass(tokens.length - 1)).toBeLessThan(p);
    }
  });

  it('a seeded 10,000-draw histogram matches the truncated distribution (chi-square)', () => {
    const o = checkSampling({ doSample: true, temperature: 0.8, topK: 20, topP: 0.9 });
    const { tokens, probs } = truncatedDistribution(logits, o);
    const counts = new Map<number, number>();
    const n = 10_000;
    for (const u of uniforms(n, 99)) {
      const t = pickToken(logits, o, u);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    for (const t of counts.keys()) expect(Array.from(tokens)).toContain(t);
    let chi2 = 0;
    for (let i = 0; i < tokens.length; i++) {
      const expected = n * probs[i]!;
      const seen = counts.get(tokens[i]!) ?? 0;
      chi2 += (seen - expected) ** 2 / expected;
    }
    // 99.9th percentile of chi-square with (len − 1) degrees of freedom (Wilson–Hilferty)
    const df = tokens.length - 1;
    const z = 3.09;
    const critical = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
    expect(df).toBeGreaterThan(3);
    expect(chi2).toBeLessThan(critical);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => checkSampling({ temperature: 0 })).toThrow(/temperature/);
    expect(() => checkSampling({ topK: -1 })).toThrow(/topK/);
    expect(() => checkSampling({ topP: 1.5 })).toThrow(/topP/);
  });
});
