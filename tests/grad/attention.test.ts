import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { attentionMaterialised } from '../../src/tensor/ops/attention-materialised.js';
import { attention } from '../../src/tensor/ops/attention.js';
import { refAttention } from '../ref/attention.js';
import { makeCase, refOf, runCase, type AttnCase } from '../util/attention-case.js';
import { expectClose } from '../util/check.js';
import { finiteDifferences } from '../util/gradcheck.js';

let e: Engine;
beforeAll(async () => {
  e = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
});
afterAll(async () => {
  await e.dispose();
});

const CASES: AttnCase[] = [
  { B: 2, H: 2, Tq: 3, Tk: 3, D: 3, causal: true, seed: 1 },
  { B: 1, H: 2, Tq: 2, Tk: 5, D: 4, causal: true, seed: 2 }, // KV-cached step: Tk − Tq offset
  { B: 2, H: 1, Tq: 3, Tk: 5, D: 5, bias: true, mask: 'full', scale: 1, seed: 3 }, // cross, T5 bias, padded batch
  { B: 2, H: 2, Tq: 4, Tk: 4, D: 1, fused: true, bias: true, mask: 'some', seed: 4 }, // one [B, T, 3C] buffer
  { B: 2, H: 4, Hkv: 2, Tq: 3, Tk: 3, D: 3, causal: true, seed: 5 }, // grouped-query: dK, dV sum over the group
  { B: 1, H: 3, Hkv: 1, Tq: 2, Tk: 4, D: 2, causal: true, mask: 'some', seed: 6 }, // one KV head, cached offset
  { B: 1, H: 4, Hkv: 2, Tq: 4, Tk: 4, D: 2, fused: true, causal: true, seed: 7 }, // one [B, T, (H + 2Hkv)·D] buffer
];

describe('attention gradients by finite differences (float64 reference)', () => {
  for (const c of CASES) {
    for (const [label, fn] of [
      ['fused', attention],
      ['materialised', attentionMaterialised],
    ] as const) {
      it(`${label} ${JSON.stringify(c)}`, () => {
        const d = makeCase(c);
        const a = refOf(e, d);
        const r = runCase(e, fn, d, !!c.fused);
        const inputs = c.fused ? [d.bufs[0]!] : [...d.bufs];
        if (d.bias) inputs.push(d.bias);
        const f = (xs: Float64Array[]) => {
          const [q, k, v] = c.fused ? [xs[0]!, xs[0]!, xs[0]!] : xs;
          return refAttention(q!, k!, v!, d.bias ? xs[xs.length - 1]! : null, a);
        };
        const fd = finiteDifferences(f, inputs, d.dO);
        const got = c.fused ? [r.grads[0]!] : r.grads;
        got.forEach((g, i) => expectClose(g, fd[i]!, 1e-3, 1e-5, `${label} d${c.fused ? 'qkv' : 'qkv'[i]}`));
        if (d.bias) expectClose(r.dbias!, fd[fd.length - 1]!, 1e-3, 1e-5, `${label} dbias`);
      });
    }
  }
});
