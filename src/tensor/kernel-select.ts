import { ArgumentError } from '../errors.js';
import { MATMUL_TILE_NAMES, type MatmulTile } from '../runtime/kernels.js';
import type { Runtime } from '../runtime/runtime.js';

/**
 * Which kernel variants an engine runs: 'auto' (the default) picks the matmul tile from the engine's own first
 * large products (TileTrial); a tile's name ('4x8', '4x8s', '4x8p', '2x16', '2x16p', '3x12') or `{ matmul: … }` pins one. Every
 * matmul tile gives the same bits (see MATMUL_TILES), so the choice changes speed only. `gemv`: whether products
 * of a few rows with weights stored [K, N] run the GEMV or the packed path is timed per shape ('auto', GemvTrial),
 * or fixed at GEMV_ROWS ('fixed'); both paths give the same bits. `attention`: whether the attention's forward
 * for a few query rows reads q, k, v in place or packs them is timed per shape ('auto', AttentionTrial), fixed
 * at ATTENTION_DIRECT_ROWS ('fixed'), or pinned for every call ('direct', 'packed'); the same bits either way.
 */
export type KernelsOption =
  | 'auto'
  | MatmulTile
  | { matmul?: 'auto' | MatmulTile; gemv?: 'auto' | 'fixed'; attention?: 'auto' | 'fixed' | AttentionPath };

/**
 * The variants an engine runs (`engine.kernels`): under 'auto', the default tile until the trial has picked; per
 * product shape "M×N×K" timed so far, the path the GEMV trial picked; per attention shape "B×H×Tq×Tk×D" (Tk
 * rounded up to a power of two) timed so far, the path the attention trial picked.
 */
export interface Kernels {
  readonly matmul: MatmulTile;
  readonly gemv: Readonly<Record<string, GemvPath>>;
  readonly attention: Readonly<Record<string, AttentionPath>>;
}

/**
 * A product takes part in the trial from this many flops (2·M·N·K, ~4 ms): products that size, B past the L2
 * cache, are where the tiles differ (a transformer's FFN at d 128 × 1024 tokens and up).
 */
const TRIAL_FLOPS = 2 ** 27;
/** Timed calls of every tile at a shape before the pick (after its first, untimed: cold caches, unoptimised code). */
const TRIAL_ROUNDS = 3;
/**
 * Products the trial may take: then it decides on the shapes every tile has timed TRIAL_ROUNDS times, steady or
 * not, or keeps the default if none. A d 512 GPT's training step has ~75 products that take part; its 9 shapes
 * are first timed three times in ~3 steps.
 */
const TRIAL_CALLS = 1024;
/**
 * The trial decides once, at every shape timed TRIAL_ROUNDS times, each tile's two fastest agree within this
 * fraction. Noise only adds time, so a tile's fastest timing is its best estimate, but on a busy host one
 * fastest timing among slow ones is luck: on a Zen 5 VM whose other tenants slowed it 2–3× in bursts, the same
 * tile's timings at one shape ran 82–146 ms, and the trial picked 3×12 where quiet runs pick 2×16p (whose
 * products there take 12–14 % less time, for the process's life). Until they agree the shape's tiles are timed
 * again, up to TRIAL_CALLS.
 */
const STEADY = 0.1;
/** A tile must beat the default by this fraction to replace it (a tie goes to the default). */
const MARGIN = 0.03;

/**
 * The tile a trial picked, per build and thread count, for the process (the CPU does not change under it; how
 * many threads share its caches does, and with it the tile that wins).
 */
const picked = new Map<string, MatmulTile>();
const pickKey = (rt: Runtime) => `${rt.build}/${rt.threads}`;
/** Engines whose 'auto' tile is still being picked. */
const trials = new WeakMap<Runtime, TileTrial>();

/**
 * Resolves an engine's `kernels` option: a pinned tile, the tile this process picked before, or a trial; and
 * starts timing the GEMV's and the attention's paths unless `gemv: 'fixed'` / `attention: 'fixed'`. Returns the
 * tile to start with.
 */
