// attention_fwd_f32's two ways of multiplying (DIRECT: q, k, v read in place; or packed tiles), and the choice
// between them (AttentionTrial). Timings come from a scripted clock, so the rule is tested, not this machine's speed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { Engine } from '../../src/tensor/engine.js';
import {
  ATTENTION_DIRECT_ROWS,
  ATTENTION_TRIAL_ROWS,
  AttentionTrial,
  type AttentionPath,
} from '../../src/tensor/kernel-select.js';
import { attention } from '../../src/tensor/ops/attention.js';
import { makeCase, runCase, type AttnCase } from '../util/attention-case.js';
import { expectBitIdentical } from '../util/check.js';

let pinned: Record<AttentionPath, Engine>;
beforeAll(async () => {
  const [direct, packed] = await Promise.all(
    (['direct', 'packed'] as const).map((attention) => Engine.create({ threads: 2, kernels: { attention } })),
  );
  pinned = { direct: direct!, packed: packed! };
});
afterAll(async () => {
  await Promise.all(Object.values(pinned).map((e) => e.dispose()));
});

describe('the attention forward read in place (direct) or packed', () => {
  it('gives the same bits: odd head dims and lengths, causal offsets, padding, bias, fused q|k|v, grouped heads', () => {
    let seed = 900;
    const cases: AttnCase[] = [];
    for (const D of [1, 3, 5, 13, 16, 17, 64, 67])
      for (const [Tq, Tk] of [
        [1, 1],
        [1, 3],
        [1, 67],
        [2, 130],
        [3, 5],
        [5, 200],
        [9, 64],
      ])
        cases.push({ B: 2, H: 3, Tq: Tq!, Tk: Tk!, D, causal: seed % 2 === 0, seed: seed++ });
    cases.push(
      { B: 3, H: 2, Tq: 1, Tk: 131, D: 17, mask: 'full', seed: seed++ },
      { B: 2, H: 2, Tq: 4, Tk: 70, D: 8, mask: 'some', causal: true, seed: seed++ },
      { B: 2, H: 3, Tq: 1, Tk: 67, D: 64, bias: true, scale: 1, seed: seed++ },
      { B: 1, H: 2, Tq: 7, Tk: 129, D: 5, bias: true, biasRange: 1000, mask: 'some', seed: seed++ },
      { B: 2, H: 3, Tq: 67, Tk: 67, D: 17, fused: true, causal: true, seed: seed++ },
      { B: 2, H: 6, Hkv: 2, Tq: 1, Tk: 130, D: 64, causal: true, seed: seed++ },
      { B: 1, H: 8, Hkv: 1, Tq: 3, Tk: 77, D: 13, causal: true, mask: 'some', seed: seed++ },
      // rows past the 64-row query block, and more query rows than keys (rows that see none)
      { B: 1, H: 2, Tq: 130, Tk: 130, D: 16, causal: true, seed: seed++ },
      { B: 1, H: 2, Tq: 9, Tk: 3, D: 7, causal: true, seed },
    );
    for (const c of cases) {
      const d = makeCase(c);
      const [a, b] = (['direct', 'packed'] as const).map((p) => runCase(pinned[p], attention, d, !!c.fused));
      const name = JSON.stringify(c);
      expectBitIdentical(a!.o, b!.o, `O ${name}`);
      // the backward recomputes the scores by the packed tiles either way: the saved lse must match bit for bit too
      a!.grads.forEach((g, i) => expectBitIdentical(g, b!.grads[i]!, `d${'qkv'[i]} ${name}`));
      if (a!.dbias) expectBitIdentical(a!.dbias, b!.dbias!, `dbias ${name}`);
    }
  });

  it('engine.kernels names no attention pick when pinned; an unknown choice is an ArgumentError', async () => {
    expect(pinned.direct.kernels.attention).toEqual({});
    await expect(Engine.create({ threads: 1, kernels: { attention: 'tiles' as 'auto' } })).rejects.toThrow(
      ArgumentError,
    );
  });
});

describe('the attention trial', () => {
  /** A trial whose paths cost `cost[path]` scripted milliseconds per key; counts each path's calls. */
  function scripted(rt: Engine['runtime'], cost: Record<AttentionPath, number>) {
    let now = 0;
    const calls = { direct: 0, packed: 0 };
    const trial = new AttentionTrial(rt, () => now);
    const run = (B: number, H: number, Tq: number, Tk: number, D: number) =>
      trial.run(B, H, Tq, Tk, D, (p) => {
        now += cost[p] * Tk;
        calls[p]++;
      });
    return { trial, calls, run };
  }

  it('times both paths as the keys grow by one a call (per key, keys bucketed), then runs the faster', async () => {
    const e = await Engine.create({ threads: 1 });
    const { trial, calls, run } = scripted(e.runtime, { direct: 2, packed: 1 });
    // decoding from 600 keys: one shape (keys up to 1,024) whose calls are timed per key
    for (let Tk = 600; Tk < 608; Tk++) run(1, 12, 1, Tk, 64);
    expect(calls).toEqual({ direct: 4, packed: 4 });
    const times = trial.timings.get('1×12×1×1024×64')!;
    expect(times.direct![0]).toBeNaN();
    expect(times.direct!.slice(1)).toEqual([2, 2, 2]);
    expect(times.packed!.slice(1)).toEqual([1, 1, 1]);
    run(1, 12, 1, 608, 64);
    expect(calls.packed).toBe(5);
    expect(trial.picks()).toEqual({ '1×12×1×1024×64': 'packed' });
    run(1, 12, 1, 1025, 64); // past 1,024 keys: a new shape, timed on its own
    expect(trial.timings.size).toBe(2);
    await e.dispose();
  });

  it("keeps the fixed rule's path unless beaten by the margin; small calls and many rows are not timed", async () => {
    const e = await Engine.create({ threads: 1 });
    const { trial, calls, run } = scripted(e.runtime, { direct: 1.01, packed: 1 });
    // (picks are the process's: another test's shapes may be among them, so these use 6 heads)
    for (let i = 0; i < 9; i++) run(1, 6, ATTENTION_DIRECT_ROWS, 1000, 64); // the rule: direct, 1 % slower
    for (let i = 0; i < 9; i++) run(1, 6, ATTENTION_DIRECT_ROWS + 1, 1000, 64); // the rule: packed
    expect(trial.picks()).toMatchObject({
      [`1×6×${ATTENTION_DIRECT_ROWS}×1024×64`]: 'direct',
      [`1×6×${ATTENTION_DIRECT_ROWS + 1}×1024×64`]: 'packed',
    });
    const before = { ...calls };
    run(1, 2, 1, 40, 16); // 4·2·40·16 flops: the fixed rule, untimed
    run(1, 6, ATTENTION_TRIAL_ROWS + 1, 1000, 64); // too many rows to time: packed
    expect(calls).toEqual({ direct: before.direct + 1, packed: before.packed + 1 });
    expect(trial.timings.size).toBe(2);
    await e.dispose();
  });

  it('an auto engine decodes with the trial: the same bits as pinned paths, its picks in engine.kernels', async () => {
    const e = await Engine.create({ threads: 2 });
    const c: AttnCase = { B: 1, H: 12, Tq: 1, Tk: 700, D: 64, causal: true, seed: 990 };
    const d = makeCase(c);
    const want = runCase(pinned.packed, attention, d, false).o;
    for (let i = 0; i < 10; i++) expectBitIdentical(runCase(e, attention, d, false).o, want, `call ${i}`);
    expect(['direct', 'packed']).toContain(e.kernels.attention['1×12×1×1024×64']);
    await e.dispose();
  });
});
