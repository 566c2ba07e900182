// Tile helpers of the fused attention kernels (attention.ts, attention-bwd.ts): every tile product runs the
// matmul micro-kernel's shape, a 4×8 register tile of f32x4 accumulators over two packed streams: A in 4-row
// panels [k][4], B in 8-column panels [k][8], zero-padded. Each C element is one chain of adds over k in order.
// Strides in bytes. The micro-kernel and the tile loop are separate functions so V8's optimising tier takes over.

import { micro4x8 } from './matmul';
import { madd } from './math';

/** A panels [⌈rows/4⌉][K][4] from rows (element (m, k) at src + m·lds + 4k), zero past rows; 4×4 transposes. */
export function packA(dst: usize, src: usize, lds: usize, rows: i32, K: i32): void {
  const K4 = K & ~3;
  for (let m = 0; m < rows; m += 4) {
    const n = min(4, rows - m);
    const r0 = src + <usize>m * lds;
    if (n == 4) {
      const r1 = r0 + lds, r2 = r1 + lds, r3 = r2 + lds;
      let d = dst;
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const a = v128.load(r0 + o), b = v128.load(r1 + o), c = v128.load(r2 + o), e = v128.load(r3 + o);
        const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
        d += 64;
      }
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        store<f32>(d, load<f32>(r0 + o));
        store<f32>(d, load<f32>(r1 + o), 4);
        store<f32>(d, load<f32>(r2 + o), 8);
        store<f32>(d, load<f32>(r3 + o), 12);
        d += 16;
      }
    } else {
      let d = dst;
      for (let k = 0; k < K; k++) {
        v128.store(d, f32x4.splat(0));
        for (let r = 0; r < n; r++) store<f32>(d + (<usize>r << 2), load<f32>(r0 + <usize>r * lds + (<usize>k << 2)));
        d += 16;
      }
    }
    dst += <usize>K << 4;
  }
}

/** B panels [⌈N/8⌉][K][8] from K rows of N columns (element (k, n) at src + k·lds + 4n), zero past N. */
export function packB(dst: usize, src: usize, lds: usize, K: i32, N: i32): void {
  for (let n0 = 0; n0 < N; n0 += 8) {
    const cols = min(8, N - n0);
    let s = src + (<usize>n0 << 2);
    let d = dst;
    if (cols == 8) {
      for (let k = 0; k < K; k++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        s += lds;
        d += 32;
      }
    } else {
      for (let k = 0; k < K; k++) {
        v128.store(d, f32x4.splat(0));
        v128.store(d, f32x4.splat(0), 16);
        for (let j = 0; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(s + (<usize>j << 2)));
        s += lds;
        d += 32;
      }
    }
    dst += <usize>K << 5;
  }
}

/** B panels [⌈N/8⌉][K][8] of the transpose of N rows of K (element (k, n) at src + n·lds + 4k), zero past N. */
export function packBt(dst: usize, src: usize, lds: usize, N: i32, K: i32): void {
  const K4 = K & ~3;
  for (let n0 = 0; n0 < N; n0 += 8) {
    const cols = min(8, N - n0);
    const r0 = src + <usize>n0 * lds;
    if (cols == 8) {
      const r1 = r0 + lds, r2 = r1 + lds, r3 = r2 + lds, r4 = r3 + lds, r5 = r4 + lds, r6 = r5 + lds, r7 = r6 + lds;
      let d = dst;
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        let a = v128.load(r0 + o), b = v128.load(r1 + o), c = v128.load(r2 + o), e = v128.load(r3 + o);
        let t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        let t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 32);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 64);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 96);
        a = v128.load(r4 + o); b = v128.load(r5 + o); c = v128.load(r6 + o); e = v128.load(r7 + o);
        t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5); t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5); t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), 16);
        v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 48);
        v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 80);
        v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 112);
        d += 128;
      }
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        for (let j = 0; j < 8; j++) store<f32>(d + (<usize>j << 2), load<f32>(r0 + <usize>j * lds + o));
        d += 32;
      }
    } else {
      let d = dst;
      for (let k = 0; k < K; k++) {
        const o = <usize>k << 2;
        v128.store(d, f32x4.splat(0));
        v128.store(d, f32x4.splat(0), 16);
        for (let j = 0; j < cols; j++) store<f32>(d + (<usize>j << 2), load<f32>(r0 + <usize>j * lds + o));
        d += 32;
      }
    }
    dst += <usize>K << 5;
  }
}