export function chooseKernels(rt: Runtime, option: KernelsOption | undefined): MatmulTile {
  const asked = typeof option === 'object' ? (option.matmul ?? 'auto') : (option ?? 'auto');
  if (asked !== 'auto' && !(MATMUL_TILE_NAMES as string[]).includes(asked)) {
    throw new ArgumentError(
      `kernels: unknown matmul tile '${String(asked)}', expected 'auto' or one of ${MATMUL_TILE_NAMES.map((n) => `'${n}'`).join(', ')}`,
    );
  }
  const choice = <C extends string>(name: 'gemv' | 'attention', choices: readonly C[]): C => {
    const c = (typeof option === 'object' ? (option[name] ?? 'auto') : 'auto') as C;
    if (!choices.includes(c)) {
      const expected = choices.map((x) => `'${x}'`).join(', ');
      throw new ArgumentError(`kernels: unknown ${name} choice '${String(c)}', expected one of ${expected}`);
    }
    return c;
  };
  if (choice('gemv', ['auto', 'fixed']) === 'auto') gemvTrials.set(rt, new GemvTrial(rt));
  const attention = choice('attention', ['auto', 'fixed', 'direct', 'packed']);
  if (attention === 'auto') attentionTrials.set(rt, new AttentionTrial(rt));
  else if (attention !== 'fixed') attentionPinned.set(rt, attention);
  if (asked !== 'auto') return asked;
  const before = picked.get(pickKey(rt));
  if (before !== undefined) return before;
  startTileTrial(rt);
  return MATMUL_TILE_NAMES[0]!;
}

/** What an engine runs (`engine.kernels`). */
export function kernelsOf(rt: Runtime): Kernels {
  return {
    matmul: rt.kernels.matmul,
    gemv: gemvTrials.get(rt)?.picks() ?? {},
    attention: attentionTrials.get(rt)?.picks() ?? {},
  };
}

/** How a trial times (tests replace them). */
export interface TrialOptions {
  /** Products from this many flops (2·M·N·K) take part. */
  minFlops?: number;
  /** STEADY: Infinity decides on TRIAL_ROUNDS timings whatever their spread. */
  steady?: number;
  /** Milliseconds. */
  clock?: () => number;
}

/** Starts picking rt's matmul tile from its next large products (chooseKernels does; tests call it directly). */
export function startTileTrial(rt: Runtime, options: TrialOptions = {}): TileTrial {
  const trial = new TileTrial(rt, options.minFlops ?? TRIAL_FLOPS, options.steady ?? STEADY, options.clock);
  trials.set(rt, trial);
  return trial;
}

/** rt's trial while it runs, to time a product with (gemm); undefined once the tile is picked or pinned. */
export function tileTrialOf(rt: Runtime): TileTrial | undefined {
  return trials.get(rt);
}

/** A trial's pick: the shapes it was timed on, per tile the sum of its fastest milliseconds there, the tile. */
export interface TileDecision {
  readonly shapes: string[];
  readonly ms: Record<MatmulTile, number>;
  readonly best: MatmulTile;
}

/**
 * Picks an engine's matmul tile from its own products. A short timing at start-up cannot: on products small
 * enough to time in a few milliseconds every tile runs within ±3 % of the others (measured on Zen 5), while at
 * a transformer's shapes, with B past the L2 cache, 2×16 runs 5–8 % faster than 4×8 there; the difference is in
 * how B's panels stream, which only products that size show, and timing those at start-up would cost ~200 ms
 * and several MiB. So each packed product of at least minFlops runs with the tile its shape has timed least
 * (in an order rotated per round), timed around the whole call, each tile's first call at a shape untimed.
 * When a shape every tile has timed TRIAL_ROUNDS times comes round again (so the other shapes of its cycle
 * have been timed as often), and every such shape is steady (each tile's two fastest within STEADY), pickTile
 * takes per tile the sum over those shapes of its fastest time (the least disturbed: a model's first pass also
 * pays for fresh pages, which can add 40 % to a product), and every later product runs the winner. A model's layers repeat their shapes: BERT-base (12 layers, 4 shapes each) decides
 * in the fifth layer of its second forward pass. The trial changes no bits, only which tile computes them. It
 * ends after TRIAL_CALLS products at the latest, on the shapes every tile has timed TRIAL_ROUNDS times by then,
 * steady or not, or with the default if none.
 */
