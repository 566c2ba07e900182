/**
 * Byte-level BPE training (GPT-2's scheme): pre-tokenize with GPT-2's pattern, map bytes to the
 * byte-level alphabet, start from the 256 byte symbols, and merge the most frequent adjacent pair until
 * the vocabulary is full. Pair counts are updated incrementally (only the words holding the merged pair
 * are touched) and the best pair comes from a max-heap with lazy deletion, so a 4,096-token vocabulary
 * over the whole Brown corpus trains in seconds. Ties go to the pair whose merged symbols sort first, so
 * training is deterministic. The result is a Hugging Face tokenizer.json object. `robertaBpe` gives it
 * RoBERTa's special tokens and pair template.
 */
import { ArgumentError } from '../errors.js';
import { BYTE_TO_CHAR, GPT2_PATTERN, toByteLevel } from './byte-level.js';
import { learnMerges, MAX_SYMBOLS } from './merges.js';

export interface BpeOptions {
  /** Final vocabulary size, special tokens included (≥ 256 + special tokens). */
  vocabSize: number;
  /** Added after the learned tokens, in order (GPT-2's `<|endoftext|>` is its last id). */
  specialTokens?: string[];
  /** Special tokens with the first ids, 0, 1, …, before the byte symbols (RoBERTa's `<s> <pad> </s> <unk>`). */
  leadingSpecialTokens?: string[];
  /** Pairs seen fewer times than this are never merged. Default 2. */
  minFrequency?: number;
}

export type TokenizerJson = Record<string, unknown>;

export function trainBpe(texts: Iterable<string>, options: BpeOptions): TokenizerJson {
  const specials = options.specialTokens ?? [];
  const leading = options.leadingSpecialTokens ?? [];
  const minFrequency = options.minFrequency ?? 2;
  const target = options.vocabSize - specials.length - leading.length;
  if (!Number.isInteger(options.vocabSize) || target < 256 || options.vocabSize > MAX_SYMBOLS) {
    throw new ArgumentError(
      `vocabSize must be an integer from ${256 + specials.length + leading.length} (256 bytes + special tokens) to ${MAX_SYMBOLS}, got ${options.vocabSize}`,
    );
  }
  if (new Set([...leading, ...specials]).size !== specials.length + leading.length)
    throw new ArgumentError('special tokens must be distinct');

  // word frequencies over byte-level pre-tokens
  const freq = new Map<string, number>();
  for (const text of texts) {
    for (const m of text.matchAll(GPT2_PATTERN)) {
      const w = toByteLevel(m[0]);
      freq.set(w, (freq.get(w) ?? 0) + 1);
    }
  }
  const symbols: string[] = [...BYTE_TO_CHAR];
  const charId = new Map(symbols.map((c, i) => [c, i]));
  const merges = learnMerges(
    [...freq].map(([w, c]) => ({ symbols: [...w].map((ch) => charId.get(ch)!), count: c })),
    symbols,
    target,
    minFrequency,
    (a, b) => a + b,
  );

  const vocab: Record<string, number> = {};
  symbols.forEach((s, i) => (vocab[s] = leading.length + i));
  const ids = [...leading.map((_, i) => i), ...specials.map((_, i) => leading.length + symbols.length + i)];
  const added = [...leading, ...specials].map((content, i) => ({
    id: ids[i]!,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  for (const a of added) vocab[a.content] = a.id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => [symbols[a]!, symbols[b]!]),
    },
  };
}

/**
 * A byte-level BPE with RoBERTa's special tokens, as its tokenizer.json has them: `<s>` 0, `<pad>` 1,
 * `</s>` 2, `<unk>` 3 (RobertaConfig's bos, pad and eos ids), `<mask>` last; and its post-processor,
 * `RobertaProcessing`: `<s> A </s>` and `<s> A </s></s> B </s>`, token type 0 throughout.
 */
export function robertaBpe(
  texts: Iterable<string>,
  options: Pick<BpeOptions, 'vocabSize' | 'minFrequency'>,
): TokenizerJson {
  const json = trainBpe(texts, {
    ...options,
    leadingSpecialTokens: ['<s>', '<pad>', '</s>', '<unk>'],
    specialTokens: ['<mask>'],
  });
  return {
    ...json,
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', 2],
      cls: ['<s>', 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
  };
}
