import { ShapeError } from '../../errors.js';
import { MATMUL_TILES, type MatmulTile } from '../../runtime/kernels.js';
import type { Runtime } from '../../runtime/runtime.js';
import { GEMV_SPLIT, GEMV_TRIAL_ROWS, gemvTrialOf, tileTrialOf } from '../kernel-select.js';
import type { Tensor } from '../tensor.js';

/**
 * Up to this many rows of A, C = A·W runs the GEMV kernels (assembly/kernels/gemv.ts): W read in place, in
 * address order. Measured crossover on Zen 4: npm run bench -- gemv. For W stored [K, N] this is the default of
 * a per-shape timing up to GEMV_TRIAL_ROWS (GemvTrial): on Zen 5 the GEMV still wins at 16 rows.
 */
export const GEMV_ROWS = 8;

export interface MatmulLayout {
  /** A is stored [K, M] and read transposed. */
  transposeA?: boolean;
  /** B is stored [N, K] and read transposed. */
  transposeB?: boolean;
  /** C += A·B instead of C = A·B. */
  accumulate?: boolean;
}

/**
 * C[M,N] (= or +=) A·B on raw pointers with element strides: A (m, k) at a[m·ldaM + k·ldaK], B (k, n)
 * at b[k·ldbK + n·ldbN], C row stride ldc. Packs A into MR-row panels and B into NR-column panels in the
 * runtime's scratch block, then runs the output tiles over the pool, with the runtime's matmul tile
 * (`rt.kernels.matmul`, or the tile its trial wants while an 'auto' engine picks: kernel-select.ts) unless
 * `tile` names one.
 * For few rows of A (contiguous), the GEMV kernels read B in place: B [N, K] up to GEMV_ROWS (dot products, the
 * same sums in another order); B [K, N] up to GEMV_TRIAL_ROWS, where the engine times both paths per shape
 * (kernel-select.ts; the packed path's bits either way).
 * K = 0 gives C = 0 (or leaves it).
 */
export function gemm(
  rt: Runtime,
  c: number,
  ldc: number,
  a: number,
  ldaM: number,
  ldaK: number,
  b: number,
  ldbK: number,
  ldbN: number,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
  tile?: MatmulTile,
): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (!accumulate) for (let r = 0; r < M; r++) rt.f32.fill(0, (c >>> 2) + r * ldc, (c >>> 2) + r * ldc + N);
    return;
  }
  const trial = tile === undefined ? tileTrialOf(rt) : undefined;
  const packed = (t: MatmulTile) => gemmPacked(rt, c, ldc, a, ldaM, ldaK, b, ldbK, ldbN, M, N, K, accumulate, t);
  const packedNow = () => (trial !== undefined ? trial.run(M, N, K, packed) : packed(tile ?? rt.kernels.matmul));
  if (ldaK === 1 && ldbK === 1 && ldbN !== 1 && M <= GEMV_ROWS) {
    // decoding, W [N, K] (torch Linear, tied heads): W streams once, in address order; packing it would read it
    // and write it once more per call
    gemvNk(rt, c, ldc, a, ldaM, b, ldbN, M, N, K, accumulate);
  } else if (ldaK === 1 && ldbN === 1 && M <= GEMV_TRIAL_ROWS) {
    // W [K, N] (GPT-2's Conv1D): the GEMV has the packed path's bits, so which runs is timed per shape
    // (the packed path with the tile in use: tiles differ little at these sizes, and the two trials stay apart)
    const fixed = M <= GEMV_ROWS ? 'gemv' : 'packed';
    const paths = gemvTrialOf(rt);
    if (paths !== undefined) {
      paths.run(M, N, K, fixed, (path) => {
        if (path === 'packed') packed(tile ?? rt.kernels.matmul);
        else gemvKn(rt, c, ldc, a, ldaM, b, ldbK, M, N, K, accumulate, GEMV_SPLIT[path]);
      });
    } else if (fixed === 'gemv') gemvKn(rt, c, ldc, a, ldaM, b, ldbK, M, N, K, accumulate);
    else packedNow();
  } else packedNow();
}

