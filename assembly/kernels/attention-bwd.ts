// Backward of the fused attention (attention.ts), recomputing scores per (64 queries × 64 keys) tile from q, k
// and the saved lse: p = exp(scale·q·k + bias − lse), ds = p·(dO·v − delta), dQ += scale·ds·k,
// dK += scale·ds·q, dV += p·dO, dBias[h] += ds. Every product is a packed 4×8 micro-kernel tile
// (attention-tiles.ts); each dQ row gets one add per key tile in key order, each dK/dV row one add per query
// block in query order, whichever kernel runs them: __qkv (one task per (b, KV head) owning dQ, dK, dV, dBias
// of B = 1, one recompute of S and dP) or __dq + __dkv (more, smaller tasks) give the same bits. With grouped
// query heads (G per KV head) a dK/dV row gets its group's heads in head order, each over query blocks in order.
// Work items are scratch slots, as in the forward.
import { exp_f32x4 } from './math';
import { BAND_COLS, BAND_K_END, BAND_K_START, gemmTile, packA, packB, packBt } from './attention-tiles';
import {
  arg, bandOffset, base, keyLimit, packBytes, taskRange, zigzag,
  B_, BK, BQ, CAUSAL, D_, GROUP, H_, KS, LDT, QS, SCALE, SLOTB, SLOTS, TILE, TK, TQ, VS,
  QA, DOA, KP, VP, KB, QB, DOB, TS, TDP, TPT, TDST, TDSA,
} from './attention';

/** Packs the query side of a block of n rows: Q and dO as A panels; as B panels too when dK/dV are wanted. */
function packQueries(sl: usize, pk: usize, qp: usize, ldq: usize, dOp: usize, ldo: usize, n: i32, D: i32, kv: bool): void {
  packA(sl + QA * pk, qp, ldq, n, D);
  packA(sl + DOA * pk, dOp, ldo, n, D);
  if (kv) {
    packB(sl + QB * pk, qp, ldq, n, D);
    packB(sl + DOB * pk, dOp, ldo, n, D);
  }
}

/** Packs the key side of a tile of w keys: Kᵀ and Vᵀ as B panels; K as B panels when dQ is wanted. */
function packKeys(sl: usize, pk: usize, kp: usize, ldk: usize, vp: usize, ldv: usize, w: i32, D: i32, q: bool): void {
  packBt(sl + KP * pk, kp, ldk, w, D);
  packBt(sl + VP * pk, vp, ldv, w, D);
  if (q) packB(sl + KB * pk, kp, ldk, w, D);
}

/**
 * One tile: queries [i0, i0 + n) (packed by packQueries) × keys [kt0, kt0 + w) (packed by packKeys) of (b, h).
 * S and dP by the micro-kernel, then p and ds per row (4 keys at a time, dead lanes exactly 0), stored as
 * Pᵀ and scale·dsᵀ A panels [keys/4][n][4] and scale·ds rows in the S tile; then dQ (dqp ≠ 0), dBias
 * (dbr ≠ 0: row i0 of dBias[h] at key kt0), dK, dV (≠ 0) += their tile products.
 */
