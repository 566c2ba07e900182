/**
 * BERT sentence pairs for next-sentence prediction, built like Google's `create_instances_from_document`:
 *   - budget maxTokens = maxLen − 3 ([CLS], 2 × [SEP]); the target length is maxTokens, or with
 *     probability `shortSeqProb` (0.1) a uniform length in [2, maxTokens];
 *   - sentences of a document are gathered into a chunk until it reaches the target (or the document
 *     ends); A = the chunk's first k sentences, k uniform in [1, chunk − 1];
 *   - with probability 0.5, or always when the chunk has one sentence, B = consecutive sentences from
 *     a uniformly random start in a uniformly random *other* document, until B reaches target − |A|
 *     (label NotNext = 1), and the chunk's unused sentences go back to be read again; otherwise B = the
 *     rest of the chunk (label IsNext = 0: Hugging Face's `next_sentence_label` 0 means B follows A);
 *   - the pair is cut to maxTokens by removing one token at a time from the longer side, from its front
 *     or back with equal probability.
 * Because single-sentence chunks always take a random B, NotNext is slightly above 50 % (by about half
 * the share of single-sentence chunks: small when documents have many sentences shorter than maxLen).
 * Output `[CLS] A [SEP] B [SEP]`, token type 0 up to and including the first [SEP], 1 after.
 */
import { ArgumentError } from '../errors.js';
import type { Rng } from '../rng.js';

export interface NspOptions {
  maxLen: number;
  clsId: number;
  sepId: number;
  /** Probability of a shorter random target length (BERT: 0.1). */
  shortSeqProb?: number;
}

export interface NspInstance {
  inputIds: Int32Array; // (L ≤ maxLen)
  tokenTypeIds: Int32Array; // (L)
  /** 0 = B is the true continuation of A (IsNext), 1 = B is from another document (NotNext). */
  nextSentenceLabel: 0 | 1;
}

export interface SingleSegmentInstance {
  inputIds: Int32Array; // (L ≤ maxLen)
  tokenTypeIds: Int32Array; // (L) all 0
}

type Doc = readonly ArrayLike<number>[];

function concat(sentences: readonly ArrayLike<number>[]): number[] {
  const out: number[] = [];
  for (const s of sentences) for (let i = 0; i < s.length; i++) out.push(s[i]!);
  return out;
}

function truncatePair(a: number[], b: number[], maxTokens: number, rng: Rng): void {
  while (a.length + b.length > maxTokens) {
    const longer = a.length > b.length ? a : b;
    if (rng.float() < 0.5) longer.shift();
    else longer.pop();
  }
}

/** One pass over every document (call again, with another rng fork, for BERT's `dupe_factor`). */
export function buildNspInstances(documents: readonly Doc[], rng: Rng, opts: NspOptions): NspInstance[] {
  const maxTokens = opts.maxLen - 3;
  if (!Number.isInteger(opts.maxLen) || maxTokens < 2)
    throw new ArgumentError(`NSP maxLen must be an integer ≥ 5, got ${opts.maxLen}`);
  const shortSeqProb = opts.shortSeqProb ?? 0.1;
  const out: NspInstance[] = [];
  for (let d = 0; d < documents.length; d++) {
    const doc = documents[d]!;
    const target = rng.float() < shortSeqProb ? 2 + rng.int(maxTokens - 1) : maxTokens;
    let chunk: ArrayLike<number>[] = [];
    let chunkLen = 0;
    for (let i = 0; i < doc.length; i++) {
      chunk.push(doc[i]!);
      chunkLen += doc[i]!.length;
      if (i !== doc.length - 1 && chunkLen < target) continue;
      const aEnd = chunk.length >= 2 ? 1 + rng.int(chunk.length - 1) : 1;
      const a = concat(chunk.slice(0, aEnd));
      let b: number[];
      let label: 0 | 1;
      if (chunk.length === 1 || rng.float() < 0.5) {
        label = 1;
        const targetB = target - a.length;
        const other = documents.length > 1 ? documents[pickOther(d, documents.length, rng)]! : doc;
        b = [];
        if (other.length > 0) {
          for (let j = rng.int(other.length); j < other.length && b.length < targetB; j++) {
            const s = other[j]!;
            for (let t = 0; t < s.length; t++) b.push(s[t]!);
          }
        }
        i -= chunk.length - aEnd; // unused sentences are read again
      } else {
        label = 0;
        b = concat(chunk.slice(aEnd));
      }
      truncatePair(a, b, maxTokens, rng);
      if (a.length >= 1 && b.length >= 1) out.push(assemblePair(a, b, label, opts));
      chunk = [];
      chunkLen = 0;
    }
  }
  return out;
}

