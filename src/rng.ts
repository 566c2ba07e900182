/**
 * Seeded pseudo-random numbers for everything in `src/data/`: xoshiro128** (Blackman & Vigna) over
 * four 32-bit words, seeded by splitmix32. All arithmetic is 32-bit integer (`Math.imul`, `>>> 0`), so
 * a seed gives the same stream on every JavaScript engine.
 *
 * `fork(streamId)` derives a child stream from the parent's *seed key* and the stream id only — not from
 * how many numbers the parent has drawn — so `rng.fork(epoch)` is the same stream whatever ran before.
 */
import { ArgumentError } from './errors.js';

/** splitmix32 step: returns [nextState, output]. */
function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) >>> 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
export function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const utf8 = new TextEncoder();

/**
 * 32-bit FNV-1a over the UTF-8 bytes of `s`, followed by murmur3's finaliser (plain FNV-1a leaves
 * the low bits of similar keys correlated, which matters when the hash is cut into split buckets).
 */
export function hash32(s: string): number {
  const bytes = utf8.encode(s);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i]!, 0x01000193);
  }
  return fmix32(h >>> 0);
}

const TWO_POW_32 = 4294967296;

export class Rng {
  /** The 32-bit key this stream was seeded from (what `fork` derives children from). */
  readonly key: number;
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  constructor(seed: number | string = 0) {
    if (typeof seed === 'string') seed = hash32(seed);
    if (!Number.isFinite(seed)) throw new ArgumentError(`Rng seed must be a finite number or a string, got ${seed}`);
    this.key = seed >>> 0;
    const state = [0, 0, 0, 0];
    let st = this.key;
    for (let i = 0; i < 4; i++) [st, state[i]] = splitmix32(st);
    [this.s0, this.s1, this.s2, this.s3] = state as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** An independent stream derived from this stream's key and `streamId` (deterministic, order-free). */
  fork(streamId: number | string): Rng {
    const id = typeof streamId === 'string' ? hash32(streamId) : streamId >>> 0;
    return new Rng(fmix32((this.key ^ fmix32((id + 0x632be5ab) >>> 0)) + 0x9e3779b9));
  }

  /** A uniform uint32. */
  next(): number {
    const s0 = this.s0,
      s1 = this.s1,
      s2 = this.s2,
      s3 = this.s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11);
    this.s0 = n0 >>> 0;
    this.s1 = n1 >>> 0;
    this.s2 = n2 >>> 0;
    this.s3 = n3 >>> 0;
    return r;
  }

  /** A uniform float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.next() / TWO_POW_32;
  }

  /** A uniform integer in [0, n), unbiased (rejection of the short last bucket). 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!(n >= 1 && n <= TWO_POW_32 && Number.isInteger(n))) {
      throw new ArgumentError(`Rng.int(n) needs an integer n in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n); // accept x < limit: a whole number of buckets
    for (;;) {
      const x = this.next();
      if (x < limit) return x % n;
    }
  }

  /** A standard normal (Box–Muller; the second value is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    const u1 = 1 - this.float(); // (0, 1]: log is finite
    const u2 = this.float();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /**
   * A Poisson(λ) draw. Knuth's product of uniforms for λ ≤ 30; larger λ is split into chunks of at most
   * 30 and the draws summed (a sum of Poissons is Poisson): exact, O(λ) time, fine for the small λ of
   * span lengths.
   */
  poisson(lambda: number): number {
    if (!(lambda >= 0 && Number.isFinite(lambda))) throw new ArgumentError(`Rng.poisson needs λ ≥ 0, got ${lambda}`);
    let total = 0;
    let rest = lambda;
    while (rest > 0) {
      const l = Math.min(rest, 30);
      rest -= l;
      const limit = Math.exp(-l);
      let k = 0;
      let p = this.float();
      while (p > limit) {
        k++;
        p *= this.float();
      }
      total += k;
    }
    return total;
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<A extends { length: number; [i: number]: unknown }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