function tilePair(sl: usize, pk: usize, D: i32, n: i32, w: i32, i0: i32, kt0: i32, Tq: i32, Tk: i32, causal: i32,
                  scale: f32, lseRow: usize, deltaRow: usize, mk: usize, br: usize, dbr: usize,
                  dqp: usize, ldq: usize, dkp: usize, ldk: usize, dvp: usize, ldv: usize): void {
  const tiles = sl + 7 * pk;
  const tS = tiles + TS * TILE, tP = tiles + TDP * TILE, tPT = tiles + TPT * TILE, tDST = tiles + TDST * TILE;
  const d = bandOffset(i0, kt0, Tq, Tk, causal, w);
  gemmTile(tS, LDT, sl + QA * pk, sl + KP * pk, n, w, D, false, BAND_COLS, d);
  gemmTile(tP, LDT, sl + DOA * pk, sl + VP * pk, n, w, D, false, BAND_COLS, d);
  const sv = f32x4.splat(scale);
  const ninf = f32x4.splat(-Infinity);
  const zero = f32x4.splat(0);
  const lanes = i32x4(0, 1, 2, 3);
  const panel = <usize>n << 4; // bytes of one Pᵀ / dsᵀ panel
  const ldb = <usize>Tk << 2; // bias and dBias row stride
  for (let r = 0; r < n; r++) {
    const cnt = min(w, keyLimit(i0 + r, Tq, Tk, causal) - kt0);
    const srow = tS + <usize>r * LDT;
    const prow = tP + <usize>r * LDT;
    const L = load<f32>(lseRow + (<usize>r << 2));
    const live = cnt > 0 && L != Infinity;
    const Lv = f32x4.splat(L), Dv = f32x4.splat(load<f32>(deltaRow + (<usize>r << 2)));
    const brr = br != 0 ? br + <usize>r * ldb : 0;
    const dbrr = dbr != 0 ? dbr + <usize>r * ldb : 0;
    let pt = tPT + (<usize>r << 4);
    let dst = tDST + (<usize>r << 4);
    for (let c = 0; c < w; c += 4) {
      const oc = <usize>c << 2;
      let p = zero, ds = zero;
      if (live && c < cnt) {
        let s = f32x4.mul(v128.load(srow + oc), sv);
        if (c + 4 <= cnt) {
          if (brr != 0) s = f32x4.add(s, v128.load(brr + oc));
          if (mk != 0) s = v128.bitselect(s, ninf, i32x4.ne(v128.load(mk + oc), i32x4.splat(0)));
        } else {
          // the last, partial chunk: lanes past cnt are dead; bias and mask read lane by lane (never past the row)
          let alive = i32x4.lt_s(lanes, i32x4.splat(cnt - c));
          if (brr != 0) {
            let bv = f32x4.replace_lane(zero, 0, load<f32>(brr + oc));
            if (c + 1 < cnt) bv = f32x4.replace_lane(bv, 1, load<f32>(brr + oc + 4));
            if (c + 2 < cnt) bv = f32x4.replace_lane(bv, 2, load<f32>(brr + oc + 8));
            s = f32x4.add(s, bv);
          }
          if (mk != 0) {
            let mv = i32x4.replace_lane(i32x4.splat(0), 0, load<i32>(mk + oc));
            if (c + 1 < cnt) mv = i32x4.replace_lane(mv, 1, load<i32>(mk + oc + 4));
            if (c + 2 < cnt) mv = i32x4.replace_lane(mv, 2, load<i32>(mk + oc + 8));
            alive = v128.and(alive, i32x4.ne(mv, i32x4.splat(0)));
          }
          s = v128.bitselect(s, ninf, alive);
        }
        const dead = f32x4.eq(s, ninf);
        p = v128.andnot(exp_f32x4(f32x4.sub(s, Lv)), dead);
        ds = v128.andnot(f32x4.mul(p, f32x4.sub(v128.load(prow + oc), Dv)), dead);
        if (dbrr != 0) {
          if (c + 4 <= cnt) v128.store(dbrr + oc, f32x4.add(v128.load(dbrr + oc), ds));
          else {
            store<f32>(dbrr + oc, load<f32>(dbrr + oc) + f32x4.extract_lane(ds, 0));
            if (c + 1 < cnt) store<f32>(dbrr + oc + 4, load<f32>(dbrr + oc + 4) + f32x4.extract_lane(ds, 1));
            if (c + 2 < cnt) store<f32>(dbrr + oc + 8, load<f32>(dbrr + oc + 8) + f32x4.extract_lane(ds, 2));
          }
        }
      }
      ds = f32x4.mul(ds, sv);
      v128.store(pt, p);
      v128.store(dst, ds);
      v128.store(srow + oc, ds);
      pt += panel;
      dst += panel;
    }
  }
  if (dqp != 0) {
    const dsa = tiles + TDSA * TILE;
    packA(dsa, tS, LDT, n, w);
    gemmTile(dqp, ldq, dsa, sl + KB * pk, n, D, w, true, BAND_K_END, d);
  }
  if (dvp != 0) gemmTile(dvp, ldv, tPT, sl + DOB * pk, w, D, n, true, BAND_K_START, d);
  if (dkp != 0) gemmTile(dkp, ldk, tDST, sl + QB * pk, w, D, n, true, BAND_K_START, d);
}

/** Byte offset of dBias[h, i, j] / bias[h, i, j]. */
// @ts-ignore: decorator
@inline
function biasAt(h: i32, i: i32, j: i32, Tq: i32, Tk: i32): usize {
  return (<usize>(h * Tq + i) * <usize>Tk + <usize>j) << 2;
}

/**
 * dq, dk, dv (+=, their strides) or 0, dbias [H, Tq, Tk] (+=, only with B = 1) or 0; dO [B, Tq, H, D];
 * lse, delta [B, H, Tq]. Tasks: (b, KV head), each over its G query heads in order, each over query blocks in
 * order and, in each, key tiles in order.
 */
