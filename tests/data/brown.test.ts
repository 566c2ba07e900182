import { describe, expect, it } from 'vitest';
import {
  brownDocuments,
  brownPosDataset,
  brownSentenceText,
  brownText,
  brownToUniversal,
  mostFrequentTagBaseline,
  parseBrownFile,
  reduceBrownTag,
  UNIVERSAL_TAGS,
} from '../../src/data/brown.js';

const docs = brownDocuments(); // read once (~0.5 s)

describe('Brown corpus', () => {
  it('has 500 documents, 57,340 sentences, 1,161,192 tokens, 15 categories', () => {
    expect(docs.length).toBe(500);
    expect(docs[0]!.id).toBe('ca01');
    expect(docs[0]!.category).toBe('news');
    expect(new Set(docs.map((d) => d.category)).size).toBe(15);
    expect(docs.reduce((a, d) => a + d.sentences.length, 0)).toBe(57_340);
    expect(docs.reduce((a, d) => a + d.sentences.reduce((b, s) => b + s.length, 0), 0)).toBe(1_161_192);
    expect(docs[0]!.sentences[0]!.slice(0, 2)).toEqual([
      { word: 'The', tag: 'at' },
      { word: 'Fulton', tag: 'np-tl' },
    ]);
  });

  it('maps every token into the 12 universal tags with the counts NLTK gives', () => {
    const counts = new Map<string, number>();
    for (const d of docs)
      for (const s of d.sentences)
        for (const t of s) {
          const u = brownToUniversal(t.tag);
          counts.set(u, (counts.get(u) ?? 0) + 1);
        }
    expect([...counts.keys()].every((t) => (UNIVERSAL_TAGS as readonly string[]).includes(t))).toBe(true);
    // brown.tagged_words(tagset='universal') in NLTK:
    expect(Object.fromEntries(counts)).toEqual({
      NOUN: 275_558,
      VERB: 182_750,
      '.': 147_565,
      ADP: 144_766,
      DET: 137_019,
      ADJ: 83_721,
      ADV: 56_239,
      PRON: 49_334,
      CONJ: 38_151,
      PRT: 29_829,
      NUM: 14_874,
      X: 1_386,
    });
  });

  it('reduces compound tags for tags the map does not list', () => {
    expect(reduceBrownTag('nn-tl-hl')).toBe('NN');
    expect(reduceBrownTag('ppss+bem')).toBe('PPSS');
    expect(reduceBrownTag('bedz*')).toBe('BEDZ');
    expect(reduceBrownTag('*')).toBe('*');
    expect(reduceBrownTag('fw-nn')).toBe('FW');
    expect(brownToUniversal('vbd-tl-hl-nc')).toBe('VERB'); // not in the map: reduced to VBD
    expect(brownToUniversal('fw-xyz')).toBe('X');
    expect(brownToUniversal('ppss+bem')).toBe('PRT'); // in the map: the map wins
    expect(brownToUniversal('nonsense')).toBe('X');
  });

  it('parses word/tag at the last slash and detokenises text', () => {
    expect(parseBrownFile('\n\n\t1/2/cd of/in it/pps ./.\n')).toEqual([
      [
        { word: '1/2', tag: 'cd' },
        { word: 'of', tag: 'in' },
        { word: 'it', tag: 'pps' },
        { word: '.', tag: '.' },
      ],
    ]);
    expect(() => parseBrownFile('word')).toThrow(/not word\/tag/);
    const s = [
      ['``', '``'],
      ['Only', 'rb'],
      ['so', 'rb'],
      ["''", "''"],
      [',', ','],
      ['(', '('],
      ['he', 'pps'],
      [')', ')'],
      ['said', 'vbd'],
      ['.', '.'],
    ];
    expect(brownSentenceText(s.map(([word]) => ({ word: word! })))).toBe('"Only so", (he) said.');
    expect(brownText(docs[0]!).split('\n')[0]).toBe(
      'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
    );
  });

  it('splits by document: deterministic, disjoint, about 80/10/10', () => {
    const a = brownPosDataset(docs);
    const b = brownPosDataset(docs);
    const ids = (xs: { docId: string }[]): Set<string> => new Set(xs.map((x) => x.docId));
    const [tr, va, te] = [ids(a.train), ids(a.validation), ids(a.test)];
    expect([tr.size, va.size, te.size]).toEqual([397, 56, 47]);
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([45_405, 6_489, 5_446]);
    expect([...tr].filter((x) => va.has(x) || te.has(x))).toEqual([]);
    expect([...va].filter((x) => te.has(x))).toEqual([]);
    expect(b.test.map((s) => s.words.join(' '))).toEqual(a.test.map((s) => s.words.join(' ')));
    expect(a.train[0]!.words.length).toBe(a.train[0]!.tags.length);
  });

  it('most-frequent-tag baseline scores ~94 % on the test documents', () => {
    const { train, test } = brownPosDataset(docs);
    const acc = mostFrequentTagBaseline(train, test);
    expect(acc).toBeGreaterThan(0.93);
    expect(acc).toBeLessThan(0.95);
  });
});
