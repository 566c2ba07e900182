// Cross-entropy fused with log-softmax: logits [N, V], labels [N] int32 (ignoreIndex rows: loss 0, g row 0).
// fwd (one item = a row): lse = log Σ e^x; loss = lse − (1−ε)·x_y − ε·mean(x); if g ≠ 0, g = softmax − q (=),
//   q = (1−ε)·onehot(y) + ε/V. Passes: max from memory; Σ e^(x−M) from L2, stored in g if wanted; g ·= 1/Σ.
//   One exp per element (it costs ~10× a memory pass). NaN or +inf in a row → NaN loss, as PyTorch.
// bwd (one item = 1024 elements): dlogits (+= or =) scale·g, scale = dloss/count; dlogits may be g itself.

import { exp_f32, exp_f32x4, hmax_f32x4, hsum_f32x4, log_f64 } from './math';

const CHUNK: i32 = 1024;

/**
 * Per-row loss and logsumexp for rows [start, end), and the unscaled gradient g when g != 0 (the
 * pointer 0 never holds a tensor). smoothing is ε in [0, 1].
 */
export function cross_entropy_fwd_f32(
  loss: usize,
  lse: usize,
  g: usize,
  logits: usize,
  labels: usize,
  V: i32,
  ignoreIndex: i32,
  smoothing: f32,
  start: i32,
  end: i32,
): void {
  const rowBytes = (<usize>V) << 2;
  const V8 = V & ~7;
  const V4 = V & ~3;
  const uniform: f32 = smoothing / <f32>V; // ε/V: the smoothing mass on every class
  for (let i = start; i < end; i++) {
    const x = logits + <usize>i * rowBytes;
    const gi = g + <usize>i * rowBytes;
    const y = load<i32>(labels + ((<usize>i) << 2));
    if (y == ignoreIndex) {
      store<f32>(loss + ((<usize>i) << 2), 0);
      store<f32>(lse + ((<usize>i) << 2), 0);
      if (g != 0) memory.fill(gi, 0, rowBytes);
      continue;
    }
    // pass 1: max and Σx (pmax drops NaN here; pass 2 turns it into a NaN sum)
    let mv = f32x4.splat(-Infinity);
    let SX = f32x4.splat(0);
    for (let j = 0; j < V4; j += 4) {
      const v = v128.load(x + ((<usize>j) << 2));
      mv = f32x4.pmax(mv, v);
      SX = f32x4.add(SX, v);
    }
    let M = hmax_f32x4(mv);
    let sx = hsum_f32x4(SX);
    for (let j = V4; j < V; j++) {
      const v = load<f32>(x + ((<usize>j) << 2));
      if (v > M) M = v;
      sx += v;
    }
    // pass 2: Σ e^(x−M) in two interleaved accumulators (independent exp chains), e stored in g if wanted
    const mm = f32x4.splat(M);
    let S0 = f32x4.splat(0);
    let S1 = f32x4.splat(0);
    let j = 0;
    if (g != 0) {
      for (; j < V8; j += 8) {
        const off = (<usize>j) << 2;
        const e0 = exp_f32x4(f32x4.sub(v128.load(x + off), mm));
        const e1 = exp_f32x4(f32x4.sub(v128.load(x + off, 16), mm));
        v128.store(gi + off, e0);
        v128.store(gi + off, e1, 16);
        S0 = f32x4.add(S0, e0);
        S1 = f32x4.add(S1, e1);
      }
    } else {
      for (; j < V8; j += 8) {
        const off = (<usize>j) << 2;
        S0 = f32x4.add(S0, exp_f32x4(f32x4.sub(v128.load(x + off), mm)));
        S1 = f32x4.add(S1, exp_f32x4(f32x4.sub(v128.load(x + off, 16), mm)));
      }
    }
    let sum = hsum_f32x4(f32x4.add(S0, S1));
    for (; j < V; j++) {
      const e = exp_f32(load<f32>(x + ((<usize>j) << 2)) - M);
      if (g != 0) store<f32>(gi + ((<usize>j) << 2), e);
      sum += e;
    }
    const logZ: f64 = <f64>M + log_f64(<f64>sum);
    const eps: f64 = <f64>smoothing;
    let l: f64 = logZ - (1 - eps) * <f64>load<f32>(x + ((<usize>y) << 2));
    if (smoothing != 0) l -= eps * (<f64>sx / <f64>V);
    store<f32>(loss + ((<usize>i) << 2), <f32>l);
    store<f32>(lse + ((<usize>i) << 2), <f32>logZ);
    if (g == 0) continue;
    // pass 3: g = e/Σ − ε/V, then g[y] −= 1−ε
    const invS = <f32>(1.0 / <f64>sum);
    const inv = f32x4.splat(invS);
    const u = f32x4.splat(uniform);
    for (j = 0; j < V4; j += 4) {
      const p = gi + ((<usize>j) << 2);
      v128.store(p, f32x4.sub(f32x4.mul(v128.load(p), inv), u));
    }
    for (; j < V; j++) {
      const p = gi + ((<usize>j) << 2);
      store<f32>(p, load<f32>(p) * invS - uniform);
    }
    const gy = gi + ((<usize>y) << 2);
    store<f32>(gy, load<f32>(gy) - (1 - smoothing));
  }
}

/**
 * dlogits[k] = (accumulate ? dlogits[k] : 0) + scale·g[k] for chunks [start, end) of CHUNK elements;
 * n is N·V. dlogits may equal g (then accumulate is 0: an in-place scale).
 */
export function cross_entropy_bwd_f32(
  dlogits: usize,
  g: usize,
  scale: f32,
  n: i32,
  accumulate: i32,
  start: i32,
  end: i32,
): void {
  const k0 = start * CHUNK;
  const k1 = min(n, end * CHUNK);
  const k4 = k0 + ((k1 - k0) & ~3);
  const s = f32x4.splat(scale);
  if (accumulate != 0) {
    for (let k = k0; k < k4; k += 4) {
      const d = dlogits + ((<usize>k) << 2);
      v128.store(d, f32x4.add(v128.load(d), f32x4.mul(s, v128.load(g + ((<usize>k) << 2)))));
    }
    for (let k = k4; k < k1; k++) {
      const d = dlogits + ((<usize>k) << 2);
      store<f32>(d, load<f32>(d) + scale * load<f32>(g + ((<usize>k) << 2)));
    }
  } else {
    for (let k = k0; k < k4; k += 4) {
      v128.store(dlogits + ((<usize>k) << 2), f32x4.mul(s, v128.load(g + ((<usize>k) << 2))));
    }
    for (let k = k4; k < k1; k++) {
      store<f32>(dlogits + ((<usize>k) << 2), scale * load<f32>(g + ((<usize>k) << 2)));
    }
  }
}
