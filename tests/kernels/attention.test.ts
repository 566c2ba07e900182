// Kernels: attention_fwd_f32, attention_bwd_f32__delta, attention_bwd_f32__qkv, attention_bwd_f32__dq, attention_bwd_f32__dkv.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { attentionMaterialised } from '../../src/tensor/ops/attention-materialised.js';
import { attention } from '../../src/tensor/ops/attention.js';
import { refAttention, refAttentionBackward } from '../ref/attention.js';
import { makeCase, refOf, runCase, type AttnCase, type AttnResult } from '../util/attention-case.js';
import { expectBitIdentical, expectClose } from '../util/check.js';

let engines: Engine[] = [];
beforeAll(async () => {
  engines = await Promise.all([1, 2, 3].map((threads) => Engine.create({ threads, maxMemoryMiB: 512 })));
});
afterAll(async () => {
  await Promise.all(engines.map((e) => e.dispose()));
});

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** |out − ref| ≤ rtol·|ref| + atol, atol = rtol/10·max(max|ref|, 1) (for values near zero: cancellations). */
function close(out: ArrayLike<number>, ref: ArrayLike<number>, what: string, rtol = 1e-5) {
  expectClose(out, ref, rtol, (rtol / 10) * Math.max(maxAbs(ref), 1), what);
}

/** Checks the fused op against the float64 reference and against the materialised op. */
function check(c: AttnCase, rtol = 1e-5): AttnResult {
  const e = engines[0]!;
  const d = makeCase(c);
  const fused = runCase(e, attention, d, !!c.fused);
  const mat = runCase(e, attentionMaterialised, d, !!c.fused);
  const a = refOf(e, d);
  const [qb, kb, vb] = d.bufs;
  const name = JSON.stringify(c);
  const refO = refAttention(qb!, kb!, vb!, d.bias, a);
  const g = refAttentionBackward(qb!, kb!, vb!, d.bias, a, d.dO);
  const refGrads = c.fused ? [g.dq.map((x, i) => x + g.dk[i]! + g.dv[i]!)] : [g.dq, g.dk, g.dv];
  for (const [label, r] of [
    ['fused', fused],
    ['materialised', mat],
  ] as const) {
    close(r.o, refO, `${label} O ${name}`, rtol);
    refGrads.forEach((rg, i) => close(r.grads[i]!, rg, `${label} d${'qkv'[i]} ${name}`, rtol));
    if (d.bias) close(r.dbias!, g.dbias, `${label} dbias ${name}`, rtol);
  }
  close(fused.o, mat.o, `fused vs materialised O ${name}`, rtol);
  fused.grads.forEach((x, i) => close(x, mat.grads[i]!, `fused vs materialised d${'qkv'[i]} ${name}`, rtol));
  if (d.bias) close(fused.dbias!, mat.dbias!, `fused vs materialised dbias ${name}`, rtol);
  return fused;
}

