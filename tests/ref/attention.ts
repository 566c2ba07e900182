import type { ResolvedAttention, Strided } from '../../src/tensor/ops/attention.js';

/** Logical attention problem for the float64 reference (views as resolved by resolveAttention), with its key mask. */
export interface RefAttention extends ResolvedAttention {
  keyMask?: ArrayLike<number>;
}

const at = (s: Strided, b: number, h: number, t: number) => s.offset + b * s.batch + h * s.head + t * s.row;
/** The KV head query head h reads (grouped-query attention: H / Hkv query heads per KV head). */
const kvHead = (a: RefAttention, h: number) => Math.floor(h / (a.H / a.Hkv));

/** Probabilities [B, H, Tq, Tk] (zeros where masked, and for a row with no key), float64. */
export function refProbs(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  a: RefAttention,
): Float64Array {
  const { B, H, Tq, Tk, D } = a;
  const P = new Float64Array(B * H * Tq * Tk);
  const s = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        const lim = a.causal ? Math.min(Tk, Math.max(0, i + Tk - Tq + 1)) : Tk;
        let m = -Infinity;
        for (let j = 0; j < lim; j++) {
          if (a.keyMask && a.keyMask[b * Tk + j] === 0) {
            s[j] = -Infinity;
            continue;
          }
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[at(a.q, b, h, i) + d]! * k[at(a.k, b, kvHead(a, h), j) + d]!;
          s[j] = a.scale * dot + (bias ? bias[(h * Tq + i) * Tk + j]! : 0);
          m = Math.max(m, s[j]!);
        }
        if (m === -Infinity) continue;
        let sum = 0;
        for (let j = 0; j < lim; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j]! - m);
        const r = ((b * H + h) * Tq + i) * Tk;
        for (let j = 0; j < lim; j++) P[r + j] = s[j] === -Infinity ? 0 : Math.exp(s[j]! - m) / sum;
      }
    }
  }
  return P;
}

/** O [B, Tq, H, D] in float64. */
export function refAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  a: RefAttention,
): Float64Array {
  const { B, H, Tq, Tk, D } = a;
  const P = refProbs(q, k, bias, a);
  const o = new Float64Array(B * Tq * H * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        const r = ((b * H + h) * Tq + i) * Tk;
        const orow = ((b * Tq + i) * H + h) * D;
        for (let j = 0; j < Tk; j++) {
          const p = P[r + j]!;
          if (p === 0) continue;
          for (let d = 0; d < D; d++) o[orow + d] = o[orow + d]! + p * v[at(a.v, b, kvHead(a, h), j) + d]!;
        }
      }
    }
  }
  return o;
}

/**
 * Analytic float64 gradients for dO [B, Tq, H, D]: dq, dk, dv (each the size of its buffer, zeros elsewhere;
 * add them when q, k, v share one buffer) and dbias [H, Tq, Tk].
 */
export function refAttentionBackward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  a: RefAttention,
  dO: ArrayLike<number>,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array; dbias: Float64Array } {
  const { B, H, Tq, Tk, D } = a;
  const P = refProbs(q, k, bias, a);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const dbias = new Float64Array(H * Tq * Tk);
  const dP = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        const r = ((b * H + h) * Tq + i) * Tk;
        const orow = ((b * Tq + i) * H + h) * D;
        let dot = 0;
        for (let j = 0; j < Tk; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += dO[orow + d]! * v[at(a.v, b, kvHead(a, h), j) + d]!;
          dP[j] = s;
          dot += P[r + j]! * s;
        }
        for (let j = 0; j < Tk; j++) {
          const p = P[r + j]!;
          if (p === 0) continue;
          const ds = p * (dP[j]! - dot);
          dbias[(h * Tq + i) * Tk + j] = dbias[(h * Tq + i) * Tk + j]! + ds;
          const qi = at(a.q, b, h, i),
            kj = at(a.k, b, kvHead(a, h), j),
            vj = at(a.v, b, kvHead(a, h), j);
          for (let d = 0; d < D; d++) {
            dv[vj + d] = dv[vj + d]! + p * dO[orow + d]!;
            dq[qi + d] = dq[qi + d]! + a.scale * ds * k[kj + d]!;
            dk[kj + d] = dk[kj + d]! + a.scale * ds * q[qi + d]!;
          }
        }
      }
    }
  }
  return { dq, dk, dv, dbias };
}