// A causal tile's band: query row r (of the tile) sees its keys [0, r + d) only, so the micro-tiles wholly past
// that are skipped (a 64 × 64 diagonal tile does 56 % of its products). Score-like products (rows: queries,
// columns: keys; =) skip the column panels no row of the panel sees: their elements are never read. Products
// over keys (rows: queries; +=) stop each row panel's k loop after its last row's keys; products over queries
// (rows: keys; +=) start it at the first query that sees the panel's first key. What is skipped adds exact zeros
// (p = 0 where masked), so a sum's bits are those of the whole loop unless every term is zero.
export const BAND_COLS = 1, BAND_K_END = 2, BAND_K_START = 3;

/**
 * C[M][N] (= or += when add) Ap·Bp over K ≥ 1, from panels packed by packA and packB/packBt with this K; band
 * and d as above (not causal: d = w, nothing skipped).
 */
export function gemmTile(c: usize, ldc: usize, ap: usize, bp: usize, M: i32, N: i32, K: i32, add: bool,
                         band: i32, d: i32): void {
  const aStep = <usize>K << 4;
  const bStep = <usize>K << 5;
  for (let n = 0; n < N; n += 8) {
    const cols = min(8, N - n);
    let a = ap;
    for (let m = 0; m < M; m += 4) {
      const rows = min(4, M - m);
      let k0 = 0, k1 = K;
      if (band == BAND_COLS) k1 = n < m + rows - 1 + d ? K : 0;
      else if (band == BAND_K_END) k1 = min(K, m + rows - 1 + d);
      else if (band == BAND_K_START) k0 = max(0, m - d + 1);
      if (k0 < k1) micro4x8(c + <usize>m * ldc + (<usize>n << 2), ldc, a + (<usize>k0 << 4), bp + (<usize>k0 << 5), k1 - k0, rows, cols, add);
      a += aStep;
    }
    bp += bStep;
  }
}

/** Scales C_r[0, D) by f. */
// @ts-ignore: decorator
@inline
export function scaleRow(c: usize, D: i32, f: f32): void {
  const fv = f32x4.splat(f);
  let d = 0;
  for (; d + 4 <= D; d += 4) {
    const p = c + (<usize>d << 2);
    v128.store(p, f32x4.mul(v128.load(p), fv));
  }
  for (; d < D; d++) {
    const p = c + (<usize>d << 2);
    store<f32>(p, load<f32>(p) * f);
  }
}

// Direct products (the forward's DIRECT mode, for a few query rows: decoding's one): the same sums as the packed
// tiles above, each one chain of madds over k in the same order from zero, read from q, k and v where they lie.
// No packing: a decoding step's query row would otherwise pack every key tile, Kᵀ and V, to use it once.

/**
 * Scores S[r][j] (=) = Σ_d q_r[d]·k_j[d] for rows r < n and the keys j row r sees (j < r + d when causal, else
 * j < w; rounded up to 4), as gemmTile's chains; q rows at q + r·ldq, the w key rows at k + j·ldk. Four keys
 * at a time: their rows' 4 × 4 blocks transposed in registers, so each lane's sum runs over d in order.
 */
