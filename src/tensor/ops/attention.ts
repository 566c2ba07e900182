import { ShapeError } from '../../errors.js';
import { attentionPath, type AttentionPath } from '../kernel-select.js';
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';

/**
 * Where one of q, k, v lives inside its tensor, in elements: element (b, h, t, d) is at
 * offset + b·batchStride + h·headStride + t·rowStride + d. Defaults read a plain [B, T, H·D] tensor; GPT's
 * fused qkv projection output [B, T, 3C] gives q, k, v as { offset: 0 | C | 2C, rowStride: 3C } of one tensor.
 */
export interface AttentionView {
  /** Element of (batch 0, head 0, row 0, d 0). Default 0. */
  offset?: number;
  /** Elements between consecutive rows (positions). Default heads·headDim. */
  rowStride?: number;
  /** Elements between heads. Default headDim. */
  headStride?: number;
  /** Elements between batch items. Default length·rowStride. */
  batchStride?: number;
}

/** Logical shapes and options of attention(q, k, v, opts): per (batch, head) softmax(scale·Q·Kᵀ + bias)·V. */
export interface AttentionOptions {
  batch: number;
  heads: number;
  /** Tq: query rows. */
  queryLen: number;
  /** Tk: keys (and values). Tk ≠ Tq for cross-attention and KV-cached decoding. */
  keyLen: number;
  /** D: head dim (any size ≥ 1). */
  headDim: number;
  /**
   * Heads of k and v (grouped-query attention): query head h reads KV head ⌊h / (heads / kvHeads)⌋, and the
   * gradients of a KV head sum over its group in head order. Divides `heads`. Default `heads`.
   */
  kvHeads?: number;
  q?: AttentionView;
  k?: AttentionView;
  v?: AttentionView;
  /** Score scale. Default 1/√D (T5 uses 1). */
  scale?: number;
  /** Query row i sees keys j ≤ i + (Tk − Tq). Default false. */
  causal?: boolean;
  /** [B, Tk] on the host: nonzero = attend, 0 = padding (copied into step memory). A row with no key gives zeros. */
  keyMask?: Int32Array | Uint8Array;
  /** Additive bias [H, Tq, Tk], broadcast over the batch (T5's relative position bias); gets a gradient. */
  bias?: Tensor;
}

/** A view resolved to element strides. */
export interface Strided {
  offset: number;
  batch: number;
  head: number;
  row: number;
}

export interface ResolvedAttention {
  B: number;
  H: number;
  /** Heads of k and v; H / Hkv query heads share each. */
  Hkv: number;
  Tq: number;
  Tk: number;
  D: number;
  scale: number;
  causal: boolean;
  q: Strided;
  k: Strided;
  v: Strided;
}

const isCount = (n: number) => Number.isInteger(n) && n >= 0;

function resolveView(
  name: string,
  t: Tensor,
  view: AttentionView | undefined,
  B: number,
  H: number,
  T: number,
  D: number,
): Strided {
  const row = view?.rowStride ?? H * D;
  const s: Strided = {
    offset: view?.offset ?? 0,
    row,
    head: view?.headStride ?? D,
    batch: view?.batchStride ?? T * row,
  };
  for (const [k, val] of Object.entries(s)) {
    if (!isCount(val)) throw new ShapeError(`attention: ${name}.${k} must be a non-negative integer, got ${val}`);
  }
  if (B > 0 && T > 0 && H > 0) {
    const last = s.offset + (B - 1) * s.batch + (H - 1) * s.head + (T - 1) * s.row + D - 1;
    if (last >= t.size) {
      throw new ShapeError(
        `attention: ${name} reads element ${last} (b ${B - 1}, h ${H - 1}, t ${T - 1}, d ${D - 1}) but its tensor ` +
          `[${t.shape.join(', ')}] has ${t.size}; check ${name}'s offset and strides`,
      );
    }
  }
  return s;
}