/** Rows of W in one k-block of gemv_f32__kn (its KC, matmul_f32's). */
const GEMV_KC = 256;

/**
 * C[M, N] (= or +=) A·W by gemv_f32__kn, W stored [K, N] rows ldbK apart, read in place: matmul_f32's order and
 * bits for any M and split. A work item sweeps rows of W over its `chunk` columns (a multiple of 4; by default one
 * chunk per thread) into per-row sums in scratch; with `kBlocks`, over one k-block of them only, each block's sums
 * stored apart and then added into C in order (C = (C0 +) s₀ + s₁ + …, as the sweep adds them).
 */
export function gemvKn(
  rt: Runtime,
  c: number,
  ldc: number,
  a: number,
  ldaM: number,
  b: number,
  ldbK: number,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
  split: { chunk?: number; kBlocks: boolean } = { kBlocks: false },
): void {
  const N4 = Math.ceil(N / 4) * 4;
  const chunk = split.chunk ?? Math.ceil(N4 / 4 / (split.kBlocks ? 1 : rt.threads)) * 4;
  const chunks = Math.ceil(N / chunk);
  const blocks = split.kBlocks ? Math.ceil(K / GEMV_KC) : 1;
  const sumsBytes = Math.ceil(M / 4) * 4 * N4 * 4 * blocks;
  const sums = rt.scratch(sumsBytes + (split.kBlocks ? blocks * M * N * 4 : 0));
  const acc = accumulate ? 1 : 0;
  if (!split.kBlocks) {
    rt.run('gemv_f32__kn', [c, sums, a, b, M, N, K, ldaM, ldbK, ldc, N4, acc, chunk, 0], chunks, M * N * K);
    return;
  }
  const parts = sums + sumsBytes; // [blocks][M][N]
  rt.run('gemv_f32__kn', [parts, sums, a, b, M, N, K, ldaM, ldbK, N, N4, 0, chunk, 1], chunks * blocks, M * N * K);
  if (ldc === N) {
    // the blocks into C in one pass, in order (sum_rows_f32: C = (C0 +) s₀ + s₁ + …); block 0 copied where C is set
    const n = M * N;
    const first = accumulate ? 0 : 1;
    if (!accumulate) rt.f32.copyWithin(c >>> 2, parts >>> 2, (parts >>> 2) + n);
    if (blocks > first) rt.run('sum_rows_f32', [c, parts + first * n * 4, blocks - first, n], n, blocks * n);
    return;
  }
  // C's rows apart: row by row, block by block
  for (let i = 0; i < blocks; i++)
    for (let m = 0; m < M; m++) {
      const [dst, src] = [c + m * ldc * 4, parts + (i * M + m) * N * 4];
      if (i === 0 && !accumulate) rt.f32.copyWithin(dst >>> 2, src >>> 2, (src >>> 2) + N);
      else rt.run('accumulate_f32', [dst, src], N, N);
    }
}

/** C[M, N] (= or +=) A·Wᵀ by gemv_f32__nk, W stored [N, K] rows ldbN apart, read in place: dot products in its own order. */
export function gemvNk(
  rt: Runtime,
  c: number,
  ldc: number,
  a: number,
  ldaM: number,
  b: number,
  ldbN: number,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
): void {
  rt.run('gemv_f32__nk', [c, a, b, M, N, K, ldaM, ldbN, ldc, accumulate ? 1 : 0], N, M * N * K);
}

/**
 * Packed panels past this many bytes are made a block at a time (gemmPacked): the tied LM head of GPT-2
 * (50,257 × 768) would otherwise hold ~150 MB of packed weights, and its backward ~350 MB, in scratch.
 */
export const PACK_BUDGET_BYTES = 64 * 2 ** 20;

/**
 * gemm's packed path for any M (M, N, K ≥ 1): A into MR-row panels and B into NR-column panels of the tile in the runtime's
 * scratch block, then the output tiles over the pool. gemm calls it past GEMV_ROWS; tests and benchmarks
 * call it to compare. When the panels would pass `budget` bytes, C is made in blocks of rows (a multiple
 * of the tile's MB) and columns (a multiple of NB), each packed and multiplied on its own: every output tile
 * is the same computation on the same panels (all of K, in the same order), so the bits are the same.
 */