export function attention_bwd_f32__qkv(dq: usize, dk: usize, dv: usize, dbias: usize, q: usize, k: usize, v: usize,
                                      dO: usize, lse: usize, delta: usize, mask: usize, bias: usize, desc: usize,
                                      scratch: usize, start: i32, end: i32): void {
  const B = arg(desc, B_), H = arg(desc, H_), Tq = arg(desc, TQ), Tk = arg(desc, TK), D = arg(desc, D_);
  const causal = arg(desc, CAUSAL);
  const scale = reinterpret<f32>(arg(desc, SCALE));
  const ldq = <usize>arg(desc, QS + 2) << 2, ldk = <usize>arg(desc, KS + 2) << 2, ldv = <usize>arg(desc, VS + 2) << 2;
  const ldo = <usize>(H * D) << 2;
  const pk = packBytes(D);
  const wantKV = dk != 0 || dv != 0;
  const G = arg(desc, GROUP), HK = H / G;
  for (let slot = start; slot < end; slot++) {
    const sl = scratch + <usize>slot * <usize>arg(desc, SLOTB);
    const range = taskRange(slot, arg(desc, SLOTS), B * HK);
    for (let t = <i32>range; t < <i32>(range >> 32); t++) {
      const b = t / HK, g = t % HK;
      const kb = base(k, desc, KS, b, g), vb = base(v, desc, VS, b, g);
      const mk = mask != 0 ? mask + ((<usize>b * <usize>Tk) << 2) : 0;
      for (let h = g * G; h < (g + 1) * G; h++) {
        const qb = base(q, desc, QS, b, h);
        const dOb = dO + ((<usize>b * <usize>Tq * <usize>H + <usize>h) * <usize>D << 2);
        const st = (<usize>(b * H + h) * <usize>Tq) << 2;
        for (let i0 = 0; i0 < Tq; i0 += BQ) {
          const n = min(BQ, Tq - i0);
          packQueries(sl, pk, qb + <usize>i0 * ldq, ldq, dOb + <usize>i0 * ldo, ldo, n, D, wantKV);
          const kend = keyLimit(i0 + n - 1, Tq, Tk, causal);
          for (let kt0 = 0; kt0 < kend; kt0 += BK) {
            const w = min(BK, kend - kt0);
            packKeys(sl, pk, kb + <usize>kt0 * ldk, ldk, vb + <usize>kt0 * ldv, ldv, w, D, dq != 0);
            tilePair(sl, pk, D, n, w, i0, kt0, Tq, Tk, causal, scale, lse + st + (<usize>i0 << 2), delta + st + (<usize>i0 << 2),
                     mk != 0 ? mk + (<usize>kt0 << 2) : 0,
                     bias != 0 ? bias + biasAt(h, i0, kt0, Tq, Tk) : 0,
                     dbias != 0 ? dbias + biasAt(h, i0, kt0, Tq, Tk) : 0,
                     dq != 0 ? base(dq, desc, QS, b, h) + <usize>i0 * ldq : 0, ldq,
                     dk != 0 ? base(dk, desc, KS, b, g) + <usize>kt0 * ldk : 0, ldk,
                     dv != 0 ? base(dv, desc, VS, b, g) + <usize>kt0 * ldv : 0, ldv);
          }
        }
      }
    }
  }
}

/** dq (+=, q's strides) or 0, dbias [H, Tq, Tk] (+=) or 0. Tasks: (head, block of BQ query rows), each over b in order. */
export function attention_bwd_f32__dq(dq: usize, dbias: usize, q: usize, k: usize, v: usize, dO: usize, lse: usize,
                                     delta: usize, mask: usize, bias: usize, desc: usize, scratch: usize,
                                     start: i32, end: i32): void {
  const B = arg(desc, B_), H = arg(desc, H_), Tq = arg(desc, TQ), Tk = arg(desc, TK), D = arg(desc, D_);
  const causal = arg(desc, CAUSAL);
  const scale = reinterpret<f32>(arg(desc, SCALE));
  const nQB = (Tq + BQ - 1) / BQ;
  const ldq = <usize>arg(desc, QS + 2) << 2, ldk = <usize>arg(desc, KS + 2) << 2, ldv = <usize>arg(desc, VS + 2) << 2;
  const ldo = <usize>(H * D) << 2;
  const pk = packBytes(D);
  const G = arg(desc, GROUP);
  for (let slot = start; slot < end; slot++) {
    const sl = scratch + <usize>slot * <usize>arg(desc, SLOTB);
    const range = taskRange(slot, arg(desc, SLOTS), H * nQB);
    for (let t = <i32>range; t < <i32>(range >> 32); t++) {
      const h = t / nQB;
      const i0 = zigzag(t % nQB, nQB) * BQ;
      const n = min(BQ, Tq - i0);
      const kend = keyLimit(i0 + n - 1, Tq, Tk, causal);
      for (let b = 0; b < B; b++) {
        const kb = base(k, desc, KS, b, h / G), vb = base(v, desc, VS, b, h / G);
        const st = (<usize>(b * H + h) * <usize>Tq + <usize>i0) << 2;
        const dOp = dO + ((<usize>(b * Tq + i0) * <usize>H + <usize>h) * <usize>D << 2);
        packQueries(sl, pk, base(q, desc, QS, b, h) + <usize>i0 * ldq, ldq, dOp, ldo, n, D, false);
        for (let kt0 = 0; kt0 < kend; kt0 += BK) {
          const w = min(BK, kend - kt0);
          packKeys(sl, pk, kb + <usize>kt0 * ldk, ldk, vb + <usize>kt0 * ldv, ldv, w, D, dq != 0);
          tilePair(sl, pk, D, n, w, i0, kt0, Tq, Tk, causal, scale, lse + st, delta + st,
                   mask != 0 ? mask + ((<usize>b * <usize>Tk + <usize>kt0) << 2) : 0,
                   bias != 0 ? bias + biasAt(h, i0, kt0, Tq, Tk) : 0,
                   dbias != 0 ? dbias + biasAt(h, i0, kt0, Tq, Tk) : 0,
                   dq != 0 ? base(dq, desc, QS, b, h) + <usize>i0 * ldq : 0, ldq, 0, ldk, 0, ldv);
        }
      }
    }
  }
}

