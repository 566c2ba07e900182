import { describe, expect, it } from 'vitest';
import {
  decodePhonemes,
  editDistance,
  encodeG2p,
  g2pSource,
  g2pTokenizer,
  scoreG2p,
} from '../../src/recipes/g2p-data.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';

describe('grapheme-to-phoneme data', () => {
  const entries = [
    { word: "O'BRIEN", phonemes: ['OW', 'B', 'R', 'AY', 'AH', 'N'] },
    { word: 'CAT', phonemes: ['K', 'AE', 'T'] },
  ];
  it('a word-level tokenizer over letters and phonemes: pad 0, eos 1, unk 2; round trip; unseen letters read as unk', () => {
    const tok = Tokenizer.fromJson(g2pTokenizer(entries));
    expect([tok.padId, tok.eosId, tok.unkId]).toEqual([0, 1, 2]);
    expect(g2pSource("O'BRIEN")).toBe("o ' b r i e n");
    const { source, target } = encodeG2p(tok, entries[1]!, 1);
    expect(source.at(-1)).toBe(1);
    expect(target).toEqual([...['K', 'AE', 'T'].map((p) => tok.tokenToId(p)), 1]);
    expect(decodePhonemes(tok, target)).toEqual(['K', 'AE', 'T']);
    expect(encodeG2p(tok, { word: 'CAZ', phonemes: ['K'] }, 1).source).toEqual([
      tok.tokenToId('c'),
      tok.tokenToId('a'),
      2,
      1,
    ]);
    // letters are lower case and phonemes upper case, so none is both
    expect(tok.vocabSize).toBe(
      3 + new Set("o'briencat").size + new Set(['OW', 'B', 'R', 'AY', 'AH', 'N', 'K', 'AE', 'T']).size,
    );
  });

  it('edit distance and scores: any pronunciation counts; PER against the closest one', () => {
    expect(editDistance(['K', 'AE', 'T'], ['K', 'AE', 'T'])).toBe(0);
    expect(editDistance(['K', 'AE', 'T'], ['K', 'T'])).toBe(1);
    expect(editDistance([], ['A', 'B'])).toBe(2);
    expect(editDistance(['A', 'B', 'C', 'D'], ['B', 'A', 'D'])).toBe(2);
    const s = scoreG2p(
      [
        ['T', 'AH', 'M', 'EY', 'T', 'OW'],
        ['K', 'AE'],
        ['D', 'AO', 'G'],
      ],
      [
        [
          ['T', 'AH', 'M', 'AA', 'T', 'OW'],
          ['T', 'AH', 'M', 'EY', 'T', 'OW'],
        ],
        [['K', 'AE', 'T']],
        [['D', 'AO', 'G']],
      ],
    );
    expect(s).toMatchObject({ words: 3, wordErrors: 1, phonemeEdits: 1, referencePhonemes: 12 });
    expect(s.wer).toBeCloseTo(1 / 3, 12);
    expect(s.per).toBeCloseTo(1 / 12, 12);
  });
});