export function gemmPacked(
  rt: Runtime,
  c: number,
  ldc: number,
  a: number,
  ldaM: number,
  ldaK: number,
  b: number,
  ldbK: number,
  ldbN: number,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
  tile: MatmulTile = rt.kernels.matmul,
  budget = PACK_BUDGET_BYTES,
): void {
  const { MB, NB, AS } = MATMUL_TILES[tile];
  // all in one block when both operands' panels fit; else each gets half the budget, a block at least one tile's
  // rows or columns
  const whole = (M * AS + N) * K * 4 <= budget;
  const block = (rows: number, unit: number, bytesPerElement: number) => {
    if (whole || rows * K * bytesPerElement <= budget / 2) return rows;
    return Math.max(unit, Math.floor(budget / 2 / (K * bytesPerElement) / unit) * unit);
  };
  const mb = block(M, MB, 4 * AS);
  const nb = block(N, NB, 4);
  for (let j = 0; j < N; j += nb) {
    for (let i = 0; i < M; i += mb) {
      const cij = c + (i * ldc + j) * 4;
      const ai = a + i * ldaM * 4;
      const bj = b + j * ldbN * 4;
      packAndMultiply(
        rt,
        cij,
        ldc,
        ai,
        ldaM,
        ldaK,
        bj,
        ldbK,
        ldbN,
        Math.min(mb, M - i),
        Math.min(nb, N - j),
        K,
        accumulate,
        tile,
      );
    }
  }
}

function packAndMultiply(
  rt: Runtime,
  c: number,
  ldc: number,
  a: number,
  ldaM: number,
  ldaK: number,
  b: number,
  ldbK: number,
  ldbN: number,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
  tile: MatmulTile,
): void {
  const { MR, NR, MB, NB, AS } = MATMUL_TILES[tile];
  const panelsA = Math.ceil(M / MR);
  const panelsB = Math.ceil(N / NR);
  const aBytes = Math.ceil((panelsA * K * MR * AS) / 4) * 16; // B's panels start 16-byte aligned
  const ap = rt.scratch(aBytes + panelsB * K * NR * 4);
  const bp = ap + aBytes;
  const tiles = Math.ceil(M / MB) * Math.ceil(N / NB);
  const mul = [c, ap, bp, M, N, K, ldc, accumulate ? 1 : 0] as const;
  // one literal run('<name>', …) per kernel (the kernel table's test finds them)
  if (tile === '4x8s') {
    rt.run('pack_a_f32', [ap, a, M, K, ldaM, ldaK], panelsA, M * K);
    rt.run('pack_b_f32', [bp, b, K, N, ldbK, ldbN], panelsB, K * N);
    rt.run('matmul_f32__4x8s', mul, tiles, M * N * K);
  } else if (tile === '4x8p') {
    rt.run('pack_a_f32__4p', [ap, a, M, K, ldaM, ldaK], panelsA, M * K);
    rt.run('pack_b_f32', [bp, b, K, N, ldbK, ldbN], panelsB, K * N);
    rt.run('matmul_f32__4x8p', mul, tiles, M * N * K);
  } else if (tile === '2x16p') {
    rt.run('pack_a_f32__2p', [ap, a, M, K, ldaM, ldaK], panelsA, M * K);
    rt.run('pack_b_f32__16', [bp, b, K, N, ldbK, ldbN], panelsB, K * N);
    rt.run('matmul_f32__2x16p', mul, tiles, M * N * K);
  } else if (tile === '2x16') {
    rt.run('pack_a_f32__2', [ap, a, M, K, ldaM, ldaK], panelsA, M * K);
    rt.run('pack_b_f32__16', [bp, b, K, N, ldbK, ldbN], panelsB, K * N);
    rt.run('matmul_f32__2x16', mul, tiles, M * N * K);
  } else if (tile === '3x12') {
    rt.run('pack_a_f32__3', [ap, a, M, K, ldaM, ldaK], panelsA, M * K);
    rt.run('pack_b_f32__12', [bp, b, K, N, ldbK, ldbN], panelsB, K * N);
    rt.run('matmul_f32__3x12', mul, tiles, M * N * K);
  } else {
    rt.run('pack_a_f32', [ap, a, M, K, ldaM, ldaK], panelsA, M * K);
    rt.run('pack_b_f32', [bp, b, K, N, ldbK, ldbN], panelsB, K * N);
    rt.run('matmul_f32', mul, tiles, M * N * K);
  }
}

