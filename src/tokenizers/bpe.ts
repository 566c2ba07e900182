/**
 * Byte-level BPE training (GPT-2's scheme): pre-tokenize with GPT-2's pattern, map bytes to the
 * byte-level alphabet, start from the 256 byte symbols, and merge the most frequent adjacent pair until
 * the vocabulary is full. Pair counts are updated incrementally (only the words holding the merged pair
 * are touched) and the best pair comes from a max-heap with lazy deletion, so a 4,096-token vocabulary
 * over the whole Brown corpus trains in seconds. Ties go to the pair whose merged symbols sort first, so
 * training is deterministic. The result is a Hugging Face tokenizer.json object.
 */
import { ArgumentError } from '../errors.js';
import { BYTE_TO_CHAR, GPT2_PATTERN, toByteLevel } from './byte-level.js';

export interface BpeOptions {
  /** Final vocabulary size, special tokens included (≥ 256 + special tokens). */
  vocabSize: number;
  /** Added after the learned tokens, in order (GPT-2's `<|endoftext|>` is its last id). */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged. Default 2. */
  minFrequency?: number;
}

export type TokenizerJson = Record<string, unknown>;

/** A max-heap of (count, pair) with a fixed tie order. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly pairs: number[] = [];
  constructor(private readonly before: (a: number, b: number) => boolean) {}
  get size(): number {
    return this.counts.length;
  }
  private better(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.before(this.pairs[i]!, this.pairs[j]!));
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.pairs[i], this.pairs[j]] = [this.pairs[j]!, this.pairs[i]!];
  }
  push(count: number, pair: number): void {
    this.counts.push(count);
    this.pairs.push(pair);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.pairs[0]!];
    const lastC = this.counts.pop()!;
    const lastP = this.pairs.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.pairs[0] = lastP;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.better(l, m)) m = l;
        if (r < this.counts.length && this.better(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

const SHIFT = 2 ** 20;

export function trainBpe(texts: Iterable<string>, options: BpeOptions): TokenizerJson {
  const specials = options.specialTokens ?? [];
  const minFrequency = options.minFrequency ?? 2;
  const target = options.vocabSize - specials.length;
  if (!Number.isInteger(options.vocabSize) || target < 256 || options.vocabSize > SHIFT) {
    throw new ArgumentError(`vocabSize must be an integer from ${256 + specials.length} (256 bytes + special tokens) to ${SHIFT}, got ${options.vocabSize}`);
  }
  if (new Set(specials).size !== specials.length) throw new ArgumentError('specialTokens must be distinct');

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
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [w, c] of freq) {
    words.push([...w].map((ch) => charId.get(ch)!));
    counts.push(c);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPair = (p: number, wi: number, c: number) => {
    pairCount.set(p, (pairCount.get(p) ?? 0) + c);
    let s = pairWords.get(p);
    if (!s) pairWords.set(p, (s = new Set()));
    s.add(wi);
  };
  words.forEach((w, wi) => {
    for (let i = 0; i + 1 < w.length; i++) addPair(w[i]! * SHIFT + w[i + 1]!, wi, counts[wi]!);
  });
  // ties: the pair whose (left, right) strings sort first
  const before = (a: number, b: number) => {
    const la = symbols[Math.floor(a / SHIFT)]!;
    const lb = symbols[Math.floor(b / SHIFT)]!;
    if (la !== lb) return la < lb;
    return symbols[a % SHIFT]! < symbols[b % SHIFT]!;
  };
  const heap = new PairHeap(before);
  for (const [p, c] of pairCount) heap.push(c, p);

  const merges: [string, string][] = [];
  while (symbols.length < target && heap.size > 0) {
    const [c, p] = heap.pop();
    if (pairCount.get(p) !== c) continue; // stale entry
    if (c < minFrequency) break;
    const a = Math.floor(p / SHIFT);
    const b = p % SHIFT;
    const id = symbols.length;
    symbols.push(symbols[a]! + symbols[b]!);
    merges.push([symbols[a]!, symbols[b]!]);
    const touched = new Map<number, number>();
    const bump = (q: number, delta: number) => touched.set(q, (touched.get(q) ?? 0) + delta);
    for (const wi of pairWords.get(p)!) {
      const w = words[wi]!;
      const wc = counts[wi]!;
      const out: number[] = [];
      let i = 0;
      let changed = false;
      while (i < w.length) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(id);
          i += 2;
          changed = true;
        } else out.push(w[i++]!);
      }
      if (!changed) continue;
      for (let j = 0; j + 1 < w.length; j++) bump(w[j]! * SHIFT + w[j + 1]!, -wc);
      for (let j = 0; j + 1 < out.length; j++) {
        const q = out[j]! * SHIFT + out[j + 1]!;
        bump(q, wc);
        let s = pairWords.get(q);
        if (!s) pairWords.set(q, (s = new Set()));
        s.add(wi);
      }
      words[wi] = out;
    }
    pairWords.delete(p);
    for (const [q, delta] of touched) {
      if (delta === 0) continue;
      const n = (pairCount.get(q) ?? 0) + delta;
      if (n > 0) {
        pairCount.set(q, n);
        heap.push(n, q);
      } else pairCount.delete(q);
    }
  }

  const vocab: Record<string, number> = {};
  symbols.forEach((s, i) => (vocab[s] = i));
  const added = specials.map((content, i) => ({
    id: symbols.length + i,
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
      merges,
    },
  };
}
