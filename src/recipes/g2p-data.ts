/**
 * Grapheme-to-phoneme as text to text: the source is the word's letters, lower case and separated by
 * spaces (`c a t`), the target its stress-free ARPAbet phonemes separated by spaces (`K AE T`), each
 * ended by eos. With a model trained from scratch the tokenizer is a word-level one over exactly those
 * symbols (`g2pTokenizer`); a pre-trained checkpoint's own tokenizer reads the same strings.
 * Scoring: a word is right if the output equals any of its pronunciations (WER counts the others);
 * phoneme errors are the edit distance to the closest pronunciation, over that pronunciation's length
 * (PER = Σ distances / Σ lengths).
 */
import type { TokenizerJson } from '../tokenizers/bpe.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { CmuEntry } from '../data/cmudict.js';

/** Special tokens in T5's order: pad 0, eos 1, unk 2 (so a T5 config's defaults fit). */
export const G2P_SPECIALS = ['<pad>', '</s>', '<unk>'] as const;

export const g2pSource = (word: string): string => [...word.toLowerCase()].join(' ');
export const g2pTarget = (phonemes: readonly string[]): string => phonemes.join(' ');

/** A word-level tokenizer.json over the specials, every letter of the words, and every phoneme. */
export function g2pTokenizer(entries: readonly CmuEntry[]): TokenizerJson {
  const letters = new Set<string>();
  const phones = new Set<string>();
  for (const e of entries) {
    for (const c of e.word.toLowerCase()) letters.add(c);
    for (const p of e.phonemes) phones.add(p);
  }
  const symbols = [...G2P_SPECIALS, ...[...letters].sort(), ...[...phones].sort()];
  if (new Set(symbols).size !== symbols.length) throw new Error('g2p: a letter and a phoneme share a symbol');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: G2P_SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(symbols.map((s, i) => [s, i])), unk_token: '<unk>' },
  };
}

/** Source and target ids of an entry, each ended by eos. */
export function encodeG2p(tok: Tokenizer, e: CmuEntry, eosId: number): { source: number[]; target: number[] } {
  const enc = (s: string) => [...tok.encode(s, undefined, { addSpecialTokens: false }).ids, eosId];
  return { source: enc(g2pSource(e.word)), target: enc(g2pTarget(e.phonemes)) };
}

/** Phonemes of generated ids (eos and anything special dropped). */
export function decodePhonemes(tok: Tokenizer, ids: readonly number[]): string[] {
  return tok.decode(ids, { skipSpecialTokens: true }).trim().toUpperCase().split(/\s+/).filter(Boolean);
}

export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export interface G2pScore {
  words: number;
  wordErrors: number;
  phonemeEdits: number;
  referencePhonemes: number;
  /** Word error rate: words whose output matches none of their pronunciations. */
  wer: number;
  /** Phoneme error rate: edits to the closest pronunciation over its length, summed. */
  per: number;
}

/** Scores one output per word against all of the word's pronunciations. */
export function scoreG2p(outputs: readonly string[][], references: readonly (readonly string[][])[]): G2pScore {
  let wordErrors = 0;
  let edits = 0;
  let length = 0;
  outputs.forEach((out, i) => {
    let best = Infinity;
    let bestLen = 0;
    for (const ref of references[i]!) {
      const d = editDistance(out, ref);
      if (d < best || (d === best && ref.length > bestLen)) {
        best = d;
        bestLen = ref.length;
      }
    }
    if (best > 0) wordErrors++;
    edits += best;
    length += bestLen;
  });
  const words = outputs.length;
  return {
    words,
    wordErrors,
    phonemeEdits: edits,
    referencePhonemes: length,
    wer: wordErrors / Math.max(1, words),
    per: edits / Math.max(1, length),
  };
}
