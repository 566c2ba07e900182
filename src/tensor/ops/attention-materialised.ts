import type { Tensor } from '../tensor.js';
import { resolveAttention, type AttentionOptions, type Strided } from './attention.js';
import { gemm } from './matmul.js';
import { softmaxBackwardInto, softmaxInto } from './softmax.js';

/**
 * The same attention as `attention`, materialised: scores S [B, H, Tq, Tk] by the matmul kernel, the
 * softmax kernel (scale and causal mask inside it) in place, then P·V. O(T²) memory: S/P, and in
 * backward dP and dS. The reference for the fused kernels in tests and benchmarks. With a bias or a key
 * mask, scale·S + bias and the −∞ of padded keys are applied on the host (a reference path, not a fast one).
 */
export function attentionMaterialised(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const e = q.engine;
  const rt = e.runtime;
  const a = resolveAttention(q, k, v, opts);
  const { B, H, Tq, Tk, D, causal } = a;
  const bias = opts.bias;
  const mask = opts.keyMask;
  const hostScores = !!bias || !!mask;
  const smScale = hostScores ? 1 : a.scale;
  const at = (s: Strided, t: Tensor, b: number, h: number) => t.ptr + (s.offset + b * s.batch + h * s.head) * 4;
  // query head h reads KV head ⌊h / G⌋ (grouped-query attention); its gradients add up over the group in order
  const G = a.Hkv > 0 ? H / a.Hkv : 1;
  const kv = (s: Strided, t: Tensor, b: number, h: number) => at(s, t, b, Math.floor(h / G));
  const oAt = (ptr: number, b: number, h: number) => ptr + (b * Tq * H + h) * D * 4; // [B, Tq, H, D]
  const sAt = (ptr: number, b: number, h: number) => ptr + (b * H + h) * Tq * Tk * 4; // [B, H, Tq, Tk]
  const o = e.zeros([B, Tq, H * D], 'step');
  const P = e.empty([B, H, Tq, Tk], 'step'); // S, then P = softmax(S) in place
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      gemm(rt, sAt(P.ptr, b, h), Tk, at(a.q, q, b, h), a.q.row, 1, kv(a.k, k, b, h), 1, a.k.row, Tq, Tk, D, false);
    }
  }
  if (hostScores) {
    const s = P.view();
    const bv = bias?.toArray();
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < Tq; i++) {
          const r = ((b * H + h) * Tq + i) * Tk;
          for (let j = 0; j < Tk; j++) {
            s[r + j] =
              mask && mask[b * Tk + j] === 0 ? -Infinity : a.scale * s[r + j]! + (bv ? bv[(h * Tq + i) * Tk + j]! : 0);
          }
        }
      }
    }
  }
  if (P.size > 0) softmaxInto(rt, P.ptr, P.ptr, B * H * Tq, Tk, Tq, causal, smScale);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      gemm(rt, oAt(o.ptr, b, h), H * D, sAt(P.ptr, b, h), Tk, 1, kv(a.v, v, b, h), a.v.row, 1, Tq, D, Tk, false);
    }
  }
  if (e.needsGrad(q, k, v, bias)) {
    e.record([o], () => {
      const dO = o.grad!;
      const dP = e.empty([B, H, Tq, Tk], 'step');
      const dS = e.zeros([B, H, Tq, Tk], 'step');
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          // dP = dO·Vᵀ ; dV += Pᵀ·dO
          gemm(rt, sAt(dP.ptr, b, h), Tk, oAt(dO.ptr, b, h), H * D, 1, kv(a.v, v, b, h), 1, a.v.row, Tq, Tk, D, false);
          if (v.requiresGrad) {
            gemm(
              rt,
              kv(a.v, e.gradOf(v), b, h),
              a.v.row,
              sAt(P.ptr, b, h),
              1,
              Tk,
              oAt(dO.ptr, b, h),
              H * D,
              1,
              Tk,
              D,
              Tq,
              true,
            );
          }
        }
      }
      if (dS.size > 0) softmaxBackwardInto(rt, dS.ptr, P.ptr, dP.ptr, B * H * Tq, Tk, Tq, causal, smScale);
      if (hostScores) {
        const ds = dS.view();
        if (bias?.requiresGrad) {
          const g = e.gradOf(bias).view();
          for (let b = 0; b < B; b++) for (let x = 0; x < H * Tq * Tk; x++) g[x] = g[x]! + ds[b * H * Tq * Tk + x]!;
        }
        for (let x = 0; x < ds.length; x++) ds[x] = ds[x]! * a.scale;
      }
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          // dQ += dS·K ; dK += dSᵀ·Q
          if (q.requiresGrad) {
            gemm(
              rt,
              at(a.q, e.gradOf(q), b, h),
              a.q.row,
              sAt(dS.ptr, b, h),
              Tk,
              1,
              kv(a.k, k, b, h),
              a.k.row,
              1,
              Tq,
              D,
              Tk,
              true,
            );
          }
          if (k.requiresGrad) {
            gemm(
              rt,
              kv(a.k, e.gradOf(k), b, h),
              a.k.row,
              sAt(dS.ptr, b, h),
              1,
              Tk,
              at(a.q, q, b, h),
              a.q.row,
              1,
              Tk,
              D,
              Tq,
              true,
            );
          }
        }
      }
    });
  }
  return o;
}