export class TileTrial {
  /** Per shape "M×N×K", per tile, its calls' milliseconds (the first call's is NaN: not counted). */
  readonly timings = new Map<string, Record<MatmulTile, number[]>>();
  /** What decided, once decided. */
  decision?: TileDecision;
  private calls = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly minFlops: number,
    private readonly steady: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Runs product(tile) with the tile the trial wants for this shape, timed; small products run the current tile. */
  run(M: number, N: number, K: number, product: (tile: MatmulTile) => void): void {
    if (2 * M * N * K < this.minFlops) return product(this.rt.kernels.matmul);
    const shape = `${M}×${N}×${K}`;
    let times = this.timings.get(shape);
    if (times === undefined) {
      times = Object.fromEntries(MATMUL_TILE_NAMES.map((t) => [t, []])) as unknown as Record<MatmulTile, number[]>;
      this.timings.set(shape, times);
    }
    if (complete(times) && this.allSteady()) {
      // a shape timed TRIAL_ROUNDS times comes round again (the others of its cycle have been timed as often), and
      // every such shape's timings are steady; until they are, their tiles are timed again
      this.decide();
      return product(this.rt.kernels.matmul);
    }
    // of the tiles timed least, the first from a start that moves on each round (no tile always runs first)
    const least = Math.min(...MATMUL_TILE_NAMES.map((t) => times[t].length));
    const n = MATMUL_TILE_NAMES.length;
    let i = least % n;
    while (times[MATMUL_TILE_NAMES[i]!].length > least) i = (i + 1) % n;
    const tile = MATMUL_TILE_NAMES[i]!;
    const t0 = this.clock();
    product(tile);
    times[tile].push(times[tile].length === 0 ? NaN : this.clock() - t0);
    if (++this.calls >= TRIAL_CALLS) this.decide();
  }

  /** Whether every shape that every tile has timed TRIAL_ROUNDS times has steady timings. */
  private allSteady(): boolean {
    for (const ts of this.timings.values()) if (complete(ts) && !steady(ts, this.steady)) return false;
    return true;
  }

  /** Ends the trial: the rule on the shapes every tile has timed TRIAL_ROUNDS times, or the default if none. */
  private decide(): void {
    const shapes = [...this.timings].filter(([, ts]) => complete(ts));
    if (shapes.length > 0) {
      const ms = Object.fromEntries(
        MATMUL_TILE_NAMES.map((t) => [t, shapes.reduce((sum, [, ts]) => sum + Math.min(...ts[t].slice(1)), 0)]),
      ) as Record<MatmulTile, number>;
      this.decision = { shapes: shapes.map(([shape]) => shape), ms, best: pickTile(ms) };
      picked.set(pickKey(this.rt), this.decision.best);
    }
    this.rt.kernels.matmul = this.decision?.best ?? MATMUL_TILE_NAMES[0]!;
    trials.delete(this.rt);
  }
}

/** The fastest tile of these timings, unless the default (the first tile) is within MARGIN of it. */
export function pickTile(ms: Readonly<Record<MatmulTile, number>>): MatmulTile {
  const fallback = MATMUL_TILE_NAMES[0]!;
  let best = fallback;
  for (const t of MATMUL_TILE_NAMES) if (ms[t] < ms[best]) best = t;
  return ms[fallback] <= ms[best] * (1 + MARGIN) ? fallback : best;
}

/** Whether every tile has its TRIAL_ROUNDS timed calls at a shape. */
function complete(times: Record<MatmulTile, number[]>): boolean {
  return MATMUL_TILE_NAMES.every((t) => times[t].length > TRIAL_ROUNDS);
}

/** Whether each tile's two fastest timings at a complete shape are within `within` of each other. */
function steady(times: Record<MatmulTile, number[]>, within: number): boolean {
  return MATMUL_TILE_NAMES.every((t) => {
    const [first, second] = times[t].slice(1).sort((x, y) => x - y);
    // not "second ≤ first·(1 + within)": with a coarse clock first may be 0, and 0·∞ is NaN
    return !(second! > first! * (1 + within));
  });
}

/** Products of up to this many rows with a weight stored [K, N] may run the GEMV (gemm); which path does is timed. */
export const GEMV_TRIAL_ROWS = 32;
/**
 * Products under this many flops (2·M·N·K) keep the fixed rule (GEMV up to GEMV_ROWS): calls of a few µs, too
 * short to time well, and too short for the choice to matter. GPT-2's smallest decoding product, 1 × 768 × 768,
 * is over it.
 */
