// GELU, elementwise; work items = elements, a range may start anywhere (unaligned f32x4 loads), the
// scalar tail runs the same vector code on one lane, so every element's bits are independent of the split.
// erf:  y = x·Φ(x), Φ(x) = ½·erfc(−x/√2);  y' = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
// tanh: y = x·σ(2u) (= ½x(1 + tanh u)), u = √(2/π)(x + 0.044715x³);  y' = σ + x·2u'·σ(1 − σ).
// gate (T5 v1.1 gated-gelu, tanh form): y = gelu_tanh(a)·b;  da += dy·b·gelu'(a), db += dy·gelu_tanh(a).
// Forward writes (=) y and, when a gradient is wanted, the derivative y' (=) beside it, from the same e^ (the tanh
// form: σ's; the erf form: Φ, plus φ's own e^): backward is then a product, dx += dy·y' (mul_bwd_f32), with no
// transcendental. The gate's backward (+=) into da, db recomputes them.

import { exp_f32x4 } from './math';

// Size: the erf derivative's helpers and the tanh form's derivative stay out of line (one copy each, a call per
// four elements); the forwards (GPT-2's tanh, BERT's and BART's erf) are inlined into their vector bodies.
// Measured on the reference GPT's [1024, 512]: tanh fwd+bwd 2.95 → 3.3 ms out of line, erf 7.9 → 10.5 ms.
// The erf forward inlined with one e^ (geluErf) took bias + GELU over BERT-base's [1024, 3072] from 7.2 to
// 4.8 ns an element (Zen 5, one thread; 1.95 for the tanh form), +2.5 KB of each build; P(t) by Estrin's
// scheme (erfcP) to 3.5–3.7.

// erfc(z) = t·e^(−z² + P(t)), t = 1/(1 + z/2) (Numerical Recipes' Chebyshev fit, relative error
// < 1.1e-7 for all z ≥ 0), for z = |x|/√2. The derivative needs e^(−z²) = e^(−x²/2) on its own (φ): it is taken
// with x split into xh (12 significant bits: xh² exact) and xl: e^(−xh²/2) · e^(−xl(x + xh)/2), the second by Taylor.
const HALF_RSQRT2: f32 = 0.353553390593273762; // ½·(1/√2)
const RSQRT_2PI: f32 = 0.398942280401432678; // 1/√(2π)
const X_MAX: f32 = 15.0; // Φ(−15) = 3.7e−51: 0 in f32, so |x| is clamped here
const K0: f32 = 1.59576912160573071; // 2·√(2/π)
const K1: f32 = 0.0713548162726008; // 2·√(2/π)·0.044715
const K1x3: f32 = 0.2140644488178024; // 3·K1
const EXP_ARG_MAX: f32 = 88.0; // σ's e^(−2u) kept finite in backward, so σ²·e is 0, never 0·inf
const E_ARG_MAX: f32 = 1.6516363e38; // e^EXP_ARG_MAX, the same bound on e^(−2u) once taken

/** e^(−x²/2) for |x| ≤ X_MAX, to a few ulp (the square taken exactly, in two parts). */
function gauss(xc: v128): v128 {
  const xh = v128.and(xc, i32x4.splat(0xfffff000));
  const xl = f32x4.sub(xc, xh);
  const a = f32x4.mul(f32x4.mul(xh, xh), f32x4.splat(-0.5)); // exact
  const b = f32x4.mul(f32x4.mul(xl, f32x4.add(xc, xh)), f32x4.splat(-0.5)); // |b| < x²·2^−11 ≤ 0.11
  // e^b to b^5 (error below about 3e-9)
  let p = f32x4.splat(1.0 / 120.0);
  p = f32x4.add(f32x4.mul(p, b), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, b), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, b), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, b), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, b), f32x4.splat(1.0));
  return f32x4.mul(exp_f32x4(a), p);
}

