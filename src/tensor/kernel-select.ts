import { ArgumentError, OutOfMemoryError } from '../errors.js';
import { MATMUL_TILE_NAMES, type MatmulTile } from '../runtime/kernels.js';
import type { Runtime } from '../runtime/runtime.js';
import { gemm } from './ops/matmul.js';

/**
 * Which kernel variants an engine runs: 'auto' (the default) times them at creation and keeps the fastest; a
 * tile's name ('4x8', '4x8s', '2x16', '3x12') or `{ matmul: … }` pins one. Every matmul tile gives the same bits (see
 * MATMUL_TILES), so the choice changes speed only.
 */
export type KernelsOption = 'auto' | MatmulTile | { matmul?: 'auto' | MatmulTile };

/** The variants an engine runs (`engine.kernels`). */
export interface Kernels {
  readonly matmul: MatmulTile;
}

/** The timed product: a transformer's [512×768]·[768×768] scaled down (two K blocks, several tiles of each size). */
const M = 96;
const K = 512;
const N = 240;
/** Timing budget: rounds stop after this many milliseconds (at least MIN_ROUNDS are run). */
const BUDGET_MS = 30;
const MIN_ROUNDS = 3;
const MAX_ROUNDS = 7;
/** A tile must beat the default by this fraction to replace it (a tie goes to the default). */
const MARGIN = 0.03;

/** The fastest tile per build, measured once per process (the CPU does not change under it). */
const measured = new Map<string, MatmulTile>();

/** Resolves an engine's `kernels` option into the variants it runs, timing the tiles for 'auto'. */
export function chooseKernels(rt: Runtime, option: KernelsOption | undefined): Kernels {
  const asked = typeof option === 'object' ? (option.matmul ?? 'auto') : (option ?? 'auto');
  if (asked !== 'auto' && !(MATMUL_TILE_NAMES as string[]).includes(asked)) {
    throw new ArgumentError(
      `kernels: unknown matmul tile '${String(asked)}', expected 'auto' or one of ${MATMUL_TILE_NAMES.map((n) => `'${n}'`).join(', ')}`,
    );
  }
  if (asked !== 'auto') return { matmul: asked };
  let tile = measured.get(rt.build);
  if (tile === undefined) {
    try {
      tile = timeMatmulTiles(rt).best;
    } catch (err) {
      // an engine too small for the timed operands (~1.5 MiB) runs the default, and times nothing
      if (err instanceof OutOfMemoryError) return { matmul: MATMUL_TILE_NAMES[0]! };
      throw err;
    }
    measured.set(rt.build, tile);
  }
  return { matmul: tile };
}

/** Per tile, the median milliseconds of one timed product, and the tile chosen. */
export interface TileTiming {
  readonly ms: Readonly<Record<MatmulTile, number>>;
  readonly best: MatmulTile;
  readonly rounds: number;
}

/**
 * Times every matmul tile on the caller thread (work never goes to the pool, so other threads' load weighs
 * less): one warm-up call each, then rounds in which every tile runs once, in an order rotated per round so
 * none always runs first, until the budget is spent; each tile's time is its median over the rounds. The
 * fastest wins unless the default is within MARGIN of it. Allocates its operands in the arena and frees them.
 */
export function timeMatmulTiles(rt: Runtime, budgetMs = BUDGET_MS): TileTiming {
  const a = rt.arena.alloc(M * K * 4, 'tile timing A');
  const b = rt.arena.alloc(K * N * 4, 'tile timing B');
  const c = rt.arena.alloc(M * N * 4, 'tile timing C');
  try {
    const f32 = rt.f32;
    // small values of both signs (no subnormals, no overflow)
    for (let i = 0; i < M * K; i++) f32[(a >>> 2) + i] = ((i * 37) % 17) / 16 - 0.5;
    for (let i = 0; i < K * N; i++) f32[(b >>> 2) + i] = ((i * 29) % 13) / 12 - 0.5;
    const names = MATMUL_TILE_NAMES;
    const once = (t: MatmulTile) => gemm(rt, c, N, a, K, 1, b, N, 1, M, N, K, false, t, true);
    for (const t of names) once(t);
    const times: Record<string, number[]> = Object.fromEntries(names.map((t) => [t, []]));
    const start = performance.now();
    let rounds = 0;
    while (rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || performance.now() - start < budgetMs)) {
      for (let i = 0; i < names.length; i++) {
        const t = names[(i + rounds) % names.length]!;
        const t0 = performance.now();
        once(t);
        times[t]!.push(performance.now() - t0);
      }
      rounds++;
    }
    const ms = Object.fromEntries(names.map((t) => [t, median(times[t]!)])) as Record<MatmulTile, number>;
    return { ms, best: pickTile(ms), rounds };
  } finally {
    rt.arena.release(c);
    rt.arena.release(b);
    rt.arena.release(a);
  }
}

/** The fastest tile of these timings, unless the default (the first tile) is within MARGIN of it. */
export function pickTile(ms: Readonly<Record<MatmulTile, number>>): MatmulTile {
  const fallback = MATMUL_TILE_NAMES[0]!;
  let best = fallback;
  for (const t of MATMUL_TILE_NAMES) if (ms[t] < ms[best]) best = t;
  return ms[fallback] <= ms[best] * (1 + MARGIN) ? fallback : best;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
