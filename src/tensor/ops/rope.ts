/**
 * Rotary position embeddings (RoPE) as Hugging Face's LLaMA applies them: `q·cos + rotate_half(q)·sin`, where
 * rotate_half pairs the first half of each head with its second half (not neighbouring elements).
 * Forward: per row at position p and head, y[i] = x[i]·cos − x[i+D/2]·sin, y[i+D/2] = x[i+D/2]·cos + x[i]·sin,
 * with cos, sin of p·θ^(−2i/D). Backward is the rotation by −p·θ^(−2i/D): dx += Rᵀ·dy.
 * Columns past `rotated` pass through (the values of a fused q|k|v row), so one op turns a q|k|v projection
 * into rotated q|k and unchanged v.
 */
import { ShapeError } from '../../errors.js';
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';

/**
 * cos and sin for positions [0, length) of a head of `headDim`: [length, headDim], row p = cos(p·f_0 … p·f_{D/2−1}),
 * sin(…), f_i = 1 / θ^(2i/D). Computed in float32 step by step as transformers' LlamaRotaryEmbedding does
 * (inv_freq, then position·inv_freq, then cos and sin, each rounded to float32), so the angles are
 * transformers' float32 angles, not exact ones: at position 8,000 those differ by up to ~5e-4 rad.
 */
export function ropeTable(e: Engine, headDim: number, theta: number, length: number): Tensor {
  checkHeadDim(headDim);
  if (!(theta > 0 && Number.isFinite(theta))) throw new ShapeError(`ropeTable: theta must be > 0, got ${theta}`);
  const half = headDim / 2;
  const f = Math.fround;
  const inv = Float32Array.from({ length: half }, (_, i) => f(1 / f(Math.pow(f(theta), f((2 * i) / headDim)))));
  const t = e.empty([length, headDim]);
  const v = t.view();
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * inv[i]!);
      v[p * headDim + i] = Math.cos(angle);
      v[p * headDim + half + i] = Math.sin(angle);
    }
  }
  return t;
}

function checkHeadDim(D: number): void {
  if (!(Number.isInteger(D) && D >= 2 && D % 2 === 0)) {
    throw new ShapeError(`rope: headDim must be an even integer ≥ 2 (a head's two halves rotate as pairs), got ${D}`);
  }
}

/**
 * x [..., W] → y [..., W]: the first `rotated` columns of each row (rotated / headDim heads; default all W) turned
 * by the angles of that row's position, the rest copied. `positions` has one entry per row (x.size / W), each
 * below the table's length (`ropeTable`).
 */
export function rope(
  x: Tensor,
  positions: Int32Array,
  table: Tensor,
  opts: { headDim: number; rotated?: number },
): Tensor {
  const e = x.engine;
  const rt = e.runtime;
  const D = opts.headDim;
  checkHeadDim(D);
  const W = x.shape[x.shape.length - 1] ?? 1;
  const R = opts.rotated ?? W;
  if (!(Number.isInteger(R) && R >= 0 && R <= W && R % D === 0)) {
    throw new ShapeError(`rope: rotated must be a multiple of headDim (${D}) in [0, ${W}] (the row width), got ${R}`);
  }
  if (table.shape.length !== 2 || table.shape[1] !== D) {
    throw new ShapeError(`rope: table must be [positions, headDim = ${D}], got [${table.shape.join(', ')}]`);
  }
  const N = W > 0 ? x.size / W : 0;
  if (positions.length !== N) {
    throw new ShapeError(`rope: ${positions.length} positions for ${N} rows of x [${x.shape.join(', ')}]`);
  }
  const P = table.shape[0]!;
  for (let r = 0; r < N; r++) {
    const p = positions[r]!;
    if (!(p >= 0 && p < P)) throw new ShapeError(`rope: position ${p} of row ${r} is outside the table's [0, ${P})`);
  }
  const pos = rt.arena.allocStep(N * 4);
  rt.i32.set(positions, pos >>> 2);
  const y = e.empty(x.shape, 'step');
  const work = N * W * 2;
  if (N > 0) rt.run('rope_fwd_f32', [y.ptr, x.ptr, pos, table.ptr, W, R, D], N, work);
  if (e.needsGrad(x)) {
    e.record([y], () => {
      if (x.requiresGrad && N > 0)
        rt.run('rope_bwd_f32', [e.gradOf(x).ptr, y.grad!.ptr, pos, table.ptr, W, R, D], N, work);
    });
  }
  return y;
}
