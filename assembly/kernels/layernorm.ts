// LayerNorm and RMSNorm over the last dimension C; work items = rows for forward, chunks of ROWS rows
// for backward. rms = 0: y = (x − mean)·rstd·w (+ b); rms = 1: y = x·rstd·w (+ b), mean saved as 0.
// Forward saves mean and rstd per row (=). Backward: dx += rstd·(ĝ − mean(ĝ)·[!rms] − x̂·mean(ĝ·x̂)),
// ĝ = dy·w, x̂ = (x − mean)·rstd; each chunk of rows writes its dw, db partial sums (=) to parts, and
// sum_rows_f32 adds the chunks in order into dw, db: bit-identical for any thread count.
// A pointer of 0 means no bias (b, db). add_layernorm_fwd_f32 fuses a residual add in front (s = x + r, then the
// norm of s); its backward is layernorm_bwd_f32 with dx and dx2, the gradients of both inputs of the add.

import { hsum_f32x4 } from './math';

export const ROWS: i32 = 32;

export function layernorm_fwd_f32(
  y: usize,
  mean: usize,
  rstd: usize,
  x: usize,
  w: usize,
  b: usize,
  C: i32,
  eps: f32,
  rms: i32,
  start: i32,
  end: i32,
): void {
  normRows(y, x, mean, rstd, x, 0, w, b, C, eps, rms, start, end, false);
}

/**
 * The residual add fused in (post-norm blocks: norm(x + f(x))): s = x + r (=), then y = norm(s), in one pass over
 * each row. s may be y (no gradient wanted: the sum is normalised in place). The same bits as add_fwd_f32 then
 * layernorm_fwd_f32.
 */
export function add_layernorm_fwd_f32(
  y: usize,
  s: usize,
  mean: usize,
  rstd: usize,
  x: usize,
  r: usize,
  w: usize,
  b: usize,
  C: i32,
  eps: f32,
  rms: i32,
  start: i32,
  end: i32,
): void {
  normRows(y, s, mean, rstd, x, r, w, b, C, eps, rms, start, end, true);
}

/** Rows [start, end): with `fused`, s = x + r first and the norm over s; without, the norm over x (s = x). */
// @ts-ignore: decorator
@inline
function normRows(
  y: usize,
  s: usize,
  mean: usize,
  rstd: usize,
  x: usize,
  res: usize,
  w: usize,
  b: usize,
  C: i32,
  eps: f32,
  rms: i32,
  start: i32,
  end: i32,
  fused: bool,
): void {
  const C4 = C & ~3;
  const invC: f32 = 1.0 / <f32>C;
  for (let r = start; r < end; r++) {
    const off = (<usize>r * <usize>C) << 2;
    const xr = (fused ? s : x) + off;
    const yr = y + off;
    if (fused) {
      // the sum, written where the norm reads it (xr)
      const ar = x + off,
        rr = res + off;
      let c = 0;
      for (; c < C4; c += 4) {
        const o = (<usize>c) << 2;
        v128.store(xr + o, f32x4.add(v128.load(ar + o), v128.load(rr + o)));
      }
      for (; c < C; c++) {
        const o = (<usize>c) << 2;
        store<f32>(xr + o, load<f32>(ar + o) + load<f32>(rr + o));
      }
    }
    let mu: f32 = 0;
    if (rms == 0) {
      let acc = f32x4.splat(0);
      let c = 0;
      for (; c < C4; c += 4) acc = f32x4.add(acc, v128.load(xr + ((<usize>c) << 2)));
      let sum = hsum_f32x4(acc);
      for (; c < C; c++) sum += load<f32>(xr + ((<usize>c) << 2));
      mu = sum * invC;
    }
    const muv = f32x4.splat(mu);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c < C4; c += 4) {
      const d = f32x4.sub(v128.load(xr + ((<usize>c) << 2)), muv);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let ss = hsum_f32x4(acc);
    for (; c < C; c++) {
      const d = load<f32>(xr + ((<usize>c) << 2)) - mu;
      ss += d * d;
    }
    const rs: f32 = 1.0 / Mathf.sqrt(ss * invC + eps);
    store<f32>(mean + ((<usize>r) << 2), mu);
    store<f32>(rstd + ((<usize>r) << 2), rs);
    const rsv = f32x4.splat(rs);
    c = 0;
    for (; c < C4; c += 4) {
      const o = (<usize>c) << 2;
      let v = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xr + o), muv), rsv), v128.load(w + o));
      if (b) v = f32x4.add(v, v128.load(b + o));
      v128.store(yr + o, v);
    }
    for (; c < C; c++) {
      const o = (<usize>c) << 2;
      let v = (load<f32>(xr + o) - mu) * rs * load<f32>(w + o);
      if (b) v += load<f32>(b + o);
      store<f32>(yr + o, v);
    }
  }
}

/**
 * Rows of chunks [start, end) (ROWS rows each, N rows in all): dx += …; dwParts[chunk] = Σ dy·x̂ and
 * dbParts[chunk] = Σ dy over the chunk's rows (in row order). dx = 0 skips the input gradient; dx2 (≠ 0, with dx)
 * gets the same += (the two inputs of a fused residual add).
 */
