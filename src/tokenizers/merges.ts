/**
 * The merge loop shared by the BPE and WordPiece trainers: words as symbol ids with counts; the most
 * frequent adjacent pair is merged until the vocabulary is full. Pair counts are updated incrementally
 * (only words holding the merged pair are touched) and the best pair comes from a max-heap with lazy
 * deletion. Ties go to the pair whose symbols sort first, so training is deterministic.
 */
export const MAX_SYMBOLS = 2 ** 20;
const SHIFT = MAX_SYMBOLS;

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

export interface Word {
  symbols: number[];
  count: number;
}

/**
 * Merges pairs until `symbols` holds `target` entries (it grows in place: merged symbol names come from
 * `join`) or no pair is seen `minFrequency` times. Returns the merges as pairs of symbol ids, in order.
 */
export function learnMerges(
  words: Word[],
  symbols: string[],
  target: number,
  minFrequency: number,
  join: (a: string, b: string) => string,
): [number, number][] {
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPair = (p: number, wi: number, c: number) => {
    pairCount.set(p, (pairCount.get(p) ?? 0) + c);
    let s = pairWords.get(p);
    if (!s) pairWords.set(p, (s = new Set()));
    s.add(wi);
  };
  words.forEach((w, wi) => {
    for (let i = 0; i + 1 < w.symbols.length; i++) addPair(w.symbols[i]! * SHIFT + w.symbols[i + 1]!, wi, w.count);
  });
  const before = (a: number, b: number) => {
    const la = symbols[Math.floor(a / SHIFT)]!;
    const lb = symbols[Math.floor(b / SHIFT)]!;
    if (la !== lb) return la < lb;
    return symbols[a % SHIFT]! < symbols[b % SHIFT]!;
  };
  const heap = new PairHeap(before);
  for (const [p, c] of pairCount) heap.push(c, p);
  const merges: [number, number][] = [];
  while (symbols.length < target && heap.size > 0) {
    const [c, p] = heap.pop();
    if (pairCount.get(p) !== c) continue; // stale entry
    if (c < minFrequency) break;
    const a = Math.floor(p / SHIFT);
    const b = p % SHIFT;
    const id = symbols.length;
    symbols.push(join(symbols[a]!, symbols[b]!));
    merges.push([a, b]);
    const touched = new Map<number, number>();
    const bump = (q: number, delta: number) => touched.set(q, (touched.get(q) ?? 0) + delta);
    for (const wi of pairWords.get(p)!) {
      const w = words[wi]!.symbols;
      const wc = words[wi]!.count;
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
      words[wi]!.symbols = out;
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
  return merges;
}
