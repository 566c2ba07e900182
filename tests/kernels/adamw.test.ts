import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { Engine } from '../../src/tensor/engine.js';
import { adamwStep, type AdamWHyper } from '../../src/tensor/ops/adamw.js';
import { AdamWState } from '../../src/train/adamw.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { adamwRef } from '../ref/adamw.js';
import { expectBitIdentical, expectClose, randn } from '../util/check.js';

// Kernel: adamw_f32 (one AdamW step over a flat parameter; bias corrections from the host).

const SIZES = [1, 3, 4, 5, 7, 17, 64, 67, 5000];

function makeParams(e: Engine, seed: number): Tensor[] {
  return SIZES.map((n, i) => e.parameter(`layer.${i}.weight`, randn(n, seed + i, -1, 1), [n]));
}

/** Sets each parameter's gradient for step t (random, never zero, various scales). */
function setGrads(e: Engine, params: Tensor[], t: number): Float32Array[] {
  return params.map((p, i) => {
    const g = randn(p.size, 1000 * t + i, -1, 1).map((v) => v * 10 ** ((i % 3) - 1));
    e.gradOf(p).set(g);
    return g;
  });
}

describe('AdamW against a float64 reference of torch.optim.AdamW', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  for (const weightDecay of [0, 0.01]) {
    it(`10 steps, weight decay ${weightDecay}`, () => {
      const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay };
      const params = makeParams(e, 3);
      const refs = params.map((p) => ({
        p: Float64Array.from(p.toArray()),
        m: new Float64Array(p.size),
        v: new Float64Array(p.size),
      }));
      const state = new AdamWState(e);
      for (let t = 1; t <= 10; t++) {
        const grads = setGrads(e, params, t);
        adamwStep(params, state, hyper);
        refs.forEach((r, i) => adamwRef(r.p, r.m, r.v, grads[i]!, t, hyper));
      }
      params.forEach((p, i) => {
        expectClose(p.toArray(), refs[i]!.p, 1e-5, 1e-7, `param ${p.name}`);
        const named = state.toNamed();
        // m averages gradients of both signs: near zero its float32 error is that of the gradient's scale
        const gScale = 10 ** ((i % 3) - 1);
        expectClose(
          named.find((x) => x.name === `${p.name}.exp_avg`)!.data,
          refs[i]!.m,
          1e-5,
          1e-6 * gScale,
          `m ${p.name}`,
        );
        expectClose(named.find((x) => x.name === `${p.name}.exp_avg_sq`)!.data, refs[i]!.v, 1e-5, 0, `v ${p.name}`);
        expect(state.stepOf(p.name)).toBe(10);
      });
      state.dispose();
      for (const p of params) p.dispose();
    });
  }

  it('skips a parameter without a gradient (no decay, no step), as PyTorch', () => {
    const a = e.parameter('a', randn(5, 1), [5]);
    const b = e.parameter('b', randn(5, 2), [5]);
    e.gradOf(a).set(randn(5, 3));
    const before = b.toArray();
    const state = new AdamWState(e);
    adamwStep([a, b], state, { lr: 0.1, weightDecay: 0.5 });
    expect(b.toArray()).toEqual(before);
    expect(state.stepOf('a')).toBe(1);
    expect(state.stepOf('b')).toBe(0);
    state.dispose();
    a.dispose();
    b.dispose();
  });

  it('toNamed / fromNamed: 5 steps, save, load into a new state, 5 more = 10 straight (bit for bit)', () => {
    const hyper: AdamWHyper = { lr: 3e-3, weightDecay: 0.01 };
    const run = (resumeAt: number) => {
      const params = makeParams(e, 50);
      let state = new AdamWState(e);
      for (let t = 1; t <= 10; t++) {
        if (t === resumeAt) {
          const saved = state.toNamed();
          state.dispose();
          state = AdamWState.fromNamed(e, saved);
        }
        setGrads(e, params, t);
        adamwStep(params, state, hyper);
      }
      const out = params.map((p) => p.toArray());
      state.dispose();
      for (const p of params) p.dispose();
      return out;
    };
    const straight = run(0);
    const resumed = run(6);
    straight.forEach((p, i) => expectBitIdentical(resumed[i]!, p, `param ${i}`));
  });

  it('fromNamed rejects missing entries and mismatched shapes', () => {
    const p = e.parameter('w', randn(6, 4), [2, 3]);
    e.gradOf(p).set(randn(6, 5));
    const state = new AdamWState(e);
    adamwStep([p], state, { lr: 1e-3 });
    const named = state.toNamed();
    expect(named.map((x) => x.name)).toEqual(['w.exp_avg', 'w.exp_avg_sq', 'w.step']);
    expect(named[2]!.data[0]).toBe(1);
    expect(() =>
      AdamWState.fromNamed(
        e,
        named.filter((x) => x.name !== 'w.exp_avg_sq'),
      ),
    ).toThrow(CheckpointError);
    expect(() =>
      AdamWState.fromNamed(
        e,
        named.filter((x) => x.name !== 'w.step'),
      ),
    ).toThrow(/w: missing step/);
    expect(() => AdamWState.fromNamed(e, [...named, { name: 'stray', data: new Float32Array(1), shape: [1] }])).toThrow(
      CheckpointError,
    );
    expect(() =>
      AdamWState.fromNamed(
        e,
        named.map((x) => (x.name === 'w.exp_avg' ? { ...x, shape: [3, 2] } : x)),
      ),
    ).toThrow(CheckpointError);
    const loaded = AdamWState.fromNamed(
      e,
      named.map((x) => (x.name === 'w.step' ? x : { ...x, shape: [3, 2] })),
    );
    expect(() => adamwStep([p], loaded, { lr: 1e-3 })).toThrow(/shape/);
    for (const s of [state, loaded]) s.dispose();
    p.dispose();
  });
});

describe('AdamW is bit-identical for 1, 2 and 3 threads', () => {
  it('3 steps over a parameter of 100003 elements', async () => {
    const n = 100_003;
    const results: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const e = await Engine.create({ threads });
      const p = e.parameter('w', randn(n, 31), [n]);
      const state = new AdamWState(e);
      for (let t = 1; t <= 3; t++) {
        e.gradOf(p).set(randn(n, 40 + t));
        adamwStep([p], state, { lr: 1e-3, weightDecay: 0.01 });
      }
      const named = state.toNamed();
      results.push([p.toArray(), named[0]!.data, named[1]!.data]);
      await e.dispose();
    }
    for (const r of results.slice(1)) r.forEach((a, i) => expectBitIdentical(a, results[0]![i]!, ['p', 'm', 'v'][i]!));
  });
});
