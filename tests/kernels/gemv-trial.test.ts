import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { Engine } from '../../src/tensor/engine.js';
import { GEMV_TRIAL_ROWS, GemvTrial, gemvTrialOf, type GemvPath } from '../../src/tensor/kernel-select.js';
import { GEMV_ROWS, gemm, gemmPacked, gemvKn } from '../../src/tensor/ops/matmul.js';
import { expectBitIdentical, randn } from '../util/check.js';

// gemm's choice, for a few rows with W stored [K, N], between the GEMV (gemv_f32__kn, in column chunks of one size
// or another) and the packed path, timed per shape (GemvTrial). Timings come from a scripted clock (each path
// advances it by a set amount), so the rule is tested, not this machine's speed.

const PATHS: GemvPath[] = ['gemv', 'gemv/256', 'gemv/64', 'gemv/k', 'packed'];

/** A trial on rt whose paths cost `cost[path]` scripted milliseconds a call; counts the calls of each. */
function scripted(rt: Engine['runtime'], cost: Partial<Record<GemvPath, number>>) {
  let now = 0;
  const calls = Object.fromEntries(PATHS.map((p) => [p, 0])) as Record<GemvPath, number>;
  const trial = new GemvTrial(rt, () => now);
  const run = (M: number, N: number, K: number) =>
    trial.run(M, N, K, M <= GEMV_ROWS ? 'gemv' : 'packed', (p) => {
      now += cost[p] ?? 10;
      calls[p]++;
    });
  return { trial, calls, run };
}