export function layernorm_bwd_f32(
  dx: usize,
  dx2: usize,
  dwParts: usize,
  dbParts: usize,
  dy: usize,
  x: usize,
  mean: usize,
  rstd: usize,
  w: usize,
  N: i32,
  C: i32,
  rms: i32,
  start: i32,
  end: i32,
): void {
  const C4 = C & ~3;
  const invC: f32 = 1.0 / <f32>C;
  for (let chunk = start; chunk < end; chunk++) {
    const dwp = dwParts + ((<usize>chunk * <usize>C) << 2);
    const dbp = dbParts + ((<usize>chunk * <usize>C) << 2);
    for (let c = 0; c < C4; c += 4) {
      v128.store(dwp + ((<usize>c) << 2), f32x4.splat(0));
      if (dbParts) v128.store(dbp + ((<usize>c) << 2), f32x4.splat(0));
    }
    for (let c = C4; c < C; c++) {
      store<f32>(dwp + ((<usize>c) << 2), 0);
      if (dbParts) store<f32>(dbp + ((<usize>c) << 2), 0);
    }
    const r1 = min(N, (chunk + 1) * ROWS);
    for (let r = chunk * ROWS; r < r1; r++) {
      const off = (<usize>r * <usize>C) << 2;
      const xr = x + off;
      const gr = dy + off;
      const mu = f32x4.splat(load<f32>(mean + ((<usize>r) << 2)));
      const rs = load<f32>(rstd + ((<usize>r) << 2));
      const rsv = f32x4.splat(rs);
      // mean(ĝ) and mean(ĝ·x̂)
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let c = 0;
      for (; c < C4; c += 4) {
        const o = (<usize>c) << 2;
        const g = f32x4.mul(v128.load(gr + o), v128.load(w + o));
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mu), rsv);
        a1 = f32x4.add(a1, g);
        a2 = f32x4.add(a2, f32x4.mul(g, xh));
      }
      let s1 = hsum_f32x4(a1);
      let s2 = hsum_f32x4(a2);
      const mus = f32x4.extract_lane(mu, 0);
      for (; c < C; c++) {
        const o = (<usize>c) << 2;
        const g = load<f32>(gr + o) * load<f32>(w + o);
        s1 += g;
        s2 += g * (load<f32>(xr + o) - mus) * rs;
      }
      const m1 = f32x4.splat(rms ? 0 : s1 * invC);
      const m2 = f32x4.splat(s2 * invC);
      c = 0;
      for (; c < C4; c += 4) {
        const o = (<usize>c) << 2;
        const gy = v128.load(gr + o);
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + o), mu), rsv);
        if (dx) {
          const g = f32x4.mul(gy, v128.load(w + o));
          const d = f32x4.mul(rsv, f32x4.sub(f32x4.sub(g, m1), f32x4.mul(xh, m2)));
          v128.store(dx + off + o, f32x4.add(v128.load(dx + off + o), d));
          if (dx2) v128.store(dx2 + off + o, f32x4.add(v128.load(dx2 + off + o), d));
        }
        v128.store(dwp + o, f32x4.add(v128.load(dwp + o), f32x4.mul(gy, xh)));
        if (dbParts) v128.store(dbp + o, f32x4.add(v128.load(dbp + o), gy));
      }
      const m1s = f32x4.extract_lane(m1, 0);
      const m2s = f32x4.extract_lane(m2, 0);
      for (; c < C; c++) {
        const o = (<usize>c) << 2;
        const gy = load<f32>(gr + o);
        const xh = (load<f32>(xr + o) - mus) * rs;
        if (dx) {
          const d = rs * (gy * load<f32>(w + o) - m1s - xh * m2s);
          store<f32>(dx + off + o, load<f32>(dx + off + o) + d);
          if (dx2) store<f32>(dx2 + off + o, load<f32>(dx2 + off + o) + d);
        }
        store<f32>(dwp + o, load<f32>(dwp + o) + gy * xh);
        if (dbParts) store<f32>(dbp + o, load<f32>(dbp + o) + gy);
      }
    }
  }
}

/** dst[c] += Σ_p parts[p·C + c], p = 0 … P−1 in order, for columns [start, end). */
export function sum_rows_f32(dst: usize, parts: usize, P: i32, C: i32, start: i32, end: i32): void {
  let c = start;
  for (; c + 4 <= end; c += 4) {
    const o = (<usize>c) << 2;
    let acc = v128.load(dst + o);
    for (let p = 0; p < P; p++) acc = f32x4.add(acc, v128.load(parts + ((<usize>p * <usize>C) << 2) + o));
    v128.store(dst + o, acc);
  }
  for (; c < end; c++) {
    const o = (<usize>c) << 2;
    let acc = load<f32>(dst + o);
    for (let p = 0; p < P; p++) acc += load<f32>(parts + ((<usize>p * <usize>C) << 2) + o);
    store<f32>(dst + o, acc);
  }
}
