import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { MATMUL_TILE_NAMES, MATMUL_TILES, type MatmulTile } from '../../src/runtime/kernels.js';
import { Engine } from '../../src/tensor/engine.js';
import { pickTile, startTileTrial, tileTrialOf } from '../../src/tensor/kernel-select.js';
import { matmul, matmulInto } from '../../src/tensor/ops/matmul.js';
import { matmulRef } from '../ref/matmul.js';
import { expectBitIdentical, randn } from '../util/check.js';

// Kernels: every matmul tile's pack_a_f32(__MR), pack_b_f32(__NR), matmul_f32(__MRxNR), pinned through
// Engine.create({ kernels }), against the float64 reference, against each other (the same bits), over 1, 2, 3 threads.

const S = [1, 3, 4, 5, 7, 17, 64, 67];
/** Each size in every position, plus shapes past one K block (256) and past the output tiles (64 × 128, 48 × 120). */
const SHAPES: [number, number, number][] = [
  ...S.map((m, i): [number, number, number] => [m, S[(i + 3) % 8]!, S[(i + 5) % 8]!]),
  [67, 300, 131],
  [100, 513, 250],
];
const LAYOUTS = [
  { transposeA: false, transposeB: false },
  { transposeA: false, transposeB: true },
  { transposeA: true, transposeB: false },
  { transposeA: true, transposeB: true },
];
const tag = (l: { transposeA: boolean; transposeB: boolean }) =>
  `${l.transposeA ? 'Aᵀ' : 'A'}·${l.transposeB ? 'Bᵀ' : 'B'}`;

/** C (= or += C0) op(A)·op(B) with one tile pinned, for every shape and layout, in order. */
function products(e: Engine, accumulate: boolean): Float32Array[] {
  const out: Float32Array[] = [];
  for (const [M, K, N] of SHAPES) {
    for (const layout of LAYOUTS) {
      const a = e.tensor(randn(M * K, M * 31 + K, -1000, 1000), layout.transposeA ? [K, M] : [M, K]);
      const b = e.tensor(randn(K * N, N * 17 + K), layout.transposeB ? [N, K] : [K, N]);
      const c = e.tensor(randn(M * N, M + N), [M, N]);
      matmulInto(e.runtime, c.ptr, a.ptr, b.ptr, M, N, K, { ...layout, accumulate });
      out.push(c.toArray());
      for (const t of [a, b, c]) t.dispose();
    }
  }
  return out;
}