/** t = 1/(1 + z/2) for z = |xc|/√2, and P(t): erfc(z) = t·e^(−z² + P(t)). */
// @ts-ignore: decorator
@inline
function erfcT(xc: v128): v128 {
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), f32x4.mul(f32x4.abs(xc), f32x4.splat(HALF_RSQRT2))));
}
// @ts-ignore: decorator
@inline
function erfcP(t: v128): v128 {
  // Estrin's scheme, not Horner's: terms in pairs, pairs of pairs, then t⁸. Four multiply-adds deep instead of
  // nine: the erf form is bound by its chain's latency, not by its operations (bias + GELU over BERT-base's
  // [1024, 3072]: 4.7 → 3.5 ns an element, Zen 5, one thread)
  const t2 = f32x4.mul(t, t);
  const t4 = f32x4.mul(t2, t2);
  const q0 = f32x4.add(f32x4.mul(t, f32x4.splat(1.00002368)), f32x4.splat(-1.26551223));
  const q1 = f32x4.add(f32x4.mul(t, f32x4.splat(0.09678418)), f32x4.splat(0.37409196));
  const q2 = f32x4.add(f32x4.mul(t, f32x4.splat(0.27886807)), f32x4.splat(-0.18628806));
  const q3 = f32x4.add(f32x4.mul(t, f32x4.splat(1.48851587)), f32x4.splat(-1.13520398));
  const q4 = f32x4.add(f32x4.mul(t, f32x4.splat(0.17087277)), f32x4.splat(-0.82215223));
  const low = f32x4.add(f32x4.add(f32x4.mul(t2, q1), q0), f32x4.mul(t4, f32x4.add(f32x4.mul(t2, q3), q2)));
  return f32x4.add(low, f32x4.mul(f32x4.mul(t4, t4), q4));
}

/** Φ(x) = half or 1 − half (as x < 0 or not), given half = ½·erfc(|x|/√2). */
// @ts-ignore: decorator
@inline
function cdfOf(xc: v128, half: v128): v128 {
  return v128.bitselect(half, f32x4.sub(f32x4.splat(1.0), half), f32x4.lt(xc, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline
function clampX(x: v128): v128 {
  // pmin/pmax (one instruction each on x86; min/max's NaN rules cost ~8), x first so NaN stays NaN
  return f32x4.pmax(f32x4.pmin(x, f32x4.splat(X_MAX)), f32x4.splat(-X_MAX));
}

/**
 * gelu(x) (erf form) with one e^: ½·erfc(|x|/√2) = ½·t·e^(P(t) − x²/2), the square rounded. Its error in the
 * exponent, ≤ (x²/2 + |P|)·2⁻²⁴, is ≤ 4e−7 of y wherever |y| > 0.05 and far below 1e−7 of y elsewhere.
 * Inlined into the forward bodies (the scalar tails call geluErfOne).
 */
// @ts-ignore: decorator
@inline
function geluErf(x: v128): v128 {
  const xc = clampX(x);
  const t = erfcT(xc);
  const e = exp_f32x4(f32x4.add(erfcP(t), f32x4.mul(f32x4.mul(xc, xc), f32x4.splat(-0.5))));
  return f32x4.mul(x, cdfOf(xc, f32x4.mul(f32x4.mul(t, f32x4.splat(0.5)), e)));
}
function geluErfOne(x: v128): v128 {
  return geluErf(x);
}

/**
 * gelu(x) (erf form), and its derivative Φ(x) + x·φ(x) stored at d (all four lanes, or lane 0 alone if `one`): Φ
 * from the forward's e^, φ from its own.
 */
function geluErfWithGrad(x: v128, d: usize, one: bool): v128 {
  const xc = clampX(x);
  const t = erfcT(xc);
  const e = exp_f32x4(f32x4.add(erfcP(t), f32x4.mul(f32x4.mul(xc, xc), f32x4.splat(-0.5))));
  const phi = cdfOf(xc, f32x4.mul(f32x4.mul(t, f32x4.splat(0.5)), e));
  storeGrad(d, f32x4.add(phi, f32x4.mul(x, f32x4.mul(gauss(xc), f32x4.splat(RSQRT_2PI)))), one);
  return f32x4.mul(x, phi);
}

/** σ(2u) = 1/(1 + e^(−2u)); e^(−2u) may be +inf (then σ = 0). */
// @ts-ignore: decorator
@inline
function sigma2u(x: v128): v128 {
  const u2 = f32x4.mul(x, f32x4.add(f32x4.splat(K0), f32x4.mul(f32x4.splat(K1), f32x4.mul(x, x))));
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), exp_f32x4(f32x4.neg(u2))));
}