/**
 * C[M,N] (= or +=) op(A)·op(B) for contiguous row-major operands: the three forms a linear layer needs
 * (A·B, A·Bᵀ, Aᵀ·B) and Aᵀ·Bᵀ.
 */
export function matmulInto(
  rt: Runtime,
  c: number,
  a: number,
  b: number,
  M: number,
  N: number,
  K: number,
  layout: MatmulLayout = {},
): void {
  const [ldaM, ldaK] = layout.transposeA ? [1, M] : [K, 1];
  const [ldbK, ldbN] = layout.transposeB ? [1, K] : [N, 1];
  gemm(rt, c, N, a, ldaM, ldaK, b, ldbK, ldbN, M, N, K, !!layout.accumulate);
}

/** The [M, K, N] of op(A)·op(B) for 2-D shapes, or a ShapeError saying what does not fit. */
function matmulDims(
  aShape: readonly number[],
  bShape: readonly number[],
  layout: MatmulLayout,
): [number, number, number] {
  if (aShape.length !== 2 || bShape.length !== 2) {
    throw new ShapeError(`matmul takes 2-D tensors, got [${aShape.join(', ')}] and [${bShape.join(', ')}]`);
  }
  const [M, Ka] = layout.transposeA ? [aShape[1]!, aShape[0]!] : [aShape[0]!, aShape[1]!];
  const [Kb, N] = layout.transposeB ? [bShape[1]!, bShape[0]!] : [bShape[0]!, bShape[1]!];
  if (Ka !== Kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: A${layout.transposeA ? 'ᵀ' : ''} is [${M}, ${Ka}] and B${layout.transposeB ? 'ᵀ' : ''} is [${Kb}, ${N}]`,
    );
  }
  return [M, Ka, N];
}

/**
 * Differentiable op(A)·op(B) for 2-D tensors → [M, N] in the step region.
 * Backward (each += into the gradient): for C = A·B, dA += dC·Bᵀ and dB += Aᵀ·dC; the transposed forms
 * follow by transposing the matching factor.
 */
export function matmul(a: Tensor, b: Tensor, layout: Omit<MatmulLayout, 'accumulate'> = {}): Tensor {
  const e = a.engine;
  const [M, K, N] = matmulDims(a.shape, b.shape, layout);
  const c = e.empty([M, N], 'step');
  const rt = e.runtime;
  const tA = !!layout.transposeA;
  const tB = !!layout.transposeB;
  matmulInto(rt, c.ptr, a.ptr, b.ptr, M, N, K, layout);
  if (e.needsGrad(a, b)) {
    e.record([c], () => {
      const dC = c.grad!;
      if (a.requiresGrad) {
        const dA = e.gradOf(a).ptr;
        // A [M,K]: dA = dC·op(B)ᵀ ; A stored [K,M]: dA = op(B)·dCᵀ
        if (!tA) matmulInto(rt, dA, dC.ptr, b.ptr, M, K, N, { transposeB: !tB, accumulate: true });
        else matmulInto(rt, dA, b.ptr, dC.ptr, K, M, N, { transposeA: tB, transposeB: true, accumulate: true });
      }
      if (b.requiresGrad) {
        const dB = e.gradOf(b).ptr;
        // B [K,N]: dB = op(A)ᵀ·dC ; B stored [N,K]: dB = dCᵀ·op(A)
        if (!tB) matmulInto(rt, dB, a.ptr, dC.ptr, K, N, M, { transposeA: !tA, accumulate: true });
        else matmulInto(rt, dB, dC.ptr, a.ptr, N, K, M, { transposeA: true, transposeB: tA, accumulate: true });
      }
    });
  }
  return c;
}
