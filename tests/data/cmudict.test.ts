import { describe, expect, it } from 'vitest';
import { cmudictDataset, cmudictEntries, cmudictRaw, groupByWord, parseCmudict } from '../../src/data/cmudict.js';

const raw = cmudictRaw();
const entries = cmudictEntries(raw); // read and parse once (~0.7 s)

describe('CMUdict', () => {
  it('has 133,784 keys, 125,005 words, 133,469 stress-free entries over 39 phones', () => {
    expect(Object.keys(raw).length).toBe(133_784);
    expect(entries.length).toBe(133_469);
    expect(groupByWord(entries).size).toBe(125_005);
    expect(new Set(entries.flatMap((e) => e.phonemes)).size).toBe(39);
    expect(entries.some((e) => /\(\d+\)$/.test(e.word) || e.phonemes.some((p) => /\d/.test(p)))).toBe(false);
  });

  it('groups alternates under their word and removes stress', () => {
    expect(groupByWord(entries).get('A')).toEqual([['AH'], ['EY']]);
    expect(parseCmudict({ READ: 'R IY1 D', 'READ(1)': 'R EH1 D', 'READ(2)': 'R EH2 D' })).toEqual([
      { word: 'READ', phonemes: ['R', 'IY', 'D'] },
      { word: 'READ', phonemes: ['R', 'EH', 'D'] },
    ]);
  });

  it('splits 90/5/5 by word: deterministic, disjoint, all pronunciations of a word together', () => {
    const a = cmudictDataset(entries),
      b = cmudictDataset(entries);
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([120_144, 6_634, 6_691]);
    expect(b.validation.map((e) => e.word)).toEqual(a.validation.map((e) => e.word));
    const sideOf = new Map<string, string>();
    let straddle = 0;
    for (const side of ['train', 'validation', 'test'] as const) {
      for (const e of a[side]) {
        const s = sideOf.get(e.word);
        if (s !== undefined && s !== side) straddle++;
        sideOf.set(e.word, side);
      }
    }
    expect(straddle).toBe(0);
  });
});