// @ts-ignore: decorator
@inline
function geluTanh(x: v128): v128 {
  return f32x4.mul(x, sigma2u(x));
}

/** Stores v at d, or its lane 0 alone if `one` (a scalar tail: the element after d may not be ours). */
// @ts-ignore: decorator
@inline
function storeGrad(d: usize, v: v128, one: bool): void {
  if (one) store<f32>(d, f32x4.extract_lane(v, 0));
  else v128.store(d, v);
}

/**
 * gelu_tanh(x), and its derivative stored at d (as geluErfWithGrad) from the same e^: σ + x·2u'·σ·(σ·e), e clamped (as
 * geluTanhGrad's, EXP_ARG_MAX) so that σ·e is never 0·∞: the forward's bits, and geluTanhGrad's wherever
 * e^(−2u) ≤ e^88 (x > −10.4).
 */
function geluTanhWithGrad(x: v128, d: usize, one: bool): v128 {
  const x2 = f32x4.mul(x, x);
  const u2 = f32x4.mul(x, f32x4.add(f32x4.splat(K0), f32x4.mul(f32x4.splat(K1), x2)));
  const e = exp_f32x4(f32x4.neg(u2));
  const s = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), e));
  const du2 = f32x4.add(f32x4.splat(K0), f32x4.mul(f32x4.splat(K1x3), x2));
  const ec = f32x4.pmin(e, f32x4.splat(E_ARG_MAX));
  storeGrad(d, f32x4.add(s, f32x4.mul(f32x4.mul(x, du2), f32x4.mul(s, f32x4.mul(s, ec)))), one);
  return f32x4.mul(x, s);
}

function geluTanhGrad(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const u2 = f32x4.mul(x, f32x4.add(f32x4.splat(K0), f32x4.mul(f32x4.splat(K1), x2)));
  const e = exp_f32x4(f32x4.pmin(f32x4.neg(u2), f32x4.splat(EXP_ARG_MAX)));
  const s = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), e));
  const du2 = f32x4.add(f32x4.splat(K0), f32x4.mul(f32x4.splat(K1x3), x2));
  // σ(1 − σ) = σ·(σ·e): exact in the tails where 1 − σ would cancel
  return f32x4.add(s, f32x4.mul(f32x4.mul(x, du2), f32x4.mul(s, f32x4.mul(s, e))));
}

/** y[i] = gelu(x[i]) (erf form) for elements [start, end), and d[i] = gelu'(x[i]) if d != 0. */
export function gelu_fwd_f32(y: usize, d: usize, x: usize, start: i32, end: i32): void {
  geluElements(y, d, x, start, end, false);
}

/** y[i] = gelu_tanh(x[i]) for elements [start, end), and d[i] = gelu_tanh'(x[i]) if d != 0. */
export function gelu_fwd_f32__tanh(y: usize, d: usize, x: usize, start: i32, end: i32): void {
  geluElements(y, d, x, start, end, true);
}

// @ts-ignore: decorator
@inline
function geluElements(y: usize, d: usize, x: usize, start: i32, end: i32, tanh: bool): void {
  let i = start;
  if (d != 0) {
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      v128.store(y + o, tanh ? geluTanhWithGrad(v, d + o, false) : geluErfWithGrad(v, d + o, false));
    }
  } else {
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      v128.store(y + o, tanh ? geluTanh(v) : geluErf(v));
    }
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    tail(y + o, d != 0 ? d + o : 0, v128.load32_splat(x + o), tanh);
  }
}

/**
 * One element v (in every lane) through the vector code (so a tail rounds like the bodies): y = gelu(v) at y, and
 * gelu'(v) at d if d != 0.
 */
function tail(y: usize, d: usize, v: v128, tanh: bool): void {
  const r = tanh ? (d != 0 ? geluTanhWithGrad(v, d, true) : geluTanh(v)) : d != 0 ? geluErfWithGrad(v, d, true) : geluErfOne(v);
  store<f32>(y, f32x4.extract_lane(r, 0));
}

