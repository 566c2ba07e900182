import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { SelfAttention, CrossAttention } from '../../src/nn/attention.js';
import { RotaryEmbedding } from '../../src/nn/rotary.js';
import { TransformerBlock, type BlockConfig } from '../../src/nn/block.js';
import { FeedForward } from '../../src/nn/feed-forward.js';
import { Embedding, LayerNorm, Linear, RMSNorm } from '../../src/nn/layers.js';
import type { Module } from '../../src/nn/module.js';
import { Engine } from '../../src/tensor/engine.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../util/check.js';

/**
 * Module-level gradient checks: every parameter and the input of each module against central finite
 * differences of the module's own float32 forward (h = 1e-2, a sample of entries per tensor). The ops
 * inside are checked against float64 references one by one (tests/grad); this checks their wiring.
 */
function checkModule(e: Engine, m: Module, input: Tensor | null, forward: () => Tensor, seed: number, h = 1e-2) {
  const rng = new Rng(seed);
  const y0 = e.noGrad(forward);
  const w = randn(y0.size, seed + 1);
  e.endStep();
  const loss = () => {
    const y = e.noGrad(forward).toArray();
    e.endStep();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!;
    return s;
  };
  const y = forward();
  e.gradOf(y).set(w);
  e.tape.replay();
  const targets: [string, Tensor][] = [...m.namedParameters()];
  if (input) targets.push(['input', input]);
  const analytic = new Map(targets.map(([n, t]) => [n, t.grad ? t.grad.toArray() : new Float32Array(t.size)]));
  e.endStep();
  for (const [name, t] of targets) {
    const g = analytic.get(name)!;
    for (let s = 0; s < Math.min(6, t.size); s++) {
      const i = rng.int(t.size);
      const v = t.view()[i]!;
      t.view()[i] = v + h;
      const up = loss();
      t.view()[i] = v - h;
      const down = loss();
      t.view()[i] = v;
      const fd = (up - down) / (2 * h);
      const tol = 2e-2 * Math.max(1, Math.abs(fd));
      expect(Math.abs(g[i]! - fd), `${name}[${i}]: analytic ${g[i]}, finite difference ${fd}`).toBeLessThan(tol);
    }
  }
  for (const [, t] of targets) if (t.grad) t.grad.view().fill(0);
}