describe('fused attention vs float64 reference and the materialised version', () => {
  it('self-attention, every head dim, lengths around the SIMD width and the 64-row tile', () => {
    let seed = 1;
    for (const D of [1, 3, 8, 17, 64]) {
      for (const T of [1, 3, 4, 5, 7, 17, 64, 67]) {
        if (D === 64 && T < 17) continue;
        check({ B: 1, H: 2, Tq: T, Tk: T, D, seed: seed++ });
      }
    }
  });

  it('causal, including the Tk − Tq offset of a KV-cached step and Tq > Tk', () => {
    let seed = 200;
    for (const [Tq, Tk] of [
      [5, 5],
      [17, 17],
      [67, 67],
      [130, 130],
      [1, 67],
      [4, 67],
      [7, 3],
      [67, 65],
    ]) {
      for (const D of [3, 17]) check({ B: 2, H: 2, Tq: Tq!, Tk: Tk!, D, causal: true, seed: seed++ });
    }
  });

  it('key padding, with a fully padded batch giving zeros', () => {
    let seed = 300;
    for (const [Tq, Tk, D] of [
      [5, 7, 3],
      [17, 67, 8],
      [67, 67, 17],
      [64, 130, 4],
    ]) {
      const r = check({ B: 3, H: 2, Tq: Tq!, Tk: Tk!, D: D!, mask: 'full', seed: seed++ });
      const last = r.o.subarray(2 * Tq! * 2 * D!);
      expect(last.every((x) => x === 0)).toBe(true);
      check({ B: 2, H: 1, Tq: Tq!, Tk: Tk!, D: D!, mask: 'some', causal: Tq === Tk, seed: seed++ });
    }
  });

  it('cross-attention (Tq ≠ Tk) with a T5 bias and scale 1, hostile bias values', () => {
    let seed = 400;
    for (const [Tq, Tk, D] of [
      [3, 67, 8],
      [17, 5, 17],
      [67, 64, 1],
      [1, 7, 64],
    ]) {
      check({ B: 2, H: 3, Tq: Tq!, Tk: Tk!, D: D!, bias: true, scale: 1, seed: seed++ });
      check({ B: 2, H: 2, Tq: Tq!, Tk: Tk!, D: D!, bias: true, mask: 'some', seed: seed++ });
    }
    // bias ±1000: scores far apart, exp underflows for all but a few keys. A float32 score near 1000 is
    // rounded to ulp/2 = 3e-5, which moves p (and O) by as much relative to the float64 reference: rtol 2e-4.
    check({ B: 2, H: 2, Tq: 17, Tk: 67, D: 8, bias: true, biasRange: 1000, scale: 1, seed: 450 }, 2e-4);
    check({ B: 1, H: 2, Tq: 67, Tk: 67, D: 17, bias: true, biasRange: 1000, causal: true, seed: 451 }, 2e-4);
  });

  it('strided q, k, v from one fused [B, T, 3C] buffer (gradients add into one grad)', () => {
    let seed = 500;
    for (const [T, D, H] of [
      [5, 3, 2],
      [17, 8, 3],
      [67, 17, 2],
      [64, 64, 1],
    ]) {
      check({ B: 2, H: H!, Tq: T!, Tk: T!, D: D!, fused: true, causal: true, seed: seed++ });
      check({ B: 1, H: H!, Tq: T!, Tk: T!, D: D!, fused: true, bias: true, mask: 'some', seed: seed++ });
    }
  });

  // B·H ≥ threads (and dBias only with B = 1) runs the one-pass backward (__qkv), else __dq + __dkv: with
  // B·H = 2, threads 1 and 2 take one pass and threads 3 two, so these cases also check the two agree bit for bit.
  it('bit-identical outputs and gradients for threads 1, 2, 3 (one-pass and two-pass backward)', () => {
    for (const c of [
      { B: 1, H: 2, Tq: 130, Tk: 130, D: 17, causal: true, bias: true, mask: 'some', seed: 603 },
      { B: 1, H: 2, Tq: 67, Tk: 200, D: 5, causal: true, seed: 604 },
      { B: 2, H: 3, Tq: 130, Tk: 130, D: 17, causal: true, bias: true, mask: 'some', seed: 600 },
      { B: 1, H: 2, Tq: 67, Tk: 200, D: 64, seed: 601 },
      { B: 2, H: 2, Tq: 130, Tk: 130, D: 8, fused: true, causal: true, seed: 602 },
    ] as AttnCase[]) {
      const d = makeCase(c);
      const [a, ...rest] = engines.map((e) => runCase(e, attention, d, !!c.fused));
      for (const b of rest) {
        expectBitIdentical(b.o, a!.o, 'O');
        b.grads.forEach((g, i) => expectBitIdentical(g, a!.grads[i]!, `d${'qkv'[i]}`));
        if (a!.dbias) expectBitIdentical(b.dbias!, a!.dbias, 'dbias');
      }
    }
  });
});