describe('every matmul tile', () => {
  const engines = new Map<string, Engine>();
  const at = (tile: MatmulTile, threads: number) => engines.get(`${tile}/${threads}`)!;
  beforeAll(async () => {
    for (const tile of MATMUL_TILE_NAMES)
      for (const threads of [1, 2, 3])
        engines.set(`${tile}/${threads}`, await Engine.create({ threads, kernels: tile }));
  });
  afterAll(async () => {
    for (const e of engines.values()) await e.dispose();
  });

  it('is pinned by name or by { matmul } and reported by engine.kernels', async () => {
    for (const tile of MATMUL_TILE_NAMES) expect(at(tile, 2).kernels.matmul).toBe(tile);
    const e = await Engine.create({ threads: 1, kernels: { matmul: '3x12' } });
    expect(e.kernels.matmul).toBe('3x12');
    await e.dispose();
  });

  it.each(MATMUL_TILE_NAMES)('%s matches the float64 reference at ragged sizes, all four layouts', (tile) => {
    const e = at(tile, 2);
    expect(MATMUL_TILES[tile].MB % MATMUL_TILES[tile].MR).toBe(0);
    expect(MATMUL_TILES[tile].NB % MATMUL_TILES[tile].NR).toBe(0);
    for (const [M, K, N] of SHAPES) {
      for (const layout of LAYOUTS) {
        const a = randn(M * K, M * 7 + K, -1000, 1000);
        const b = randn(K * N, N * 5 + K);
        const ta = e.tensor(a, layout.transposeA ? [K, M] : [M, K]);
        const tb = e.tensor(b, layout.transposeB ? [N, K] : [K, N]);
        const c = e.noGrad(() => matmul(ta, tb, layout)).toArray();
        const ref = matmulRef(a, b, M, K, N, layout.transposeA, layout.transposeB);
        let worst = 0;
        let where = -1;
        for (let i = 0; i < c.length; i++) {
          const err = Math.abs(c[i]! - ref.c[i]!) / ref.magnitude[i]!;
          if (!(err <= worst)) [worst, where] = [err, i];
        }
        expect(
          worst,
          `${tile} ${tag(layout)} M=${M} K=${K} N=${N}: at [${where}] got ${c[where]}, want ${ref.c[where]}`,
        ).toBeLessThan(1e-5);
        ta.dispose();
        tb.dispose();
      }
    }
  });

  it('all tiles give the same bits, = and +=, for threads 1, 2, 3 (a pinned tile reproduces a run)', () => {
    for (const accumulate of [false, true]) {
      const base = products(at('4x8', 1), accumulate);
      for (const tile of MATMUL_TILE_NAMES) {
        for (const threads of [1, 2, 3]) {
          const got = products(at(tile, threads), accumulate);
          got.forEach((c, i) =>
            expectBitIdentical(c, base[i]!, `${tile}, ${threads} threads, product ${i}, += ${accumulate}`),
          );
        }
      }
    }
  });

  it('in the relaxed build (fused multiply-add) too, all tiles give the same bits', async () => {
    const outs: Float32Array[][] = [];
    for (const tile of MATMUL_TILE_NAMES) {
      const e = await Engine.create({ threads: 2, simd: 'relaxed', kernels: tile });
      expect(e.runtime.build).toBe('relaxed');
      outs.push(products(e, true));
      await e.dispose();
    }
    for (const [t, got] of outs.entries())
      got.forEach((c, i) => expectBitIdentical(c, outs[0]![i]!, `relaxed ${MATMUL_TILE_NAMES[t]}, product ${i}`));
  });

  it('accumulate adds to C: C0 + A·B equals the float64 reference of both', () => {
    const [M, K, N] = [17, 67, 33];
    const a = randn(M * K, 1);
    const b = randn(K * N, 2);
    const c0 = randn(M * N, 3);
    const ref = matmulRef(a, b, M, K, N, false, false);
    for (const tile of MATMUL_TILE_NAMES) {
      const e = at(tile, 2);
      const [ta, tb, tc] = [e.tensor(a), e.tensor(b), e.tensor(c0)];
      matmulInto(e.runtime, tc.ptr, ta.ptr, tb.ptr, M, N, K, { accumulate: true });
      const c = tc.toArray();
      for (let i = 0; i < c.length; i++) {
        expect(Math.abs(c[i]! - (c0[i]! + ref.c[i]!)), `${tile} at [${i}]`).toBeLessThanOrEqual(
          1e-5 * (ref.magnitude[i]! + Math.abs(c0[i]!)),
        );
      }
      for (const t of [ta, tb, tc]) t.dispose();
    }
  });
});

