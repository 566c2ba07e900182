// Cross-entropy fused with log-softmax. logits [N, V], labels [N] int32, ignoreIndex rows are skipped.
// fwd: lse[i] = log Σ_j e^x_ij; loss[i] = lse − (1−ε)·x_iy − ε·mean_j x_ij (0 for an ignored row); and, if
//      g ≠ 0, g[i, :] = softmax_i − q_i (=), q = (1−ε)·onehot(y) + ε/V (a zero row if ignored). One item: a row.
// bwd: dlogits (+= or =) scale·g with scale = dloss / count; dlogits may be g itself (scaled in place).
//      One item: 1024 elements.
// A row is read from memory once: blocks of 1024 logits (L1) give a block max, then e^(x−M) summed with a
// running max M (the sum is rescaled when M rises); the gradient pass re-reads the row from L2.

import { exp_f32, exp_f32x4, hmax_f32x4, hsum_f32x4, log_f64 } from './math';

const BLOCK: i32 = 1024;
const CHUNK: i32 = 1024;

/**
 * Per-row loss and logsumexp for rows [start, end), and the unscaled gradient g when g != 0 (the
 * pointer 0 never holds a tensor). smoothing is ε in [0, 1].
 */
export function cross_entropy_fwd_f32(loss: usize, lse: usize, g: usize, logits: usize, labels: usize,
                                      V: i32, ignoreIndex: i32, smoothing: f32, start: i32, end: i32): void {
  const rowBytes = <usize>V << 2;
  const V4 = V & ~3;
  const uniform: f32 = smoothing / <f32>V; // ε/V: the smoothing mass on every class
  for (let i = start; i < end; i++) {
    const x = logits + <usize>i * rowBytes;
    const gi = g + <usize>i * rowBytes;
    const y = load<i32>(labels + (<usize>i << 2));
    if (y == ignoreIndex) {
      store<f32>(loss + (<usize>i << 2), 0);
      store<f32>(lse + (<usize>i << 2), 0);
      if (g != 0) memory.fill(gi, 0, rowBytes);
      continue;
    }
    // pass 1: running max M, per-lane Σ e^(x−M) and Σ x
    let M: f32 = -Infinity;
    let S = f32x4.splat(0);
    let SX = f32x4.splat(0);
    let sTail: f32 = 0;
    let sxTail: f32 = 0;
    for (let j0 = 0; j0 < V4; j0 += BLOCK) {
      const j1 = min(V4, j0 + BLOCK);
      let mv = f32x4.splat(-Infinity);
      for (let j = j0; j < j1; j += 4) {
        const v = v128.load(x + (<usize>j << 2));
        mv = f32x4.max(mv, v);
        SX = f32x4.add(SX, v);
      }
      const bm = hmax_f32x4(mv);
      if (bm > M) {
        S = f32x4.mul(S, f32x4.splat(exp_f32(M - bm)));
        M = bm;
      }
      if (M == -Infinity && bm == -Infinity) continue; // all −inf so far: every term is 0 (NaN goes on)
      const mm = f32x4.splat(M);
      for (let j = j0; j < j1; j += 4) {
        S = f32x4.add(S, exp_f32x4(f32x4.sub(v128.load(x + (<usize>j << 2)), mm)));
      }
    }
    if (V4 < V) {
      let bm: f32 = -Infinity;
      for (let j = V4; j < V; j++) {
        const v = load<f32>(x + (<usize>j << 2));
        bm = max(bm, v);
        sxTail += v;
      }
      if (bm > M) {
        const c = exp_f32(M - bm);
        S = f32x4.mul(S, f32x4.splat(c));
        M = bm;
      }
      if (!(M == -Infinity && bm == -Infinity)) {
        for (let j = V4; j < V; j++) sTail += exp_f32(load<f32>(x + (<usize>j << 2)) - M);
      }
    }
    const sum = hsum_f32x4(S) + sTail;
    const logZ: f64 = <f64>M + log_f64(<f64>sum);
    const xy: f64 = <f64>load<f32>(x + (<usize>y << 2));
    const eps: f64 = <f64>smoothing;
    let l: f64 = logZ - (1 - eps) * xy;
    if (smoothing != 0) l -= eps * (<f64>(hsum_f32x4(SX) + sxTail) / <f64>V);
    store<f32>(loss + (<usize>i << 2), <f32>l);
    store<f32>(lse + (<usize>i << 2), <f32>logZ);
    if (g == 0) continue;
    // pass 2: g = e^(x−M)/Σ − ε/V, then g[y] −= 1−ε
    const inv = f32x4.splat(<f32>(1.0 / <f64>sum));
    const mm = f32x4.splat(M);
    const u = f32x4.splat(uniform);
    for (let j = 0; j < V4; j += 4) {
      const p = f32x4.mul(exp_f32x4(f32x4.sub(v128.load(x + (<usize>j << 2)), mm)), inv);
      v128.store(gi + (<usize>j << 2), f32x4.sub(p, u));
    }
    const invS = <f32>(1.0 / <f64>sum);
    for (let j = V4; j < V; j++) {
      store<f32>(gi + (<usize>j << 2), exp_f32(load<f32>(x + (<usize>j << 2)) - M) * invS - uniform);
    }
    const gy = gi + (<usize>y << 2);
    store<f32>(gy, load<f32>(gy) - (1 - smoothing));
  }
}

/**
 * dlogits[k] = (accumulate ? dlogits[k] : 0) + scale·g[k] for chunks [start, end) of CHUNK elements;
 * n is N·V. dlogits may equal g (then accumulate is 0: an in-place scale).
 */
export function cross_entropy_bwd_f32(dlogits: usize, g: usize, scale: f32, n: i32, accumulate: i32,
                                      start: i32, end: i32): void {
  const k0 = start * CHUNK;
  const k1 = min(n, end * CHUNK);
  const k4 = k0 + ((k1 - k0) & ~3);
  const s = f32x4.splat(scale);
  if (accumulate != 0) {
    for (let k = k0; k < k4; k += 4) {
      const d = dlogits + (<usize>k << 2);
      v128.store(d, f32x4.add(v128.load(d), f32x4.mul(s, v128.load(g + (<usize>k << 2)))));
    }
    for (let k = k4; k < k1; k++) {
      const d = dlogits + (<usize>k << 2);
      store<f32>(d, load<f32>(d) + scale * load<f32>(g + (<usize>k << 2)));
    }
  } else {
    for (let k = k0; k < k4; k += 4) {
      v128.store(dlogits + (<usize>k << 2), f32x4.mul(s, v128.load(g + (<usize>k << 2))));
    }
    for (let k = k4; k < k1; k++) {
      store<f32>(dlogits + (<usize>k << 2), scale * load<f32>(g + (<usize>k << 2)));
    }
  }
}
