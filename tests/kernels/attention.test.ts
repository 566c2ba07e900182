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

  it('grouped-query attention (kvHeads < heads): every group size, causal, cached offsets, padding, fused q|k|v', () => {
    let seed = 700;
    for (const [H, Hkv] of [
      [2, 1],
      [4, 2],
      [6, 3],
      [9, 3],
      [8, 1],
    ]) {
      check({ B: 2, H: H!, Hkv: Hkv!, Tq: 17, Tk: 17, D: 8, causal: true, seed: seed++ });
      check({ B: 1, H: H!, Hkv: Hkv!, Tq: 67, Tk: 67, D: 17, causal: true, seed: seed++ });
      check({ B: 2, H: H!, Hkv: Hkv!, Tq: 4, Tk: 67, D: 5, causal: true, mask: 'some', seed: seed++ });
      check({ B: 2, H: H!, Hkv: Hkv!, Tq: 130, Tk: 130, D: 3, fused: true, causal: true, seed: seed++ });
    }
  });

  it('grouped-query attention equals multi-head attention over repeated keys and values', () => {
    const e = engines[1]!;
    for (const [H, Hkv, T, D] of [
      [4, 2, 67, 8],
      [9, 3, 17, 64],
      [6, 1, 130, 5],
    ]) {
      const c: AttnCase = { B: 2, H: H!, Hkv: Hkv!, Tq: T!, Tk: T!, D: D!, causal: true, seed: 800 + H! };
      const d = makeCase(c);
      const G = H! / Hkv!;
      // k, v [B, T, Hkv, D] → [B, T, H, D] with each KV head written G times
      const repeat = (x: Float32Array) => {
        const y = new Float32Array((x.length / Hkv!) * H!);
        for (let row = 0; row < x.length / (Hkv! * D!); row++)
          for (let h = 0; h < H!; h++)
            y.set(
              x.subarray((row * Hkv! + Math.floor(h / G)) * D!, (row * Hkv! + Math.floor(h / G) + 1) * D!),
              (row * H! + h) * D!,
            );
        return y;
      };
      const mha = { ...d, bufs: [d.bufs[0]!, repeat(d.bufs[1]!), repeat(d.bufs[2]!)], opts: { ...d.opts } };
      delete mha.opts.kvHeads;
      const g = runCase(e, attention, d, false);
      const m = runCase(e, attention, mha, false);
      expectBitIdentical(g.o, m.o, 'O');
      expectBitIdentical(g.grads[0]!, m.grads[0]!, 'dq');
      // a KV head's gradient is the sum of its group's: [B, T, H, D] summed over each group of G heads
      const groupSum = (x: Float32Array) => {
        const y = new Float64Array((x.length / H!) * Hkv!);
        for (let row = 0; row < x.length / (H! * D!); row++)
          for (let h = 0; h < H!; h++)
            for (let i = 0; i < D!; i++) y[(row * Hkv! + Math.floor(h / G)) * D! + i]! += x[(row * H! + h) * D! + i]!;
        return y;
      };
      close(g.grads[1]!, groupSum(m.grads[1]!), `dk H ${H} Hkv ${Hkv}`);
      close(g.grads[2]!, groupSum(m.grads[2]!), `dv H ${H} Hkv ${Hkv}`);
    }
  });

  it('kvHeads must divide heads', () => {
    const e = engines[0]!;
    const q = e.zeros([1, 2, 6 * 4]);
    const kv = e.zeros([1, 2, 4 * 4]);
    const opts = { batch: 1, heads: 6, kvHeads: 4, queryLen: 2, keyLen: 2, headDim: 4 };
    expect(() => attention(q, kv, kv, opts)).toThrow(/kvHeads must be an integer ≥ 1 that divides heads \(6\), got 4/);
    for (const t of [q, kv]) t.dispose();
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
      // grouped-query: B·Hkv = 2 (one pass for threads 1, 2; two passes for 3), and Hkv = 1 (two passes from 2 threads)
      { B: 1, H: 4, Hkv: 2, Tq: 130, Tk: 130, D: 17, causal: true, seed: 605 },
      { B: 1, H: 6, Hkv: 1, Tq: 67, Tk: 200, D: 8, causal: true, mask: 'some', seed: 606 },
      { B: 2, H: 9, Hkv: 3, Tq: 130, Tk: 130, D: 8, fused: true, causal: true, seed: 607 },
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