/** Checks the options against the tensors and fills in the defaults. */
export function resolveAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): ResolvedAttention {
  const { batch: B, heads: H, queryLen: Tq, keyLen: Tk, headDim: D } = opts;
  for (const [n, val] of Object.entries({ batch: B, heads: H, queryLen: Tq, keyLen: Tk })) {
    if (!isCount(val)) throw new ShapeError(`attention: ${n} must be a non-negative integer, got ${val}`);
  }
  if (!(Number.isInteger(D) && D >= 1)) throw new ShapeError(`attention: headDim must be an integer ≥ 1, got ${D}`);
  const Hkv = opts.kvHeads ?? H;
  if (!(Number.isInteger(Hkv) && Hkv >= 1 && H % Hkv === 0) && !(H === 0 && Hkv === 0)) {
    throw new ShapeError(`attention: kvHeads must be an integer ≥ 1 that divides heads (${H}), got ${Hkv}`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!Number.isFinite(scale)) throw new ShapeError(`attention: scale must be finite, got ${scale}`);
  if (opts.keyMask && opts.keyMask.length !== B * Tk) {
    throw new ShapeError(`attention: keyMask has ${opts.keyMask.length} entries, expected batch·keyLen = ${B * Tk}`);
  }
  const bias = opts.bias;
  if (bias && (bias.shape.length !== 3 || bias.shape[0] !== H || bias.shape[1] !== Tq || bias.shape[2] !== Tk)) {
    throw new ShapeError(
      `attention: bias must be [heads, queryLen, keyLen] = [${H}, ${Tq}, ${Tk}], got [${bias.shape.join(', ')}]`,
    );
  }
  return {
    B,
    H,
    Hkv,
    Tq,
    Tk,
    D,
    scale,
    causal: !!opts.causal,
    q: resolveView('q', q, opts.q, B, H, Tq, D),
    k: resolveView('k', k, opts.k, B, Hkv, Tk, D),
    v: resolveView('v', v, opts.v, B, Hkv, Tk, D),
  };
}

/**
 * Bytes of one kernel scratch slot (assembly/kernels/attention.ts, SLOTB): seven packed operands of 64 rows ×
 * ⌈D/8⌉·8, five 64×64 tiles, the running max and sum of 64 rows.
 */
export const slotBytes = (D: number) => 7 * 256 * Math.ceil(D / 8) * 8 + (5 * 64 * 64 + 2 * 64) * 4;
/** Int32 slots of the kernel descriptor (assembly/kernels/attention.ts). */
export const DESC = {
  B: 0,
  H: 1,
  Tq: 2,
  Tk: 3,
  D: 4,
  causal: 5,
  scale: 6,
  slots: 7,
  q: 8,
  k: 11,
  v: 14,
  slotBytes: 17,
  group: 18,
  direct: 19,
  length: 20,
} as const;

const f32bits = new Int32Array(new Float32Array([0]).buffer);
const f32val = new Float32Array(f32bits.buffer);

/** Writes the descriptor into step memory; returns its pointer. */
function writeDesc(e: Engine, a: ResolvedAttention, slots: number): number {
  const ptr = e.runtime.arena.allocStep(DESC.length * 4);
  f32val[0] = a.scale;
  const d = [a.B, a.H, a.Tq, a.Tk, a.D, a.causal ? 1 : 0, f32bits[0]!, slots];
  for (const s of [a.q, a.k, a.v]) d.push(s.batch, s.head, s.row);
  d.push(slotBytes(a.D), a.Hkv > 0 ? a.H / a.Hkv : 1, 0); // direct: the forward sets it
  e.runtime.i32.set(d, ptr >>> 2);
  return ptr;
}

/** Copies a key mask into step memory as Int32 [B, Tk]; 0 when there is none. */
export function stepMask(e: Engine, mask: Int32Array | Uint8Array | undefined): number {
  if (!mask) return 0;
  const ptr = e.runtime.arena.allocStep(mask.length * 4);
  e.runtime.i32.set(mask, ptr >>> 2);
  return ptr;
}

/**
 * Fused attention (flash-attention style): per (batch, head, 64 query rows), tiles of 64 keys stream by with
 * a running max and sum, so memory grows with T, not T². Returns O [B, Tq, H·D] (heads interleaved, ready
 * for the output projection) in the step region; saves O and lse [B, H, Tq] for backward, which recomputes
 * the scores per tile (once per tile when B·H ≥ threads, else twice) and adds (+=) into the grads of q, k, v (one grad when they share a tensor) and bias.
 * Deterministic for any thread count: every dK/dV row and dQ row is owned by one task, summed in order (with
 * grouped-query attention, a KV head's task sums its group's query heads in head order).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const e = q.engine;
  const rt = e.runtime;
  const a = resolveAttention(q, k, v, opts);
  const { B, H, Tq, Tk, D } = a;
  const bias = opts.bias;
  const o = e.empty([B, Tq, H * D], 'step');
  const lse = e.empty([B, H, Tq], 'step'); // saved: m + log Σ exp(s − m) per row, +∞ for a row with no key
  const slots = rt.threads;
  const desc = writeDesc(e, a, slots);
  const mask = stepMask(e, opts.keyMask);
  const ptrs = (s: Strided, t: Tensor) => t.ptr + s.offset * 4;
  const [qp, kp, vp] = [ptrs(a.q, q), ptrs(a.k, k), ptrs(a.v, v)];
  const work = B * H * Tq * Math.max(Tk, 1) * D * 2;
  const forward = (path: AttentionPath) => {
    rt.i32[(desc >>> 2) + DESC.direct] = path === 'direct' ? 1 : 0;
    const scratch = rt.scratch(slots * slotBytes(D)); // the direct path uses its score tile and row sums only
    rt.run('attention_fwd_f32', [o.ptr, lse.ptr, qp, kp, vp, mask, bias?.ptr ?? 0, desc, scratch], slots, work);
  };
  if (o.size > 0) attentionPath(rt, B, H, Tq, Tk, D, forward);
  if (e.needsGrad(q, k, v, bias)) {
    e.record([o], () => {
      if (o.size === 0) return;
      const dO = o.grad!;
      const grad = (s: Strided, t: Tensor) => (t.requiresGrad ? e.gradOf(t).ptr + s.offset * 4 : 0);
      const [dq, dk, dv] = [grad(a.q, q), grad(a.k, k), grad(a.v, v)];
      const dbias = bias?.requiresGrad ? e.gradOf(bias).ptr : 0;
      const delta = rt.arena.allocStep(B * H * Tq * 4); // [B, H, Tq] = Σ dO·O per row
      rt.run('attention_bwd_f32__delta', [delta, o.ptr, dO.ptr, desc], B * Tq * H, B * Tq * H * D);
      const scratch = rt.scratch(slots * slotBytes(D));
      const common = [qp, kp, vp, dO.ptr, lse.ptr, delta, mask, bias?.ptr ?? 0, desc, scratch] as const;
      // One pass (S and dP once) when every thread gets a (batch, KV head) and dBias has one writer per element;
      // otherwise dQ (+ dBias) and dK, dV in two passes over more tasks. Both add the same bits in the same order.
      if (B * a.Hkv >= slots && (dbias === 0 || B === 1)) {
        rt.run('attention_bwd_f32__qkv', [dq, dk, dv, dbias, ...common], slots, 3 * work);
      } else {
        if (dq !== 0 || dbias !== 0) rt.run('attention_bwd_f32__dq', [dq, dbias, ...common], slots, 2 * work);
        if (dk !== 0 || dv !== 0) rt.run('attention_bwd_f32__dkv', [dk, dv, ...common], slots, 2 * work);
      }
    });
  }
  return o;
}
