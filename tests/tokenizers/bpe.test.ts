import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { robertaBpe, trainBpe } from '../../src/tokenizers/bpe.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { fixtureDir } from '../io/fixtures.js';

const FIXTURE = join(fixtureDir('hf-tiny-random-gpt2'), 'tokenizer.json');

const CORPUS = [
  "The jury said it did find that many of Georgia's registration and election laws are outmoded or inadequate.",
  'It recommended that Fulton legislators act to have these laws studied and revised to the end of modernizing them.',
  'The grand jury commented on a number of other topics, among them the Atlanta and Fulton County purchasing departments.',
  '中文的句子，还有 emoji 😀🎉 and numbers 12345 and tabs\tand\r\nnewlines.',
];

/** Random text: code points from every plane, control characters, whitespace runs, combining marks. */
function randomText(rng: Rng): string {
  const pools = [
    () => String.fromCodePoint(rng.int(0x20)), // control characters, NUL included
    () => ' '.repeat(1 + rng.int(5)),
    () => '\t\r\n'[rng.int(3)]!,
    () => String.fromCodePoint(0x20 + rng.int(0x5f)),
    () => String.fromCodePoint(0x4e00 + rng.int(0x5000)), // CJK
    () => String.fromCodePoint(0x1f300 + rng.int(0x300)), // emoji (astral)
    () => 'e\u0301', // combining accent
    () => String.fromCodePoint(0x10000 + rng.int(0xfffff - 0x10000)).replace(/[\ud800-\udfff]/g, ''),
  ];
  let s = '';
  const n = rng.int(40);
  for (let i = 0; i < n; i++) s += pools[rng.int(pools.length)]!();
  return s;
}

describe('byte-level BPE', () => {
  const tok = Tokenizer.fromJson(trainBpe(CORPUS, { vocabSize: 300, specialTokens: ['<|endoftext|>'] }));

  it('has exactly the vocabulary size asked for, the special token last', () => {
    expect(tok.vocabSize).toBe(300);
    expect(tok.eosId).toBe(299);
    expect(tok.tokenToId('<|endoftext|>')).toBe(299);
  });

  it('round-trips any UTF-8 text exactly (500 random strings, every plane, control characters)', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 500; i++) {
      const s = randomText(rng);
      const ids = tok.encode(s, undefined, { addSpecialTokens: false }).ids;
      expect(tok.decode(ids)).toBe(s);
    }
  });

  it('a 256-token vocabulary is one id per byte', () => {
    const bytes = Tokenizer.fromJson(trainBpe(CORPUS, { vocabSize: 256 }));
    for (const s of ['héllo 😀', 'abc', '\u0000\u0001 x', '中文']) {
      const ids = bytes.encode(s, undefined, { addSpecialTokens: false }).ids;
      expect(ids.length).toBe(new TextEncoder().encode(s).length);
      expect(bytes.decode(ids)).toBe(s);
    }
  });

  it('learns the obvious merges first, most frequent pair first', () => {
    const json = trainBpe(['aaab aaab aaab abab'], { vocabSize: 259, minFrequency: 1 });
    const merges = (json.model as { merges: [string, string][] }).merges;
    // pre-tokens: "aaab" once, " aaab" twice, " abab" once. Pairs: (a,a) 6, (a,b) 5, (Ġ,a) 3 …
    expect(merges[0]).toEqual(['a', 'a']);
    expect(merges.length).toBe(3);
  });

  it('is deterministic and its JSON loads back to the same encodings', () => {
    const a = trainBpe(CORPUS, { vocabSize: 300 });
    const b = trainBpe(CORPUS, { vocabSize: 300 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const back = Tokenizer.fromJson(JSON.stringify(tok.toJson()));
    for (const s of CORPUS) expect(back.encode(s).ids).toEqual(tok.encode(s).ids);
  });

  it('reads the tokenizer.json written by Hugging Face tokenizers', () => {
    const hf = Tokenizer.fromJson(readFileSync(FIXTURE, 'utf8'));
    expect(hf.vocabSize).toBe(1000);
    expect(hf.eosId).toBe(0);
    // its 1,000-token vocabulary lacks many bytes (a truncated test vocabulary): English text only
    for (const s of CORPUS.slice(0, 3)) {
      const ids = hf.encode(s, undefined, { addSpecialTokens: false }).ids;
      expect(hf.decode(ids)).toBe(s);
      expect(ids.every((i) => i >= 0 && i < 1000)).toBe(true);
    }
    // " t" is the first merge of that file, so " the" never splits between Ġ and t
    const ids = hf.encode(' the', undefined, { addSpecialTokens: false }).ids;
    expect(hf.idToToken(ids[0]!)!.startsWith('Ġt')).toBe(true);
  });
});

describe("RoBERTa's byte-level BPE", () => {
  const tok = Tokenizer.fromJson(robertaBpe([...CORPUS, ...CORPUS], { vocabSize: 320 }));

  it("has RoBERTa's special ids: <s> 0, <pad> 1, </s> 2, <unk> 3, <mask> last", () => {
    expect([tok.clsId, tok.bosId, tok.padId, tok.sepId, tok.eosId, tok.unkId]).toEqual([0, 0, 1, 2, 2, 3]);
    expect(tok.maskId).toBe(tok.vocabSize - 1);
    expect(tok.idToToken(tok.vocabSize - 1)).toBe('<mask>');
    // the byte symbols follow the four leading specials ('!' is byte 33)
    expect(tok.tokenToId('!')).toBe(4 + 33);
  });

  it('encodes <s> A </s> and <s> A </s></s> B </s>, token type 0 throughout (RobertaProcessing as the Rust library runs it)', () => {
    const a = tok.encode('The jury said', undefined, { addSpecialTokens: false }).ids;
    const b = tok.encode('it did find', undefined, { addSpecialTokens: false }).ids;
    expect(tok.encode('The jury said').ids).toEqual([0, ...a, 2]);
    const pair = tok.encode('The jury said', 'it did find');
    expect(pair.ids).toEqual([0, ...a, 2, 2, ...b, 2]);
    expect(pair.tokenTypeIds).toEqual(pair.ids.map(() => 0));
    expect(tok.decode(pair.ids, { skipSpecialTokens: true })).toBe('The jury saidit did find');
  });

  it('round-trips any UTF-8 text (300 random strings)', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 300; i++) {
      const s = randomText(rng);
      expect(tok.decode(tok.encode(s, undefined, { addSpecialTokens: false }).ids)).toBe(s);
    }
  });

  it('a word of a pre-split text gets the ids it has inside running text (the space before it: Ġjury)', () => {
    const running = tok.encode('The jury said', undefined, { addSpecialTokens: false }).ids;
    const first = tok.encode('The', undefined, { addSpecialTokens: false }).ids;
    expect([...first, ...tok.encodeWord('jury'), ...tok.encodeWord('said')]).toEqual(running);
    expect(tok.idToToken(tok.encodeWord('jury')[0]!)!.startsWith('Ġ')).toBe(true);
  });

  it('leading and trailing special tokens must be distinct', () => {
    expect(() => trainBpe(CORPUS, { vocabSize: 300, leadingSpecialTokens: ['<s>'], specialTokens: ['<s>'] })).toThrow(
      /distinct/,
    );
  });
});