const GEMV_TRIAL_FLOPS = 2 ** 20;
/**
 * The ways gemm can run a product of a few rows with a weight stored [K, N]: the GEMV with a chunk of columns per
 * thread ('gemv'), or with chunks of 256 or 64 columns handed out in turn ('gemv/256', 'gemv/64': with two threads
 * on Zen 5, one chunk each read 6.5 GB/s of W and small chunks 13–20, while one thread reads whole rows fastest),
 * or the packed path.
 */
export type GemvPath = 'gemv' | 'gemv/256' | 'gemv/64' | 'gemv/k' | 'packed';
/**
 * How each GEMV path splits the work (gemvKn): columns per work item (undefined: one chunk per thread), and
 * whether each item takes one k-block of whole rows ('gemv/k': threads stream rows of W apart, the blocks' sums
 * added in order after).
 */
export const GEMV_SPLIT: Readonly<Record<Exclude<GemvPath, 'packed'>, { chunk?: number; kBlocks: boolean }>> = {
  gemv: { kBlocks: false },
  'gemv/256': { chunk: 256, kBlocks: false },
  'gemv/64': { chunk: 64, kBlocks: false },
  'gemv/k': { kBlocks: true },
};
/** Per trial, build, thread count and shape, the path this process picked (as `picked`, per shape). */
const pathPicked = new Map<string, string>();
const gemvTrials = new WeakMap<Runtime, GemvTrial>();
const attentionTrials = new WeakMap<Runtime, AttentionTrial>();
const attentionPinned = new WeakMap<Runtime, AttentionPath>();

/** rt's GEMV trial, unless its engine fixed the rule (`kernels: { gemv: 'fixed' }`). */
export function gemvTrialOf(rt: Runtime): GemvTrial | undefined {
  return gemvTrials.get(rt);
}

/**
 * Picks, per shape, which of a few paths that give the same bits runs an op: each shape's paths take turns on
 * its first calls, each path's first call untimed (cold caches, unoptimised code), and after TRIAL_ROUNDS timed
 * calls of each the fastest (by its fastest call, per unit of work) runs that shape from then on: the fixed
 * rule's path unless another is faster by MARGIN. The choice changes speed only.
 */
class PathTrial<P extends string> {
  /** Per shape, per path, its calls' milliseconds per unit of work (the first call's is NaN: not counted). */
  readonly timings = new Map<string, Partial<Record<P, number[]>>>();

  constructor(
    private readonly rt: Runtime,
    private readonly name: string,
    private readonly paths: readonly P[],
    private readonly clock: () => number,
  ) {}

  private key(shape: string): string {
    return `${this.name}/${pickKey(this.rt)}/${shape}`;
  }

  /** Runs `product(path)` with the shape's pick, or the path its trial times next (`work` scales the timing). */
  protected time(shape: string, fixed: P, product: (path: P) => void, work = 1): void {
    const key = this.key(shape);
    const pick = pathPicked.get(key) as P | undefined;
    if (pick !== undefined) return product(pick);
    let times = this.timings.get(shape);
    if (times === undefined) this.timings.set(shape, (times = {}));
    const count = (p: P) => times[p]?.length ?? 0;
    const path = this.paths.reduce((least, p) => (count(p) < count(least) ? p : least));
    const t0 = this.clock();
    product(path);
    (times[path] ??= []).push(count(path) === 0 ? NaN : (this.clock() - t0) / work);
    if (this.paths.every((p) => count(p) > TRIAL_ROUNDS)) {
      const ms = (p: P) => Math.min(...times[p]!.slice(1));
      const best = this.paths.reduce((b, p) => (ms(p) < ms(b) ? p : b));
      pathPicked.set(key, ms(best) * (1 + MARGIN) < ms(fixed) ? best : fixed);
    }
  }

  /** The paths this process picked for this runtime's build and thread count, by shape. */
  picks(): Record<string, P> {
    const prefix = this.key('');
    return Object.fromEntries(
      [...pathPicked].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v as P]),
    );
  }
}

/**
 * Picks, per product shape, how a product of a few rows M with a weight stored [K, N] runs: the GEMV kernel (W
 * read in place, once), in column chunks of one size or another, or the packed path (W copied into panels, then
 * the register tiles). Which wins depends on M, the CPU, its memory and the threads: on Zen 4 the packed path
 * won past 8 rows; on Zen 5 with one thread (GPT-2's 768 × 3072) the GEMV still wins at 16 rows (3.1 against
 * 3.3 ms) and loses at 24; with two threads, a chunk per thread read W at 6.5 GB/s and lost to the packed path
 * from 4 rows, while 64- or 256-column chunks nearly double its speed. All give the same bits. A decoding step
 * repeats its shapes (a GPT-2 has 4 per layer, 12 layers), so each is timed on its first calls (PathTrial); the
 * fixed rule's path is the GEMV up to gemm's GEMV_ROWS, one chunk per thread. One thread times only 'gemv' and
 * 'packed' (a chunk is the whole row there).
 */
