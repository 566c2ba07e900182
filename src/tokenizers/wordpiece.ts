/**
 * WordPiece training for BERT. Text is normalised and pre-tokenised as Hugging Face's BertNormalizer
 * and BertPreTokenizer do (control characters removed, whitespace unified, each CJK character its own
 * word, optional lower-casing and accent stripping, punctuation split off); words start as characters,
 * continuation characters prefixed `##`; then the most frequent adjacent pairs merge (the frequency
 * criterion of Hugging Face's WordPieceTrainer, which trains a BPE with the `##` prefix) until the
 * vocabulary is full. The result is a tokenizer.json: encoding and decoding go through
 * `@huggingface/tokenizers`, with `[CLS] A [SEP] B [SEP]` and token type ids 0/1 for pairs.
 */
import { ArgumentError } from '../errors.js';
import type { TokenizerJson } from './bpe.js';
import { learnMerges, MAX_SYMBOLS } from './merges.js';

export interface WordPieceOptions {
  vocabSize: number;
  /** Lower-case the text. Default true. */
  lowercase?: boolean;
  /** Strip accents (NFD, then drop combining marks). Default: as lowercase, as BERT does. */
  stripAccents?: boolean;
  /** Ids 0, 1, 2… in this order. Default [PAD] [UNK] [CLS] [SEP] [MASK]. */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged. Default 2. */
  minFrequency?: number;
  /** Longer words become [UNK]. Default 100. */
  maxInputCharsPerWord?: number;
  /** Keep at most this many distinct characters (the most frequent); words with others are [UNK]. Default 1000. */
  limitAlphabet?: number;
}

const CJK =
  /[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]/u;
/** BERT's punctuation: Unicode P*, and the ASCII symbol ranges. */
const PUNCT = /[\p{P}!-/:-@[-`{-~]/u;
const CONTROL = /[\p{Cc}\p{Cf}]/u;

/** BertNormalizer + BertPreTokenizer, for training: the words of a text. */
export function bertWords(text: string, lowercase: boolean, stripAccents: boolean): string[] {
  let s = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd) continue;
    if (/\s/u.test(ch)) s += ' ';
    else if (CONTROL.test(ch)) continue;
    else if (CJK.test(ch)) s += ` ${ch} `;
    else s += ch;
  }
  if (stripAccents) s = s.normalize('NFD').replace(/\p{Mn}/gu, '');
  if (lowercase) s = s.toLowerCase();
  const words: string[] = [];
  for (const chunk of s.split(' ')) {
    let cur = '';
    for (const ch of chunk) {
      if (PUNCT.test(ch)) {
        if (cur) words.push(cur);
        words.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) words.push(cur);
  }
  return words;
}

export function trainWordPiece(texts: Iterable<string>, options: WordPieceOptions): TokenizerJson {
  const lowercase = options.lowercase ?? true;
  const stripAccents = options.stripAccents ?? lowercase;
  const specials = options.specialTokens ?? ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const maxChars = options.maxInputCharsPerWord ?? 100;
  for (const required of ['[UNK]', '[CLS]', '[SEP]']) {
    if (!specials.includes(required)) throw new ArgumentError(`specialTokens must include ${required}`);
  }
  if (!Number.isInteger(options.vocabSize) || options.vocabSize <= specials.length || options.vocabSize > MAX_SYMBOLS) {
    throw new ArgumentError(
      `vocabSize must be an integer from ${specials.length + 1} to ${MAX_SYMBOLS}, got ${options.vocabSize}`,
    );
  }
  const freq = new Map<string, number>();
  for (const text of texts) {
    for (const w of bertWords(text, lowercase, stripAccents))
      if ([...w].length <= maxChars) freq.set(w, (freq.get(w) ?? 0) + 1);
  }
  // the alphabet: each character as a word start and as a continuation, in a fixed order
  const symbols: string[] = [...specials];
  const id = new Map<string, number>(symbols.map((s, i) => [s, i]));
  const symbol = (s: string) => {
    let i = id.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      id.set(s, i);
    }
    return i;
  };
  // the alphabet: the most frequent characters (ties by code point), as HF's limit_alphabet
  const charFreq = new Map<string, number>();
  for (const [w, c] of freq) for (const ch of w) charFreq.set(ch, (charFreq.get(ch) ?? 0) + c);
  const kept = new Set(
    [...charFreq]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, options.limitAlphabet ?? 1000)
      .map(([ch]) => ch),
  );
  const entries = [...freq]
    .filter(([w]) => [...w].every((ch) => kept.has(ch)))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const chars = new Set<string>();
  for (const [w] of entries) [...w].forEach((ch, i) => chars.add(i === 0 ? ch : `##${ch}`));
  for (const c of [...chars].sort()) symbol(c);
  if (symbols.length > options.vocabSize) {
    throw new ArgumentError(
      `the texts have ${symbols.length - specials.length} distinct characters (with ## forms), more than vocabSize ${options.vocabSize} allows`,
    );
  }
  const words = entries.map(([w, count]) => ({
    symbols: [...w].map((ch, i) => id.get(i === 0 ? ch : `##${ch}`)!),
    count,
  }));
  learnMerges(words, symbols, options.vocabSize, options.minFrequency ?? 2, (a, b) => a + b.slice(2));
  const vocab: Record<string, number> = {};
  symbols.forEach((s, i) => (vocab[s] = i));
  const token = (t: string) => ({ id: t, ids: [vocab[t]!], tokens: [t] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({
      id: i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: stripAccents,
      lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': token('[CLS]'), '[SEP]': token('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: maxChars,
      vocab,
    },
  };
}
