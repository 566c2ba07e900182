// SiLU (swish), elementwise: y = x·σ(x), σ(x) = 1/(1 + e), e = e^(−x);  y' = σ + x·σ(1 − σ) = σ + x·σ·(σ·e).
// gate (LLaMA's SwiGLU feed-forward, down(silu(gate(x))·up(x))): y = silu(a)·b;  da += dy·b·silu'(a),
// db += dy·silu(a). Work items = elements; a range may start anywhere (unaligned loads), the scalar tail runs
// the vector code on one lane, so bits do not depend on the split. Forward writes (=) y, backward adds (+=).

import { exp_f32x4 } from './math';

const EXP_ARG_MAX: f32 = 88.0; // e = e^(−x) kept finite (x ≥ −88), so σ·e is ≈ 1, never 0·inf

/** e^(−x), with −x clamped to 88: below x = −88, σ stays ≈ 6e−39 (silu ≈ 0, silu' ≈ 0) and σ·e finite. */
// @ts-ignore: decorator
@inline
function expNeg(x: v128): v128 {
  return exp_f32x4(f32x4.pmin(f32x4.neg(x), f32x4.splat(EXP_ARG_MAX)));
}

// @ts-ignore: decorator
@inline
function sigmoid(e: v128): v128 {
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), e));
}

function silu(x: v128): v128 {
  return f32x4.mul(x, sigmoid(expNeg(x)));
}

/** silu'(x) = σ + x·σ·(σ·e): σ(1 − σ) without the cancellation of 1 − σ where σ → 1. */
function siluGrad(x: v128): v128 {
  const e = expNeg(x);
  const s = sigmoid(e);
  return f32x4.add(s, f32x4.mul(x, f32x4.mul(s, f32x4.mul(s, e))));
}

/** y[i] = silu(x[i]) for elements [start, end). */
export function silu_fwd_f32(y: usize, x: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, silu(v128.load(x + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, f32x4.extract_lane(silu(v128.load32_splat(x + o)), 0));
  }
}

/** dx[i] += dy[i]·silu'(x[i]) for elements [start, end). */
export function silu_bwd_f32(dx: usize, dy: usize, x: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.add(v128.load(dx + o), f32x4.mul(v128.load(dy + o), siluGrad(v128.load(x + o)))));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const d = f32x4.mul(v128.load32_splat(dy + o), siluGrad(v128.load32_splat(x + o)));
    store<f32>(dx + o, load<f32>(dx + o) + f32x4.extract_lane(d, 0));
  }
}

/** y[i] = silu(a[i])·b[i] for elements [start, end). */
export function silu_gate_fwd_f32(y: usize, a: usize, b: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(silu(v128.load(a + o)), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const v = f32x4.mul(silu(v128.load32_splat(a + o)), v128.load32_splat(b + o));
    store<f32>(y + o, f32x4.extract_lane(v, 0));
  }
}

/** One lane group of the gate's backward (loads at p: one lane splat or four lanes, per `one`). */
// @ts-ignore: decorator
@inline
function gateStep(da: usize, db: usize, dy: usize, a: usize, b: usize, o: usize, wantA: bool, wantB: bool, one: bool): void {
  const g = one ? v128.load32_splat(dy + o) : v128.load(dy + o);
  const av = one ? v128.load32_splat(a + o) : v128.load(a + o);
  if (wantA) {
    const bv = one ? v128.load32_splat(b + o) : v128.load(b + o);
    const d = f32x4.mul(f32x4.mul(g, bv), siluGrad(av));
    if (one) store<f32>(da + o, load<f32>(da + o) + f32x4.extract_lane(d, 0));
    else v128.store(da + o, f32x4.add(v128.load(da + o), d));
  }
  if (wantB) {
    const d = f32x4.mul(g, silu(av));
    if (one) store<f32>(db + o, load<f32>(db + o) + f32x4.extract_lane(d, 0));
    else v128.store(db + o, f32x4.add(v128.load(db + o), d));
  }
}

/**
 * da[i] += dy[i]·b[i]·silu'(a[i]) (if flags & 1), db[i] += dy[i]·silu(a[i]) (if flags & 2), for elements
 * [start, end).
 */
export function silu_gate_bwd_f32(da: usize, db: usize, dy: usize, a: usize, b: usize, flags: i32, start: i32, end: i32): void {
  const wantA = (flags & 1) != 0;
  const wantB = (flags & 2) != 0;
  let i = start;
  for (; i + 4 <= end; i += 4) gateStep(da, db, dy, a, b, <usize>i << 2, wantA, wantB, false);
  for (; i < end; i++) gateStep(da, db, dy, a, b, <usize>i << 2, wantA, wantB, true);
}