export class GemvTrial extends PathTrial<GemvPath> {
  constructor(rt: Runtime, clock: () => number = () => performance.now()) {
    super(rt, 'gemv', rt.threads > 1 ? ['gemv', 'gemv/256', 'gemv/64', 'gemv/k', 'packed'] : ['gemv', 'packed'], clock);
  }

  /**
   * Runs the product by `product(path)`: the shape's pick, the fixed rule's path (`fixed`: gemm's GEMV_ROWS), or
   * the path its trial times next.
   */
  run(M: number, N: number, K: number, fixed: GemvPath, product: (path: GemvPath) => void): void {
    if (2 * M * N * K < GEMV_TRIAL_FLOPS) return product(fixed);
    this.time(`${M}×${N}×${K}`, fixed, product);
  }
}

/**
 * How the fused attention's forward multiplies a block of query rows by a tile of keys: packing Kᵀ, P and V into
 * panels for the register tiles ('packed'), or reading q, k and v in place ('direct'), one query row at a time.
 */
export type AttentionPath = 'direct' | 'packed';
/** Up to this many query rows the direct path runs by the fixed rule (decoding's one row: see AttentionTrial). */
export const ATTENTION_DIRECT_ROWS = 2;
const fixedAttentionPath = (Tq: number): AttentionPath => (Tq <= ATTENTION_DIRECT_ROWS ? 'direct' : 'packed');
/** Up to this many query rows which path runs is timed. */
export const ATTENTION_TRIAL_ROWS = 8;
/** Calls under this many flops (4·B·H·Tq·Tk·D) keep the fixed rule: a few µs each. */
const ATTENTION_TRIAL_FLOPS = 2 ** 20;

/**
 * Picks, per shape, the path of the attention's forward for a few query rows (AttentionPath). Packing costs a
 * copy of every key tile's Kᵀ and V per block of query rows: decoding's single row uses each packed value once.
 * Measured on Zen 5, one thread, GPT-2's 12 heads of 64 over a cache of 1,024 keys (bench attention-decode):
 * the direct path takes 0.50 ms against the packed path's 0.98 at one query row, 0.69 against 1.03 at two, ties
 * at four and loses at eight (1.82 against 1.63), where the packed panels serve several rows. Both give the same
 * bits. During decoding the keys grow by one a call, so
 * a shape is the batch, heads, query rows and head dim with the keys rounded up to a power of two, and each call's
 * time is divided by its keys.
 */
export class AttentionTrial extends PathTrial<AttentionPath> {
  constructor(rt: Runtime, clock: () => number = () => performance.now()) {
    super(rt, 'attention', ['direct', 'packed'], clock);
  }

  /** Runs the forward by `product(path)`: the shape's pick, the fixed rule's path, or the path its trial times next. */
  run(B: number, H: number, Tq: number, Tk: number, D: number, product: (path: AttentionPath) => void): void {
    const fixed = fixedAttentionPath(Tq);
    if (Tq > ATTENTION_TRIAL_ROWS || 4 * B * H * Tq * Tk * D < ATTENTION_TRIAL_FLOPS) return product(fixed);
    this.time(`${B}×${H}×${Tq}×${2 ** Math.ceil(Math.log2(Tk))}×${D}`, fixed, product, Tk);
  }
}

/**
 * Runs the attention's forward by `product(path)` on the path rt's engine pinned, its trial's, or the fixed rule's
 * (`kernels: { attention: 'fixed' }`: direct up to ATTENTION_DIRECT_ROWS query rows).
 */
export function attentionPath(
  rt: Runtime,
  B: number,
  H: number,
  Tq: number,
  Tk: number,
  D: number,
  product: (path: AttentionPath) => void,
): void {
  const pinned = attentionPinned.get(rt);
  if (pinned !== undefined) return product(pinned);
  const trial = attentionTrials.get(rt);
  if (trial !== undefined) return trial.run(B, H, Tq, Tk, D, product);
  product(fixedAttentionPath(Tq));
}