/** y[i] = gelu_tanh(a[i])·b[i] for elements [start, end). */
export function gelu_gate_fwd_f32(y: usize, a: usize, b: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(geluTanh(v128.load(a + o)), v128.load(b + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const v = f32x4.mul(geluTanh(v128.load32_splat(a + o)), v128.load32_splat(b + o));
    store<f32>(y + o, f32x4.extract_lane(v, 0));
  }
}

/**
 * da[i] += dy[i]·b[i]·gelu_tanh'(a[i]) (if flags & 1), db[i] += dy[i]·gelu_tanh(a[i]) (if flags & 2),
 * for elements [start, end).
 */
export function gelu_gate_bwd_f32(da: usize, db: usize, dy: usize, a: usize, b: usize, flags: i32, start: i32, end: i32): void {
  const wantA = (flags & 1) != 0;
  const wantB = (flags & 2) != 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(dy + o);
    const av = v128.load(a + o);
    if (wantA) v128.store(da + o, f32x4.add(v128.load(da + o), f32x4.mul(f32x4.mul(g, v128.load(b + o)), geluTanhGrad(av))));
    if (wantB) v128.store(db + o, f32x4.add(v128.load(db + o), f32x4.mul(g, geluTanh(av))));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const g = v128.load32_splat(dy + o);
    const av = v128.load32_splat(a + o);
    if (wantA) {
      const d = f32x4.mul(f32x4.mul(g, v128.load32_splat(b + o)), geluTanhGrad(av));
      store<f32>(da + o, load<f32>(da + o) + f32x4.extract_lane(d, 0));
    }
    if (wantB) store<f32>(db + o, load<f32>(db + o) + f32x4.extract_lane(f32x4.mul(g, geluTanh(av)), 0));
  }
}

// Bias + GELU in one pass (a linear's epilogue, after its matmul wrote u = x·W with `=`): work items = rows of C;
// y = gelu(u + b) (=), and with `grad` u[r, c] = gelu'(u + b) (=: what backward multiplies by). Without it u is only
// read. Each element's bits are independent of the split (rows, any count).

/** y[r, c] = gelu(u[r, c] + b[c]) (erf form) for rows [start, end) of C; u[r, c] = gelu'(…) if grad != 0. */
export function bias_gelu_fwd_f32(y: usize, u: usize, b: usize, C: i32, grad: i32, start: i32, end: i32): void {
  biasGeluRows(y, u, b, C, grad != 0, start, end, false);
}

/** y[r, c] = gelu_tanh(u[r, c] + b[c]) for rows [start, end) of C; u[r, c] = gelu_tanh'(…) if grad != 0. */
export function bias_gelu_fwd_f32__tanh(y: usize, u: usize, b: usize, C: i32, grad: i32, start: i32, end: i32): void {
  biasGeluRows(y, u, b, C, grad != 0, start, end, true);
}

// @ts-ignore: decorator
@inline
function biasGeluRows(y: usize, u: usize, b: usize, C: i32, grad: bool, start: i32, end: i32, tanh: bool): void {
  const row = (<usize>C) << 2;
  for (let r = start; r < end; r++) {
    const ur = u + <usize>r * row;
    const yr = y + <usize>r * row;
    let c = 0;
    if (grad) {
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const v = f32x4.add(v128.load(ur + o), v128.load(b + o));
        v128.store(yr + o, tanh ? geluTanhWithGrad(v, ur + o, false) : geluErfWithGrad(v, ur + o, false));
      }
    } else {
      // the erf form eight at a time: two chains in flight (it is bound by its latency; 3.5 → 2.85 ns an element
      // over BERT-base's [1024, 3072], Zen 5, one thread; +2 KB a build). Both loaded before either store: a
      // store keeps a later load (and its chain) behind it
      if (!tanh)
        for (; c + 8 <= C; c += 8) {
          const o = <usize>c << 2;
          const v = f32x4.add(v128.load(ur + o), v128.load(b + o));
          const w = f32x4.add(v128.load(ur + o, 16), v128.load(b + o, 16));
          v128.store(yr + o, geluErf(v));
          v128.store(yr + o, geluErf(w), 16);
        }
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const v = f32x4.add(v128.load(ur + o), v128.load(b + o));
        v128.store(yr + o, tanh ? geluTanh(v) : geluErf(v));
      }
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      tail(yr + o, grad ? ur + o : 0, f32x4.add(v128.load32_splat(ur + o), v128.load32_splat(b + o)), tanh);
    }
  }
}