describe('the GEMV trial (W stored [K, N])', () => {
  it('one thread: times the GEMV and the packed path on a shape (first calls untimed), then runs the faster', async () => {
    const e = await Engine.create({ threads: 1 });
    const { trial, calls, run } = scripted(e.runtime, { gemv: 1, packed: 2 });
    const [M, N, K] = [12, 3072, 768]; // past GEMV_ROWS: the fixed rule would run the packed path
    for (let i = 0; i < 8; i++) run(M, N, K); // each path: 1 untimed + 3 timed calls, in turns
    expect(calls).toEqual({ gemv: 4, 'gemv/256': 0, 'gemv/64': 0, 'gemv/k': 0, packed: 4 });
    const times = trial.timings.get(`${M}×${N}×${K}`)!;
    expect(times.gemv![0]).toBeNaN();
    expect(times.gemv!.slice(1)).toEqual([1, 1, 1]);
    expect(times.packed!.slice(1)).toEqual([2, 2, 2]);
    for (let i = 0; i < 5; i++) run(M, N, K);
    expect(calls.gemv).toBe(9);
    expect(trial.picks()[`${M}×${N}×${K}`]).toBe('gemv');
    run(M, 768, 3072); // another shape is timed on its own
    expect(trial.timings.size).toBe(2);
    await e.dispose();
  });

  it('two threads: times the column chunks too, and picks the fastest', async () => {
    const e = await Engine.create({ threads: 2 });
    const costs = { gemv: 3, 'gemv/256': 2, 'gemv/64': 1.5, 'gemv/k': 1.8, packed: 2.5 };
    const { trial, calls, run } = scripted(e.runtime, costs);
    for (let i = 0; i < 20; i++) run(4, 3072, 768);
    expect(calls).toEqual({ gemv: 4, 'gemv/256': 4, 'gemv/64': 4, 'gemv/k': 4, packed: 4 });
    run(4, 3072, 768);
    expect(trial.picks()['4×3072×768']).toBe('gemv/64');
    expect(calls['gemv/64']).toBe(5);
    await e.dispose();
  });

  it("keeps the fixed rule's path unless another is faster by the margin; small products are not timed", async () => {
    const e = await Engine.create({ threads: 1 });
    const { trial, calls, run } = scripted(e.runtime, { gemv: 1.01, packed: 1 });
    for (let i = 0; i < 9; i++) run(4, 2304, 768); // the fixed rule runs the GEMV at 4 rows: packed is 1 % faster
    expect(trial.picks()['4×2304×768']).toBe('gemv');
    for (let i = 0; i < 9; i++) run(20, 2304, 768); // and the packed path at 20: the GEMV is 1 % slower
    expect(trial.picks()['20×2304×768']).toBe('packed');
    const before = { ...calls };
    run(2, 64, 64); // 2·2·64·64 flops: the fixed rule, untimed
    expect(calls).toEqual({ ...before, gemv: before.gemv + 1 });
    expect(trial.timings.has('2×64×64')).toBe(false);
    await e.dispose();
  });

  it('gemm gives the packed bits whichever path runs, every chunk size too; engine.kernels names the picks', async () => {
    const e = await Engine.create({ threads: 2 });
    expect(gemvTrialOf(e.runtime)).toBeDefined();
    const [M, N, K] = [13, 601, 300]; // 2·M·N·K ≈ 4.7·10⁶ flops: timed (from 2²⁰)
    expect(M).toBeLessThanOrEqual(GEMV_TRIAL_ROWS);
    const a = e.tensor(randn(M * K, 1));
    const w = e.tensor(randn(K * N, 2), [K, N]);
    const [c, want] = [e.tensor(new Float32Array(M * N)), e.tensor(new Float32Array(M * N))];
    gemmPacked(e.runtime, want.ptr, N, a.ptr, K, 1, w.ptr, N, 1, M, N, K, false);
    for (let i = 0; i < 22; i++) {
      gemm(e.runtime, c.ptr, N, a.ptr, K, 1, w.ptr, N, 1, M, N, K, false);
      expectBitIdentical(c.toArray(), want.toArray(), `call ${i}`);
    }
    expect(PATHS).toContain(e.kernels.gemv[`${M}×${N}×${K}`]);
    // every split of the work, over columns and over k-blocks (K = 300: two blocks), = and +=
    const c0 = randn(M * N, 3);
    const [plus, wantPlus] = [e.tensor(c0), e.tensor(c0)];
    gemmPacked(e.runtime, wantPlus.ptr, N, a.ptr, K, 1, w.ptr, N, 1, M, N, K, true);
    for (const kBlocks of [false, true])
      for (const chunk of [4, 64, 256, 604, undefined]) {
        gemvKn(e.runtime, c.ptr, N, a.ptr, K, w.ptr, N, M, N, K, false, { chunk, kBlocks });
        expectBitIdentical(c.toArray(), want.toArray(), `chunk ${chunk}, k-blocks ${kBlocks}`);
        plus.view().set(c0);
        gemvKn(e.runtime, plus.ptr, N, a.ptr, K, w.ptr, N, M, N, K, true, { chunk, kBlocks });
        expectBitIdentical(plus.toArray(), wantPlus.toArray(), `chunk ${chunk}, k-blocks ${kBlocks}, +=`);
      }
    // C's rows apart (ldc > N): the k-blocks' sums added row by row
    const ldc = N + 3;
    const c1 = randn(M * ldc, 7);
    const [strided, wantStrided] = [e.tensor(c1), e.tensor(c1)];
    gemmPacked(e.runtime, wantStrided.ptr, ldc, a.ptr, K, 1, w.ptr, N, 1, M, N, K, true);
    gemvKn(e.runtime, strided.ptr, ldc, a.ptr, K, w.ptr, N, M, N, K, true, { kBlocks: true });
    expectBitIdentical(strided.toArray(), wantStrided.toArray(), 'k-blocks, C rows ldc apart, +=');
    await e.dispose();
  });

  it("{ gemv: 'fixed' } times nothing; an unknown choice is an ArgumentError", async () => {
    const e = await Engine.create({ threads: 1, kernels: { gemv: 'fixed' } });
    expect(gemvTrialOf(e.runtime)).toBeUndefined();
    expect(e.kernels.gemv).toEqual({});
    await e.dispose();
    await expect(Engine.create({ threads: 1, kernels: { gemv: 'sometimes' as 'auto' } })).rejects.toThrow(
      ArgumentError,
    );
  });
});