describe("kernels: 'auto'", () => {
  /** C = A·B for [M, K]·[K, N] through matmulInto (the engine's tile, or its trial's). */
  const product = (e: Engine, M: number, K: number, N: number): Float32Array => {
    const [ta, tb, tc] = [
      e.tensor(randn(M * K, M + K)),
      e.tensor(randn(K * N, K + N)),
      e.tensor(new Float32Array(M * N)),
    ];
    matmulInto(e.runtime, tc.ptr, ta.ptr, tb.ptr, M, N, K);
    const c = tc.toArray();
    for (const t of [ta, tb, tc]) t.dispose();
    return c;
  };

  it('starts on the default tile, allocating nothing to choose, and picks from its own products', async () => {
    const e = await Engine.create({ threads: 2, initialMemoryMiB: 1 });
    // the first 'auto' engine of this file (nothing picked yet in this process): the default while it picks
    expect(e.kernels.matmul).toBe('4x8');
    expect(tileTrialOf(e.runtime)).toBeDefined();
    expect(e.runtime.memory.buffer.byteLength).toBeLessThan(2 * 2 ** 20);
    // a trial that counts products from 10⁵ flops, so that this test's products take part, and decides on three
    // timings of each tile however they spread (the steadiness rule is tested below with a clock of its own)
    const trial = startTileTrial(e.runtime, { minFlops: 1e5, steady: Infinity });
    const pinned = await Engine.create({ threads: 2, kernels: '4x8' });
    const [M, K, N] = [67, 130, 90]; // 2·M·K·N ≈ 1.6·10⁶ flops
    const calls = 4 * MATMUL_TILE_NAMES.length + 1; // every tile 1 untimed + 3 timed calls, then the shape again
    for (let i = 0; i < calls; i++) {
      // whichever tile the trial runs, the bits are the pinned tile's
      expectBitIdentical(product(e, M, K, N), product(pinned, M, K, N), `trial call ${i}`);
      // a product under the trial's size runs the current tile and is not timed
      product(e, 5, 7, 9);
      if (i < calls - 1) expect(trial.decision, `after ${i + 1} calls`).toBeUndefined();
    }
    // every tile × (1 untimed + 3 timed calls) of one shape, and the shape once more: decided, by the rule, on
    // that shape's fastest times
    const d = trial.decision!;
    const shape = `${M}×${N}×${K}`;
    expect(d.shapes).toEqual([shape]);
    expect([...trial.timings.keys()]).toEqual([shape]);
    for (const tile of MATMUL_TILE_NAMES) {
      const times = trial.timings.get(shape)![tile];
      expect(times.length).toBe(4);
      expect(times[0]).toBeNaN();
      const sorted = times.slice(1).sort((x, y) => x - y);
      expect(d.ms[tile]).toBe(sorted[0]);
    }
    expect(d.best).toBe(pickTile(d.ms));
    expect(e.kernels.matmul).toBe(d.best);
    expect(tileTrialOf(e.runtime)).toBeUndefined();
    // a later 'auto' engine of the same build and thread count starts on the pick, with no trial
    const again = await Engine.create({ threads: 2 });
    expect(again.kernels.matmul).toBe(d.best);
    expect(tileTrialOf(again.runtime)).toBeUndefined();
    // the same build on three threads picks its own: the tile that wins depends on how many threads share the caches
    const three = await Engine.create({ threads: 3 });
    expect(three.runtime.build).toBe(e.runtime.build);
    expect(tileTrialOf(three.runtime)).toBeDefined();
    for (const x of [e, pinned, again, three]) await x.dispose();
  });

  it('decides on the shapes every tile has timed three times, summing their fastest times', async () => {
    // gemv 'fixed': products of 9–32 rows stay on the packed path (not the GEMV's trial), as the tile trial sees them
    const e = await Engine.create({ threads: 1, kernels: { matmul: '4x8', gemv: 'fixed' } });
    const trial = startTileTrial(e.runtime, { minFlops: 1e5, steady: Infinity });
    // four shapes in turn, as a layer's products come: every tile × (1 untimed + 3 timed) calls of each in
    // 4 × tiles "layers", decided when the first shape comes round again
    const shapes: [number, number, number][] = [
      [40, 96, 72],
      [40, 72, 96],
      [24, 150, 60],
      [33, 64, 64],
    ];
    let layers = 0;
    while (trial.decision === undefined && layers < 64) {
      for (const [M, K, N] of shapes) product(e, M, K, N);
      layers++;
    }
    expect(layers).toBe(4 * MATMUL_TILE_NAMES.length + 1);
    const d = trial.decision!;
    expect(d.shapes.length).toBe(4);
    for (const tile of MATMUL_TILE_NAMES) {
      const fastest = d.shapes.map((shape) => Math.min(...trial.timings.get(shape)![tile].slice(1)));
      expect(d.ms[tile]).toBeCloseTo(
        fastest.reduce((x, y) => x + y),
        12,
      );
    }
    expect(d.best).toBe(pickTile(d.ms));
    expect(e.kernels.matmul).toBe(d.best);
    await e.dispose();
  });

  it('times a shape again until the two fastest timings of every tile agree within 10 %', async () => {
    // a clock of the test's own: each tile takes its true time (2×16p the fastest), but in the first three
    // rounds a burst of other work slows every call but one of 3×12's by 1.5–2.5×, as on a busy VM
    const e = await Engine.create({ threads: 1, kernels: '4x8' });
    const truth: Record<MatmulTile, number> = {
      '4x8': 12,
      '4x8s': 12.5,
      '4x8p': 11,
      '2x16': 11.5,
      '2x16p': 10,
      '3x12': 12,
    };
    const run = (steady: number | undefined) => {
      let now = 0;
      const trial = startTileTrial(e.runtime, { minFlops: 1, steady, clock: () => now });
      const calls = Object.fromEntries(MATMUL_TILE_NAMES.map((t) => [t, 0])) as Record<MatmulTile, number>;
      let products = 0;
      while (trial.decision === undefined && products < 200) {
        trial.run(64, 64, 64, (tile) => {
          const round = calls[tile]++; // 0: untimed, 1–3: the burst, then quiet
          const burst = round >= 1 && round <= 3 ? (tile === '3x12' && round === 2 ? 1 : 1 + round / 2) : 1;
          now += truth[tile] * burst;
        });
        products++;
      }
      return { trial, products };
    };
    // deciding on three timings whatever their spread: the lucky call decides
    const hasty = run(Infinity);
    expect(hasty.trial.decision!.best).toBe('3x12');
    expect(hasty.products).toBe(4 * MATMUL_TILE_NAMES.length + 1);
    // steady: every tile is timed until its two fastest agree (the quiet rounds), then 2×16p, the truth
    const steady = run(undefined);
    expect(steady.trial.decision!.best).toBe('2x16p');
    expect(steady.products).toBeGreaterThan(hasty.products);
    // the scripted clock's milliseconds (no wall time in this test): each tile's two fastest within 10 %
    const timings = steady.trial.timings.get('64×64×64')!;
    for (const tile of MATMUL_TILE_NAMES) {
      const times = timings[tile].slice(1).sort((x, y) => x - y);
      expect(times[1]! / times[0]!, tile).toBeLessThanOrEqual(1.1);
    }
    // two shapes in turn, the second's first three rounds in a burst: the steady first one does not decide
    // alone; the pick waits for the second and sums both, as the trial always did
    let now = 0;
    const two = startTileTrial(e.runtime, { minFlops: 1, clock: () => now });
    const rounds = new Map<string, number>();
    let layers = 0;
    while (two.decision === undefined && layers < 50) {
      for (const [M, burst] of [
        [64, false],
        [32, true],
      ] as const) {
        two.run(M, 64, 64, (tile) => {
          const key = `${M} ${tile}`;
          const round = rounds.get(key) ?? 0;
          rounds.set(key, round + 1);
          now += truth[tile] * (burst && round >= 1 && round <= 3 ? 1 + round / 2 : 1) * (M / 64);
        });
      }
      layers++;
    }
    expect(two.decision!.shapes).toEqual(['64×64×64', '32×64×64']);
    expect(two.decision!.best).toBe('2x16p');
    expect(layers).toBeGreaterThan(4 * MATMUL_TILE_NAMES.length + 1);
    await e.dispose();
  });

  it('keeps the default when no shape repeats within its 1024 products', async () => {
    const e = await Engine.create({ threads: 1, kernels: { matmul: '2x16', gemv: 'fixed' } });
    const trial = startTileTrial(e.runtime, { minFlops: 1 });
    for (let i = 0; i < 1023; i++) product(e, 9 + i, 5, 4); // M > GEMV_ROWS: packed products
    expect(tileTrialOf(e.runtime)).toBe(trial);
    product(e, 1032, 5, 4);
    expect(tileTrialOf(e.runtime)).toBeUndefined();
    expect(trial.decision).toBeUndefined();
    expect(e.kernels.matmul).toBe('4x8');
    await e.dispose();
  });

  it('picks the fastest tile of given timings, and the default (4x8) when it is within 3 % of the fastest', () => {
    const ms = (t: Partial<Record<MatmulTile, number>>) =>
      ({ '4x8p': 2, '2x16p': 2, ...t }) as Record<MatmulTile, number>;
    expect(pickTile(ms({ '4x8': 1.0, '4x8s': 0.99, '2x16': 0.9, '3x12': 0.95 }))).toBe('2x16');
    expect(pickTile(ms({ '4x8': 1.0, '4x8s': 0.99, '2x16': 0.98, '3x12': 0.985 }))).toBe('4x8');
    expect(pickTile(ms({ '4x8': 1.2, '4x8s': 1.0, '2x16': 1.0, '3x12': 1.1 }))).toBe('4x8s');
    expect(pickTile(ms({ '4x8': 1.0, '4x8s': 1.0, '2x16': 1.0, '3x12': 1.0, '2x16p': 0.9 }))).toBe('2x16p');
  });

  it('rejects an unknown tile with a typed error that lists the known ones', async () => {
    // @ts-expect-error: not a tile
    await expect(Engine.create({ threads: 1, kernels: '5x5' })).rejects.toThrow(ArgumentError);
    // @ts-expect-error: not a tile
    await expect(Engine.create({ threads: 1, kernels: { matmul: '8x8' } })).rejects.toThrow(
      /'4x8', '4x8s', '4x8p', '2x16', '2x16p', '3x12'/,
    );
  });
});
