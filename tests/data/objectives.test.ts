import { describe, expect, it } from 'vitest';
import { bartNoise, poissonSpanLengths } from '../../src/data/bart-noise.js';
import { padBatch, padSequences } from '../../src/data/batch.js';
import { clmBatches, packClm } from '../../src/data/clm.js';
import { IGNORE_INDEX, maskBatch, maskTokens } from '../../src/data/mlm.js';
import { buildNspInstances, packFullSentences, packSingleSegments } from '../../src/data/nsp.js';
import { Rng } from '../../src/rng.js';
import { randomSegmentation, randomSpansNoiseMask, spanCorruption } from '../../src/data/span-corruption.js';
import { SequenceTooLongError, TokenIdError } from '../../src/errors.js';

const PAD = 0,
  UNK = 100,
  CLS = 101,
  SEP = 102,
  MASK = 103,
  V = 30_522;
const SPECIAL = [PAD, UNK, CLS, SEP, MASK];

/** Random ids in [1000, V) — never special. */
function randomIds(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => 1000 + rng.int(V - 1000));
}

describe('MLM masking', () => {
  it('chooses 15 % of maskable tokens, 80/10/10, never specials or padding, labels exactly there', () => {
    const rng = new Rng(11);
    const T = 128;
    let maskable = 0,
      chosen = 0,
      toMask = 0,
      toRandom = 0,
      kept = 0,
      bad = 0;
    for (let seq = 0; seq < 1000; seq++) {
      // [CLS] body [SEP] [PAD]…, body length 20..125: 128k positions, ~73k maskable.
      const len = 20 + rng.int(106);
      const ids = [CLS, ...randomIds(rng, len), SEP, ...new Array(T - len - 2).fill(PAD)];
      const { inputIds, labels } = maskTokens(ids, rng.fork(seq), {
        maskProb: 0.15,
        maskId: MASK,
        vocabSize: V,
        specialIds: SPECIAL,
      });
      maskable += len;
      for (let t = 0; t < T; t++) {
        const special = SPECIAL.includes(ids[t]!);
        if (labels[t] === IGNORE_INDEX) {
          if (inputIds[t] !== ids[t]) bad++; // untouched outside the chosen positions
          continue;
        }
        chosen++;
        if (special || labels[t] !== ids[t]) bad++;
        if (inputIds[t] === MASK) toMask++;
        else if (inputIds[t] === ids[t]) kept++;
        else {
          toRandom++;
          if (SPECIAL.includes(inputIds[t]!) || inputIds[t]! < 0 || inputIds[t]! >= V) bad++;
        }
      }
    }
    expect(maskable).toBeGreaterThan(70_000);
    expect(bad).toBe(0);
    expect(Math.abs(chosen / maskable - 0.15)).toBeLessThan(0.005);
    expect(Math.abs(toMask / chosen - 0.8)).toBeLessThan(0.015);
    expect(Math.abs(toRandom / chosen - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(kept / chosen - 0.1)).toBeLessThan(0.015); // a random id equal to the original counts as kept: ~1e-5
  });

  it('is 15 % over 100k+ tokens of one long stream, and reproducible per seed', () => {
    const rng = new Rng(12);
    const ids = randomIds(rng, 120_000);
    const a = maskTokens(ids, new Rng(5), { maskProb: 0.15, maskId: MASK, vocabSize: V, specialIds: SPECIAL });
    const b = maskTokens(ids, new Rng(5), { maskProb: 0.15, maskId: MASK, vocabSize: V, specialIds: SPECIAL });
    expect(a.labels.every((l, i) => l === b.labels[i])).toBe(true);
    expect(a.inputIds.every((x, i) => x === b.inputIds[i])).toBe(true);
    expect(a.labels.filter((l) => l !== IGNORE_INDEX).length).toBe(18_000);
  });

  it('whole-word masking takes whole words and stays at or under the rate', () => {
    const rng = new Rng(13);
    let chosen = 0,
      total = 0,
      split = 0;
    for (let seq = 0; seq < 300; seq++) {
      const ids = randomIds(rng, 100);
      const starts = ids.map((_, i) => (i === 0 || rng.float() < 0.6 ? 1 : 0));
      const { labels } = maskTokens(ids, rng, {
        maskProb: 0.15,
        maskId: MASK,
        vocabSize: V,
        specialIds: SPECIAL,
        wholeWord: starts,
      });
      total += 100;
      for (let t = 0; t < 100; t++) {
        if (labels[t] !== IGNORE_INDEX) chosen++;
        // every piece of a chosen word is chosen
        if (t > 0 && !starts[t] && (labels[t] === IGNORE_INDEX) !== (labels[t - 1] === IGNORE_INDEX)) split++;
      }
    }
    expect(split).toBe(0);
    expect(chosen / total).toBeLessThanOrEqual(0.15);
    expect(chosen / total).toBeGreaterThan(0.13);
  });

  it('masks batches row by row and rejects ids outside the vocabulary', () => {
    const ids = Int32Array.from([
      CLS,
      2000,
      2001,
      2002,
      2003,
      2004,
      2005,
      SEP,
      CLS,
      3000,
      3001,
      SEP,
      PAD,
      PAD,
      PAD,
      PAD,
    ]);
    const { labels } = maskBatch(ids, 8, new Rng(1), {
      maskProb: 0.5,
      maskId: MASK,
      vocabSize: V,
      specialIds: SPECIAL,
    });
    expect(labels.subarray(0, 8).filter((l) => l !== IGNORE_INDEX).length).toBe(3);
    expect(labels.subarray(8).filter((l) => l !== IGNORE_INDEX).length).toBe(1);
    expect(() =>
      maskTokens([5, V], new Rng(1), { maskProb: 0.15, maskId: MASK, vocabSize: V, specialIds: SPECIAL }),
    ).toThrow(TokenIdError);
  });
});

describe('NSP pairs', () => {
  // 400 documents of 60 sentences of 5..30 ids.
  const gen = new Rng(21);
  const docs = Array.from({ length: 400 }, () => Array.from({ length: 60 }, () => randomIds(gen, 5 + gen.int(26))));

  it('builds [CLS] A [SEP] B [SEP] with segment ids 0 then 1, ≤ maxLen, labels 50 ± 2 %', () => {
    const maxLen = 128;
    const inst = buildNspInstances(docs, new Rng(22), { maxLen, clsId: CLS, sepId: SEP });
    expect(inst.length).toBeGreaterThan(3000);
    let notNext = 0,
      bad = 0;
    for (const x of inst) {
      const L = x.inputIds.length;
      const seps = [...x.inputIds.keys()].filter((i) => x.inputIds[i] === SEP);
      const first = seps[0]!;
      if (L > maxLen || x.inputIds[0] !== CLS || seps.length !== 2 || seps[1] !== L - 1 || first < 2 || first > L - 3)
        bad++;
      for (let i = 0; i < L; i++) if (x.tokenTypeIds[i] !== (i <= first ? 0 : 1)) bad++;
      if (x.inputIds.includes(CLS, 1)) bad++;
      notNext += x.nextSentenceLabel;
    }
    expect(bad).toBe(0);
    expect(Math.abs(notNext / inst.length - 0.5)).toBeLessThan(0.02);
  });

  it('IsNext pairs are contiguous text of one document', () => {
    const small = docs
      .slice(0, 50)
      .map((d, di) => d.map((s, si) => s.map((_, k) => 1_000_000 + di * 10_000 + si * 100 + k)));
    const inst = buildNspInstances(small, new Rng(23), { maxLen: 512, clsId: CLS, sepId: SEP, shortSeqProb: 0 });
    let checked = 0,
      bad = 0;
    for (const x of inst) {
      if (x.nextSentenceLabel !== 0) continue;
      const body = [...x.inputIds].filter((id) => id !== CLS && id !== SEP);
      // ids encode (document, sentence, position): B must continue A's document, in order
      for (let i = 1; i < body.length; i++) {
        if (Math.floor(body[i]! / 10_000) !== Math.floor(body[0]! / 10_000) || body[i]! <= body[i - 1]!) bad++;
      }
      checked++;
    }
    expect(bad).toBe(0);
    expect(checked).toBeGreaterThan(20);
  });

  it('packs single segments without NSP', () => {
    const out = packSingleSegments(docs.slice(0, 20), { maxLen: 64, clsId: CLS, sepId: SEP });
    const tokens = docs.slice(0, 20).flat(2).length;
    expect(out.reduce((a, x) => a + x.inputIds.length - 2, 0)).toBe(tokens);
    for (const x of out) {
      expect(x.inputIds.length).toBeLessThanOrEqual(64);
      expect(x.inputIds[0]).toBe(CLS);
      expect(x.inputIds[x.inputIds.length - 1]).toBe(SEP);
      expect(x.tokenTypeIds.every((t) => t === 0)).toBe(true);
    }
  });

  it("packs full sentences across documents (RoBERTa's FULL-SENTENCES): every token once, in order, </s> between documents", () => {
    // ids encode (document, sentence, position); a few sentences longer than a sequence, and an empty document
    const numbered = docs
      .slice(0, 30)
      .map((d, di) => d.slice(0, 1 + (di % 7)).map((s, si) => s.map((_, k) => 1_000_000 + di * 10_000 + si * 100 + k)));
    numbered[3]!.push(Array.from({ length: 75 }, (_, k) => 1_000_000 + 3 * 10_000 + 99 * 100 + k));
    numbered[5] = [];
    const maxLen = 64;
    const out = packFullSentences(numbered, { maxLen, clsId: CLS, sepId: SEP });
    const stream: number[] = [];
    let crossings = 0;
    out.forEach((x, i) => {
      const body = [...x.inputIds.subarray(1, -1)];
      expect(x.inputIds[0]).toBe(CLS);
      expect(x.inputIds.at(-1)).toBe(SEP);
      expect(x.inputIds.length).toBeLessThanOrEqual(maxLen);
      expect(x.tokenTypeIds.every((t) => t === 0)).toBe(true);
      // a separator only between two documents' sentences, never at either end
      body.forEach((id, k) => {
        if (id !== SEP) return;
        crossings++;
        expect(k > 0 && k < body.length - 1).toBe(true);
        expect(Math.floor(body[k + 1]! / 10_000)).toBeGreaterThan(Math.floor(body[k - 1]! / 10_000));
      });
      // every sequence but the last is full to within one sentence and its separator (≤ 31 tokens)
      if (i < out.length - 1) expect(body.length).toBeGreaterThanOrEqual(maxLen - 2 - 31);
      stream.push(...body.filter((id) => id !== SEP));
    });
    expect(stream).toEqual(numbered.flat(2));
    expect(crossings).toBeGreaterThan(10);
    // packed per document, the same sentences take more sequences
    expect(packSingleSegments(numbered, { maxLen, clsId: CLS, sepId: SEP }).length).toBeGreaterThan(out.length);
  });
});

describe('T5 span corruption', () => {
  const SENT0 = 32_099,
    EOS = 1;

  it('segments uniformly into non-empty parts', () => {
    const rng = new Rng(31);
    for (let i = 0; i < 200; i++) {
      const m = 1 + rng.int(50),
        k = 1 + rng.int(m);
      const parts = randomSegmentation(m, k, rng);
      expect(parts.length).toBe(k);
      expect(parts.reduce((a, b) => a + b, 0)).toBe(m);
      expect(Math.min(...parts)).toBeGreaterThan(0);
    }
  });

  it('noise density 0.15 ± 0.01, mean span 3 ± 0.3, and the original is rebuilt exactly', () => {
    const rng = new Rng(32);
    let noise = 0,
      tokens = 0,
      spans = 0,
      bad = 0;
    for (let i = 0; i < 2000; i++) {
      const n = 50 + rng.int(463);
      const ids = randomIds(rng, n);
      const { inputIds, labels } = spanCorruption(ids, rng, { firstSentinelId: SENT0, eosId: EOS });
      const isSentinel = (id: number): boolean => id > SENT0 - 1000 && id <= SENT0;
      // Rebuild: walk the input; at sentinel s, splice in the target tokens after s up to the next sentinel.
      const spansOf = new Map<number, number[]>();
      let cur: number[] | null = null;
      for (const id of labels.subarray(0, labels.length - 1)) {
        if (isSentinel(id)) spansOf.set(id, (cur = []));
        else cur!.push(id);
      }
      const rebuilt: number[] = [];
      for (const id of inputIds.subarray(0, inputIds.length - 1)) {
        if (isSentinel(id)) rebuilt.push(...spansOf.get(id)!);
        else rebuilt.push(id);
      }
      if (rebuilt.join() !== ids.join() || inputIds[inputIds.length - 1] !== EOS || labels[labels.length - 1] !== EOS)
        bad++;
      // sentinels count down from <extra_id_0>
      const sentinels = [...labels].filter(isSentinel);
      if (sentinels.some((s, k) => s !== SENT0 - k)) bad++;
      noise += labels.length - 1 - sentinels.length;
      spans += sentinels.length;
      tokens += n;
    }
    expect(bad).toBe(0);
    expect(Math.abs(noise / tokens - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(noise / spans - 3)).toBeLessThan(0.3);
  });

  it('handles tiny inputs', () => {
    expect(randomSpansNoiseMask(0, new Rng(1)).length).toBe(0);
    expect([...randomSpansNoiseMask(1, new Rng(1))]).toEqual([0]);
    const m = randomSpansNoiseMask(2, new Rng(1));
    expect(m[0]! + m[1]!).toBe(1);
  });
});

describe('BART noise', () => {
  const MASK_ID = 50_264,
    BOS = 0,
    EOS = 2;

  it('masks 30 % in Poisson(3) spans, one <mask> per span, target = original', () => {
    const rng = new Rng(41);
    let masked = 0,
      tokens = 0,
      zero = 0,
      spans = 0,
      spanSum = 0,
      bad = 0;
    for (let i = 0; i < 1000; i++) {
      const sentences = Array.from({ length: 3 + rng.int(8) }, () => randomIds(rng, 5 + rng.int(25)));
      const original = sentences.flat();
      const { inputIds, labels, spanLengths } = bartNoise(sentences, rng, { maskId: MASK_ID, bosId: BOS, eosId: EOS });
      if ([...labels].join() !== [BOS, ...original, EOS].join()) bad++;
      const masks = [...inputIds].filter((id) => id === MASK_ID).length;
      if (masks !== spanLengths.length) bad++;
      const m = spanLengths.reduce((a, b) => a + b, 0);
      if (inputIds.length !== original.length + 2 - m + masks) bad++;
      masked += m;
      tokens += original.length;
      // Includes each draw's last span, cut to hit the total exactly (pulls the mean down a little).
      for (const l of spanLengths) {
        spans++;
        spanSum += l;
        if (l === 0) zero++;
      }
    }
    expect(bad).toBe(0);
    expect(Math.abs(masked / tokens - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(spanSum / spans - 3)).toBeLessThan(0.3);
    expect(Math.abs(zero / spans - Math.exp(-3))).toBeLessThan(0.015);
  });

  it('draws span lengths with the Poisson(3) shape before the last one is cut', () => {
    const rng = new Rng(42);
    const hist = new Float64Array(12);
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const l = poissonSpanLengths(300, 3, rng);
      l.pop(); // the cut one
      for (const x of l) {
        hist[Math.min(x, 11)]!++;
        n++;
      }
    }
    let fact = 1;
    for (let k = 0; k < 8; k++) {
      if (k > 0) fact *= k;
      const p = (Math.exp(-3) * 3 ** k) / fact;
      expect(Math.abs(hist[k]! / n - p)).toBeLessThan(0.01);
    }
  });

  it('permutes sentences (kept tokens are a reordering of the sentences)', () => {
    const sentences = Array.from({ length: 6 }, (_, s) => Array.from({ length: 10 }, (_, k) => 1000 + s * 100 + k));
    const { inputIds } = bartNoise(sentences, new Rng(43), { maskId: MASK_ID, maskRatio: 0 });
    const firstOf = [...inputIds].filter((_, i) => i % 10 === 0).map((id) => Math.floor((id - 1000) / 100));
    expect([...firstOf].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(firstOf).not.toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('CLM packing', () => {
  it('windows cover the stream, labels are inputs shifted by one', () => {
    const rng = new Rng(51);
    const EOS = 2;
    const docs = Array.from({ length: 40 }, () => randomIds(rng, rng.int(300)));
    const stream = docs.flatMap((d) => [...d, EOS]);
    const T = 64;
    const packed = packClm(docs, { eosId: EOS, contextLength: T });
    expect(packed.N).toBe(Math.floor((stream.length - 1) / T));
    expect(packed.N * T + 1 + packed.droppedTokens).toBe(stream.length);
    const seen = new Int32Array(packed.N);
    for (const batch of clmBatches(packed, rng, 7)) {
      for (let b = 0; b < batch.B; b++) {
        const inp = batch.inputIds.subarray(b * T, (b + 1) * T);
        const lab = batch.labels.subarray(b * T, (b + 1) * T);
        expect([...lab.subarray(0, T - 1)]).toEqual([...inp.subarray(1)]);
        // locate the window in the stream: windows start at multiples of T
        const n = [...Array(packed.N).keys()].find(
          (k) => stream[k * T] === inp[0] && stream.slice(k * T, k * T + T).join() === inp.join(),
        )!;
        expect(stream.slice(n * T + 1, n * T + T + 1)).toEqual([...lab]);
        seen[n]!++;
      }
    }
    expect([...seen].every((c) => c === 1)).toBe(true);
  });

  it('drops the last partial batch on request', () => {
    const packed = packClm([Array.from({ length: 100 }, (_, i) => 10 + i)], { eosId: 2, contextLength: 10 });
    expect([...clmBatches(packed, new Rng(1), 4)].map((b) => b.B)).toEqual([4, 4, 2]);
    expect([...clmBatches(packed, new Rng(1), 4, true)].map((b) => b.B)).toEqual([4, 4]);
  });
});

describe('padding', () => {
  it('pads to the longest or to a fixed length with an attention mask', () => {
    const p = padBatch([[5, 6, 7], [8], []], 0);
    expect(p.T).toBe(3);
    expect([...p.inputIds]).toEqual([5, 6, 7, 8, 0, 0, 0, 0, 0]);
    expect([...p.attentionMask]).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0]);
    const f = padSequences([[1, 2]], -100, { length: 4 });
    expect([...f.data]).toEqual([1, 2, -100, -100]);
    expect(() => padBatch([[1, 2, 3]], 0, { length: 2 })).toThrow(SequenceTooLongError);
    expect([...padBatch([[1, 2, 3]], 0, { length: 2, truncate: true }).inputIds]).toEqual([1, 2]);
  });
});
