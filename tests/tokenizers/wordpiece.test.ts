import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { bertWords, trainWordPiece } from '../../src/tokenizers/wordpiece.js';

const CORPUS = [
  "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced no evidence.",
  'The jury further said in term-end presentments that the City Executive Committee deserves the praise and thanks of the City.',
  "Café société: naïve résumé! The jury's investigation, the jurors' investigations; investigating investigators.",
  '中文句子很好。日本語も。 The end.',
];

describe('WordPiece', () => {
  const json = trainWordPiece(CORPUS, { vocabSize: 150, minFrequency: 1 });
  const tok = Tokenizer.fromJson(json);

  it('has exactly the vocabulary asked for, the special tokens first', () => {
    expect(tok.vocabSize).toBe(150);
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 1, 2, 3, 4]);
  });

  it('encodes a pair as [CLS] A [SEP] B [SEP] with token type ids 0 then 1', () => {
    const e = tok.encode('the jury said', 'the city');
    const tokens = e.ids.map((i) => tok.idToToken(i));
    expect(tokens[0]).toBe('[CLS]');
    const seps = tokens.flatMap((t, i) => (t === '[SEP]' ? [i] : []));
    expect(seps.length).toBe(2);
    expect(seps[1]).toBe(tokens.length - 1);
    expect(e.tokenTypeIds.slice(0, seps[0]! + 1).every((t) => t === 0)).toBe(true);
    expect(e.tokenTypeIds.slice(seps[0]! + 1).every((t) => t === 1)).toBe(true);
    expect(e.attentionMask.every((m) => m === 1)).toBe(true);
  });

  it('splits rare words into ## continuation pieces; CJK characters are one token each; unknown characters are [UNK]', () => {
    const pieces = tok.encode('juryx', undefined, { addSpecialTokens: false }).ids.map((i) => tok.idToToken(i)!);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.slice(1).every((p) => p.startsWith('##'))).toBe(true);
    // a word of a pre-split text (tagging) is read as it is: no space before it, unlike byte-level BPE
    expect(tok.encodeWord('juryx').map((i) => tok.idToToken(i))).toEqual(pieces);
    const cjk = tok.encode('中文句', undefined, { addSpecialTokens: false }).ids.map((i) => tok.idToToken(i));
    expect(cjk).toEqual(['中', '文', '句']);
    const unk = tok.encode('the ☃ jury', undefined, { addSpecialTokens: false }).ids.map((i) => tok.idToToken(i));
    expect(unk).toEqual(['the', '[UNK]', 'jury']);
  });

  it('lower-cases and strips accents when asked, and not otherwise', () => {
    expect(bertWords('Café Naïve', true, true)).toEqual(['cafe', 'naive']);
    expect(bertWords('Café Naïve', false, false)).toEqual(['Café', 'Naïve']);
    expect(bertWords("jury's (end).", true, true)).toEqual(['jury', "'", 's', '(', 'end', ')', '.']);
    const cased = Tokenizer.fromJson(trainWordPiece(CORPUS, { vocabSize: 300, lowercase: false, minFrequency: 1 }));
    const ids = cased.encode('The', undefined, { addSpecialTokens: false }).ids;
    expect(cased.idToToken(ids[0]!)!.startsWith('T')).toBe(true);
    expect(tok.idToToken(tok.encode('The', undefined, { addSpecialTokens: false }).ids[0]!)).toBe('the');
  });

  it('decoding the pieces gives the normalised text back (the same characters; spaces as the decoder puts them)', () => {
    const rng = new Rng(3);
    const words = bertWords(CORPUS.join(' '), true, true);
    for (let n = 0; n < 100; n++) {
      const text = Array.from({ length: 1 + rng.int(12) }, () => words[rng.int(words.length)]!).join(' ');
      const decoded = tok.decode(tok.encode(text).ids, { skipSpecialTokens: true });
      expect(decoded.replace(/\s/g, '')).toBe(bertWords(text, true, true).join(''));
    }
  });

  it('trains an 8,000-piece vocabulary on the Brown corpus (exactly that many)', async () => {
    const { brownDocuments, brownText } = await import('../../src/data/brown.js');
    const big = Tokenizer.fromJson(trainWordPiece(brownDocuments().map(brownText), { vocabSize: 8000 }));
    expect(big.vocabSize).toBe(8000);
    // common words are whole pieces; a rare one splits into ## continuations
    const pieces = (t: string) =>
      big.encode(t, undefined, { addSpecialTokens: false }).ids.map((i) => big.idToToken(i)!);
    expect(pieces('the jury said it was')).toEqual(['the', 'jury', 'said', 'it', 'was']);
    const rare = pieces('unbelievableness');
    expect(rare.length).toBeGreaterThan(1);
    expect(rare.slice(1).every((p) => p.startsWith('##'))).toBe(true);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(trainWordPiece(CORPUS, { vocabSize: 150, minFrequency: 1 }))).toBe(JSON.stringify(json));
  });
});
