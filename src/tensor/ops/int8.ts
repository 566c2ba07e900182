import { QuantizedError } from '../../errors.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Tensor } from '../tensor.js';
import { gemm, GEMV_ROWS } from './matmul.js';

/**
 * Weight-only int8, for inference: a weight W with N output channels and K inputs kept as q [N, K] int8
 * (whatever the checkpoint's layout, so GPT-2's Conv1D [K, N] is transposed once, here) and one float32
 * scale per output channel, W[n, k] ≈ q[n, k]·scale[n], scale[n] = max_k |W[n, k]| / 127, q = round(W / scale)
 * (|q·scale − W| ≤ scale/2). A quarter of the float bytes (plus N scales).
 */
export interface Int8Weight {
  /** q [N, K] int8, rows K bytes apart. */
  readonly q: number;
  /** scale [N] float32. */
  readonly scale: number;
  readonly N: number;
  readonly K: number;
  /** The float weight's layout: 'out_in' [N, K] or 'in_out' [K, N] (transposed into q). */
  readonly layout: 'out_in' | 'in_out';
}

/** The int8 form of each quantized weight; the float tensor itself is released (quantizeWeight). */
const int8Forms = new WeakMap<Tensor, Int8Weight>();

/** The int8 form of a weight quantized by quantizeWeight, or undefined for a float weight. */
export function int8Of(t: Tensor): Int8Weight | undefined {
  return int8Forms.get(t);
}

/**
 * Quantizes a 2-D weight per output channel into engine memory and releases its float32 elements: `t` stays
 * the weight's handle (linear and embedding read its int8 form), frozen (requiresGrad false), and any read of
 * its float elements is a DISPOSED error. layout 'out_in': rows of t are the output channels ([N, K], torch
 * Linear and tied heads); 'in_out': columns are (GPT-2's Conv1D [K, N]).
 */
export function quantizeWeight(t: Tensor, layout: 'out_in' | 'in_out'): Int8Weight {
  const existing = int8Forms.get(t);
  if (existing) return existing;
  const rt = t.engine.runtime;
  const [N, K] = layout === 'out_in' ? [t.shape[0]!, t.shape[1]!] : [t.shape[1]!, t.shape[0]!];
  const qPtr = rt.arena.alloc(N * K, 'int8 weights');
  const sPtr = rt.arena.alloc(N * 4, 'int8 scales');
  const w = t.view(); // after both allocations: memory may have grown
  const q = new Int8Array(rt.u8.buffer, qPtr, N * K);
  const scales = rt.f32.subarray(sPtr >>> 2, (sPtr >>> 2) + N);
  // element (n, k) of W at w[n·sn + k·sk]
  const [sn, sk] = layout === 'out_in' ? [K, 1] : [1, N];
  for (let n = 0; n < N; n++) {
    let max = 0;
    for (let k = 0, i = n * sn; k < K; k++, i += sk) max = Math.max(max, Math.abs(w[i]!));
    const s = Math.fround(max / 127);
    scales[n] = s;
    const inv = s > 0 ? 1 / s : 0;
    for (let k = 0, i = n * sn, o = n * K; k < K; k++, i += sk, o++)
      q[o] = Math.max(-127, Math.min(127, Math.round(w[i]! * inv)));
  }
  t.requiresGrad = false;
  t.dispose();
  const form = { q: qPtr, scale: sPtr, N, K, layout };
  int8Forms.set(t, form);
  return form;
}

/** Returns a quantized weight's int8 memory to the engine (the model's dispose). */
export function releaseInt8(t: Tensor): void {
  const form = int8Forms.get(t);
  if (!form) return;
  int8Forms.delete(t);
  const arena = t.engine.runtime.arena;
  arena.release(form.q);
  arena.release(form.scale);
}

/** Float32 rows q·scale of a quantized [V, C] table gathered by (already checked) ids into out [ids, C]. */
export function gatherInt8Rows(rt: Runtime, form: Int8Weight, ids: ArrayLike<number>, out: number): void {
  const { K } = form;
  const q = new Int8Array(rt.u8.buffer, form.q, form.N * K);
  const f32 = rt.f32;
  const s0 = form.scale >>> 2;
  for (let r = 0, o = out >>> 2; r < ids.length; r++, o += K) {
    const id = ids[r]!;
    const s = f32[s0 + id]!;
    for (let k = 0, i = id * K; k < K; k++, i++) f32[o + k] = q[i]! * s;
  }
}

/** Bytes of float32 weight panels dequantized at once for the packed matmul (M > GEMV_ROWS). */
const PANEL_BYTES = 4 * 2 ** 20;
const panels = new WeakMap<Runtime, number>();

/**
 * C[M, N] (= or +=) A·Wᵀ for A [M, K] (rows contiguous) and a quantized W: up to GEMV_ROWS rows the int8
 * GEMV kernel (gemv_f32__i8: int8 read in place, scale applied per channel at the end of each sum); past it,
 * panels of W dequantized into one bounded float32 buffer (dequantize_i8_f32, kept per runtime) and multiplied by
 * the packed matmul, panel by panel.
 */
export function gemmInt8(rt: Runtime, c: number, a: number, form: Int8Weight, M: number, accumulate: boolean): void {
  const { q, scale, N, K } = form;
  if (M === 0 || N === 0) return;
  const acc = accumulate ? 1 : 0;
  if (M <= GEMV_ROWS) {
    rt.run('gemv_f32__i8', [c, a, q, scale, M, N, K, K, K, N, acc], N, M * N * K);
    return;
  }
  let buf = panels.get(rt);
  if (buf === undefined) {
    buf = rt.arena.alloc(PANEL_BYTES, 'int8 dequantization panel');
    panels.set(rt, buf);
  }
  const rows = Math.max(1, Math.floor(PANEL_BYTES / (4 * K)));
  if (rows * K * 4 > PANEL_BYTES) {
    throw new QuantizedError(`int8 matmul: one row of ${K} inputs does not fit the ${PANEL_BYTES}-byte panel`);
  }
  for (let n0 = 0; n0 < N; n0 += rows) {
    const nb = Math.min(rows, N - n0);
    rt.run('dequantize_i8_f32', [buf, q + n0 * K, scale + n0 * 4, K, K], nb, nb * K);
    // C[:, n0 … n0 + nb) (=/+=) A·panelᵀ, panel [nb, K]
    gemm(rt, c + n0 * 4, N, a, K, 1, buf, 1, K, M, nb, K, accumulate);
  }
}