/** A uniform index in [0, n) other than `d`. */
function pickOther(d: number, n: number, rng: Rng): number {
  const r = rng.int(n - 1);
  return r >= d ? r + 1 : r;
}

function assemblePair(a: number[], b: number[], label: 0 | 1, opts: NspOptions): NspInstance {
  const L = a.length + b.length + 3;
  const inputIds = new Int32Array(L);
  const tokenTypeIds = new Int32Array(L);
  inputIds[0] = opts.clsId;
  inputIds.set(a, 1);
  inputIds[a.length + 1] = opts.sepId;
  inputIds.set(b, a.length + 2);
  inputIds[L - 1] = opts.sepId;
  tokenTypeIds.fill(1, a.length + 2);
  return { inputIds, tokenTypeIds, nextSentenceLabel: label };
}

/**
 * Without NSP (RoBERTa's DOC-SENTENCES): `[CLS] s_i s_i+1 … [SEP]`, consecutive sentences of one
 * document packed while they fit in maxLen − 2; a sentence longer than that is cut into pieces that
 * each fill a sequence. Deterministic (no rng): shuffle the result for training.
 */
export function packSingleSegments(documents: readonly Doc[], opts: PackOptions): SingleSegmentInstance[] {
  return packSentences(documents, opts, false);
}

/**
 * RoBERTa's FULL-SENTENCES: the documents' sentences in order as one stream, packed as
 * packSingleSegments packs them, except that a sequence runs on across a document boundary, with a
 * [SEP] (`</s>`) between the two documents (left out where the next sentence starts a new sequence).
 * Every sequence but the last is full to within a sentence. Shuffle the documents for another packing.
 */
export function packFullSentences(documents: readonly Doc[], opts: PackOptions): SingleSegmentInstance[] {
  return packSentences(documents, opts, true);
}

interface PackOptions {
  maxLen: number;
  clsId: number;
  sepId: number;
}

function packSentences(documents: readonly Doc[], opts: PackOptions, acrossDocuments: boolean) {
  const budget = opts.maxLen - 2;
  if (!Number.isInteger(opts.maxLen) || budget < 1)
    throw new ArgumentError(`maxLen must be an integer ≥ 3, got ${opts.maxLen}`);
  const out: SingleSegmentInstance[] = [];
  const emit = (body: number[]): void => {
    if (body.length === 0) return;
    const inputIds = Int32Array.from([opts.clsId, ...body, opts.sepId]);
    out.push({ inputIds, tokenTypeIds: new Int32Array(inputIds.length) });
  };
  let body: number[] = [];
  for (const doc of documents) {
    if (!acrossDocuments) {
      emit(body);
      body = [];
    }
    doc.forEach((s, i) => {
      // the separator between documents, before a document's first sentence when it joins a sequence
      const sep = i === 0 && body.length > 0 ? 1 : 0;
      if (body.length + sep + s.length > budget) {
        emit(body);
        body = [];
      } else if (sep) body.push(opts.sepId);
      let start = 0;
      while (s.length - start > budget) {
        emit(Array.from({ length: budget }, (_, k) => s[start + k]!));
        start += budget;
      }
      for (let t = start; t < s.length; t++) body.push(s[t]!);
    });
  }
  emit(body);
  return out;
}