/**
 * dk, dv (+=, k's and v's strides), either may be 0. Tasks: (b, KV head, block of BK keys), each over its G
 * query heads in order, each over query blocks in order.
 */
export function attention_bwd_f32__dkv(dk: usize, dv: usize, q: usize, k: usize, v: usize, dO: usize, lse: usize,
                                      delta: usize, mask: usize, bias: usize, desc: usize, scratch: usize,
                                      start: i32, end: i32): void {
  const B = arg(desc, B_), H = arg(desc, H_), Tq = arg(desc, TQ), Tk = arg(desc, TK), D = arg(desc, D_);
  const causal = arg(desc, CAUSAL);
  const scale = reinterpret<f32>(arg(desc, SCALE));
  const nKB = (Tk + BK - 1) / BK;
  const ldq = <usize>arg(desc, QS + 2) << 2, ldk = <usize>arg(desc, KS + 2) << 2, ldv = <usize>arg(desc, VS + 2) << 2;
  const ldo = <usize>(H * D) << 2;
  const pk = packBytes(D);
  const G = arg(desc, GROUP), HK = H / G;
  for (let slot = start; slot < end; slot++) {
    const sl = scratch + <usize>slot * <usize>arg(desc, SLOTB);
    const range = taskRange(slot, arg(desc, SLOTS), B * HK * nKB);
    for (let t = <i32>range; t < <i32>(range >> 32); t++) {
      const bg = t / nKB;
      const b = bg / HK, g = bg % HK;
      const kt0 = zigzag(t % nKB, nKB) * BK;
      const w = min(BK, Tk - kt0);
      packKeys(sl, pk, base(k, desc, KS, b, g) + <usize>kt0 * ldk, ldk, base(v, desc, VS, b, g) + <usize>kt0 * ldv, ldv, w, D, false);
      for (let h = g * G; h < (g + 1) * G; h++) {
        const qb = base(q, desc, QS, b, h);
        const dOb = dO + ((<usize>b * <usize>Tq * <usize>H + <usize>h) * <usize>D << 2);
        const st = (<usize>(b * H + h) * <usize>Tq) << 2;
        for (let i0 = 0; i0 < Tq; i0 += BQ) {
          const n = min(BQ, Tq - i0);
          const kend = keyLimit(i0 + n - 1, Tq, Tk, causal);
          if (kend <= kt0) continue; // the same (query block, key tile) pairs as __dq and __qkv visit
          packQueries(sl, pk, qb + <usize>i0 * ldq, ldq, dOb + <usize>i0 * ldo, ldo, n, D, true);
          tilePair(sl, pk, D, n, min(w, kend - kt0), i0, kt0, Tq, Tk, causal, scale, lse + st + (<usize>i0 << 2),
                   delta + st + (<usize>i0 << 2),
                   mask != 0 ? mask + ((<usize>b * <usize>Tk + <usize>kt0) << 2) : 0,
                   bias != 0 ? bias + biasAt(h, i0, kt0, Tq, Tk) : 0, 0, 0, ldq,
                   dk != 0 ? base(dk, desc, KS, b, g) + <usize>kt0 * ldk : 0, ldk,
                   dv != 0 ? base(dv, desc, VS, b, g) + <usize>kt0 * ldv : 0, ldv);
        }
      }
    }
  }
}