export function scoresDirect(s: usize, lds: usize, q: usize, ldq: usize, k: usize, ldk: usize, n: i32, w: i32, D: i32,
                             causal: i32, d: i32): void {
  const D4 = D & ~3;
  const last = k + <usize>(w - 1) * ldk;
  for (let r = 0; r < n; r++) {
    const cnt = causal != 0 ? min(w, r + d) : w;
    const qr = q + <usize>r * ldq;
    const sr = s + <usize>r * lds;
    for (let j = 0; j < cnt; j += 4) {
      // rows past w repeat the last key (their lanes are never read)
      const k0 = k + <usize>j * ldk;
      const k1 = min(k0 + ldk, last), k2 = min(k0 + 2 * ldk, last), k3 = min(k0 + 3 * ldk, last);
      let acc = f32x4.splat(0);
      for (let d = 0; d < D4; d += 4) {
        const o = <usize>d << 2;
        const a = v128.load(k0 + o), b = v128.load(k1 + o), c = v128.load(k2 + o), e = v128.load(k3 + o);
        const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
        const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
        acc = madd(v128.load32_splat(qr + o), v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), acc);
        acc = madd(v128.load32_splat(qr + o, 4), v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), acc);
        acc = madd(v128.load32_splat(qr + o, 8), v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), acc);
        acc = madd(v128.load32_splat(qr + o, 12), v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), acc);
      }
      for (let d = D4; d < D; d++) {
        const o = <usize>d << 2;
        let t = v128.load32_zero(k0 + o);
        t = v128.load32_lane(k1 + o, t, 1);
        t = v128.load32_lane(k2 + o, t, 2);
        t = v128.load32_lane(k3 + o, t, 3);
        acc = madd(v128.load32_splat(qr + o), t, acc);
      }
      v128.store(sr + (<usize>j << 2), acc);
    }
  }
}

/**
 * O_r[0, D) += Σ_j P[r][j]·v_j over the keys row r sees (j < r + d when causal, else j < w; P rows at p + r·ldp,
 * value rows at v + j·ldv, O rows at o + r·ldo): each element's tile sum one chain over j in order from zero,
 * then added, as gemmTile's. Its band ends a 4-row panel's chains at the panel's last row's keys, so the packed
 * sums add more terms, all p = 0 exactly: a chain from +0 never holds −0, so ±0 terms leave its bits alone
 * (with finite values: 0·∞ would not be 0).
 */
export function pvDirect(o: usize, ldo: usize, p: usize, ldp: usize, v: usize, ldv: usize, n: i32, w: i32, D: i32,
                         causal: i32, d: i32): void {
  const D16 = D & ~15;
  for (let r = 0; r < n; r++) {
    const kEnd = causal != 0 ? min(w, r + d) : w;
    const pr = p + <usize>r * ldp;
    const or = o + <usize>r * ldo;
    for (let c = 0; c < D16; c += 16) {
      const oc = <usize>c << 2;
      const z = f32x4.splat(0);
      let a0 = z, a1 = z, a2 = z, a3 = z;
      let vj = v + oc;
      for (let j = 0; j < kEnd; j++) {
        const pj = v128.load32_splat(pr + (<usize>j << 2));
        a0 = madd(pj, v128.load(vj), a0);
        a1 = madd(pj, v128.load(vj, 16), a1);
        a2 = madd(pj, v128.load(vj, 32), a2);
        a3 = madd(pj, v128.load(vj, 48), a3);
        vj += ldv;
      }
      v128.store(or + oc, f32x4.add(v128.load(or + oc), a0));
      v128.store(or + oc, f32x4.add(v128.load(or + oc, 16), a1), 16);
      v128.store(or + oc, f32x4.add(v128.load(or + oc, 32), a2), 32);
      v128.store(or + oc, f32x4.add(v128.load(or + oc, 48), a3), 48);
    }
    for (let c = D16; c < D; c += 4) {
      const oc = <usize>c << 2;
      const lanes = D - c; // 4, or the last 1–3 columns: their lanes read one by one (never past the row)
      let a = f32x4.splat(0);
      let vj = v + oc;
      for (let j = 0; j < kEnd; j++) {
        let t: v128;
        if (lanes >= 4) t = v128.load(vj);
        else {
          t = v128.load32_zero(vj);
          if (lanes > 1) t = v128.load32_lane(vj + 4, t, 1);
          if (lanes > 2) t = v128.load32_lane(vj + 8, t, 2);
        }
        a = madd(v128.load32_splat(pr + (<usize>j << 2)), t, a);
        vj += ldv;
      }
      if (lanes >= 4) v128.store(or + oc, f32x4.add(v128.load(or + oc), a));
      else {
        store<f32>(or + oc, load<f32>(or + oc) + f32x4.extract_lane(a, 0));
        if (lanes > 1) store<f32>(or + oc + 4, load<f32>(or + oc + 4) + f32x4.extract_lane(a, 1));
        if (lanes > 2) store<f32>(or + oc + 8, load<f32>(or + oc + 8) + f32x4.extract_lane(a, 2));
      }
    }
  }
}