describe('modules: gradients of every parameter and input', () => {
  let e: Engine;
  const rng = new Rng(3);
  const init = () => rng.normal() * 0.3;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });
  const input = (shape: number[], seed: number) =>
    e.parameter(
      'x',
      randn(
        shape.reduce((a, b) => a * b),
        seed,
      ),
      shape,
    );

  it('Linear (both layouts), LayerNorm, RMSNorm, Embedding', () => {
    for (const layout of ['out_in', 'in_out'] as const) {
      const lin = new Linear(e, 5, 7, { layout, init });
      const x = input([2, 3, 5], 1);
      checkModule(e, lin, x, () => lin.forward(x), 10);
    }
    const ln = new LayerNorm(e, 7, 1e-5);
    ln.weight.set(randn(7, 2, 0.5, 1.5));
    ln.bias!.set(randn(7, 3));
    const x = input([3, 7], 4);
    checkModule(e, ln, x, () => ln.forward(x), 11);
    const rms = new RMSNorm(e, 7, 1e-6);
    rms.weight.set(randn(7, 5, 0.5, 1.5));
    checkModule(e, rms, x, () => rms.forward(x), 12);
    const emb = new Embedding(e, 11, 6, init);
    const ids = Int32Array.from([3, 1, 3, 10, 0, 3]);
    checkModule(e, emb, null, () => emb.forward(ids, [2, 3]), 13);
  });

  it('FeedForward with every activation', () => {
    for (const activation of ['gelu', 'gelu_tanh', 'relu', 'gated-gelu', 'swiglu'] as const) {
      const ff = new FeedForward(e, 6, 10, activation, { bias: activation !== 'gated-gelu', layout: 'out_in', init });
      const x = input([2, 3, 6], 20);
      // ReLU's kink: a smaller step, so that no sampled pre-activation crosses 0
      checkModule(e, ff, x, () => ff.forward(x), 21, activation === 'relu' ? 1e-3 : 1e-2);
    }
  });

  it('SelfAttention (causal, padded, biased) and CrossAttention', () => {
    const shape = {
      dModel: 8,
      heads: 2,
      headDim: 3,
      bias: true,
      layout: 'in_out' as const,
      scale: 1 / Math.sqrt(3),
      init,
    };
    const sa = new SelfAttention(e, shape, true);
    const x = input([2, 5, 8], 30);
    const keyMask = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    checkModule(e, sa, x, () => sa.forward(x, { keyMask }), 31);
    const bias = e.parameter('bias', randn(2 * 5 * 5, 32), [2, 5, 5]);
    checkModule(e, sa, bias, () => sa.forward(x, { positionBias: bias }), 33);
    const ca = new CrossAttention(e, { ...shape, layout: 'out_in' });
    const mem = input([2, 4, 8], 34);
    checkModule(e, ca, mem, () => ca.forward(x, ca.project(mem), Int32Array.from([1, 1, 1, 0, 1, 1, 1, 1])), 35);
  });

  it('SelfAttention with grouped-query heads and rotary positions (LLaMA), padded, at offset positions', () => {
    const rotary = new RotaryEmbedding(e, 4, 10_000, 64);
    const sa = new SelfAttention(
      e,
      { dModel: 8, heads: 4, kvHeads: 2, headDim: 4, bias: true, layout: 'out_in', scale: 0.5, init, rotary },
      true,
    );
    const x = input([2, 5, 8], 36);
    const keyMask = Int32Array.from([1, 1, 1, 1, 1, 0, 1, 1, 1, 1]);
    const positions = Int32Array.from([3, 4, 5, 6, 7, 40, 41, 42, 43, 44]);
    checkModule(e, sa, x, () => sa.forward(x, { keyMask, positions }), 37);
    expect(() => sa.forward(x)).toThrow(/needs the positions/);
    e.endStep();
    rotary.dispose();
  });

  it('TransformerBlock: pre and post norm, with cross-attention', () => {
    const base: BlockConfig = {
      dModel: 8,
      heads: 2,
      headDim: 4,
      dFF: 12,
      activation: 'gelu',
      norm: 'pre',
      normType: 'layernorm',
      eps: 1e-5,
      bias: true,
      layout: 'out_in',
      causal: true,
      cross: false,
      scale: 0.5,
      init,
    };
    for (const config of [
      base,
      { ...base, norm: 'post' as const, causal: false },
      { ...base, normType: 'rmsnorm' as const, bias: false, cross: true, activation: 'gated-gelu' as const },
    ]) {
      const block = new TransformerBlock(e, config);
      const x = input([2, 4, 8], 40);
      const mem = input([2, 3, 8], 41);
      const fwd = () => block.forward(x, config.cross ? { memoryKV: block.cross!.project(mem) } : {});
      checkModule(e, block, x, fwd, 42);
    }
  });
});

describe('TransformerBlock causality', () => {
  it("a causal block's output at t never changes when later inputs change; a bidirectional one's does", async () => {
    const e = await Engine.create({ threads: 2 });
    const rng = new Rng(5);
    for (const causal of [true, false]) {
      const block = new TransformerBlock(e, {
        dModel: 16,
        heads: 4,
        headDim: 4,
        dFF: 32,
        activation: 'gelu_tanh',
        norm: 'pre',
        normType: 'layernorm',
        eps: 1e-5,
        bias: true,
        layout: 'in_out',
        causal,
        cross: false,
        scale: 0.5,
        init: () => rng.normal() * 0.2,
      });
      const a = randn(9 * 16, 1);
      const b = a.slice();
      b.set(randn(3 * 16, 2), 6 * 16); // positions 6, 7, 8 change
      const ya = e.noGrad(() => block.forward(e.tensor(a, [1, 9, 16])).toArray());
      const yb = e.noGrad(() => block.forward(e.tensor(b, [1, 9, 16])).toArray());
      const early = (y: Float32Array) => Array.from(y.subarray(0, 6 * 16));
      if (causal) expect(early(yb)).toEqual(early(ya));
      else expect(early(yb)).not.toEqual(early(ya));
      e.endStep();
    }
    await e.dispose();
  });
});
