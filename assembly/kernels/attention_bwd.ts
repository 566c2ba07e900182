// Backward of the fused attention (attention.ts), recomputing scores per tile from q, k and the saved lse:
//   p = exp(scale·q·k + bias − lse), ds = p·(dO·v − delta), dQ += scale·ds·k, dK += scale·ds·q, dV += p·dO,
//   dBias[h] += ds (summed over b in order). dQ and dBias: tasks (head, block of BQ query rows), looping over b;
//   dK and dV: tasks (b, head, block of BK keys), looping over every query row in order. All +=.
// Work items are scratch slots, as in the forward.
import { exp_f32, exp_f32x4 } from './math';
import { accumRows, dotTile } from './attention_tiles';
import {
  arg, base, keyLimit, taskRange, zero, zigzag,
  ATTN_SLOT_BYTES, B_, BK, BQ, CAUSAL, D_, H_, KS, LDT, QS, SCALE, SLOTS, TILE, TK, TQ, VS,
} from './attention';

/** dq (+=, q's strides) or 0, dbias [H, Tq, Tk] (+=) or 0; dO [B, Tq, H, D]; lse, delta [B, H, Tq]. */
export function attention_bwd_f32__dq(dq: usize, dbias: usize, q: usize, k: usize, v: usize, dO: usize, lse: usize,
                                     delta: usize, mask: usize, bias: usize, desc: usize, scratch: usize,
                                     start: i32, end: i32): void {
  const B = arg(desc, B_), H = arg(desc, H_), Tq = arg(desc, TQ), Tk = arg(desc, TK), D = arg(desc, D_);
  const causal = arg(desc, CAUSAL);
  const scale = reinterpret<f32>(arg(desc, SCALE));
  const nQB = (Tq + BQ - 1) / BQ;
  const ldq = <usize>arg(desc, QS + 2) << 2, ldk = <usize>arg(desc, KS + 2) << 2, ldv = <usize>arg(desc, VS + 2) << 2;
  const ldo = <usize>(H * D) << 2;
  const sv = f32x4.splat(scale);
  const ninf = f32x4.splat(-Infinity);
  for (let slot = start; slot < end; slot++) {
    const tS = scratch + <usize>slot * ATTN_SLOT_BYTES;
    const tP = tS + TILE;
    const range = taskRange(slot, arg(desc, SLOTS), H * nQB);
    for (let t = <i32>range; t < <i32>(range >> 32); t++) {
      const h = t / nQB;
      const i0 = zigzag(t % nQB, nQB) * BQ;
      const n = min(BQ, Tq - i0);
      const kend = keyLimit(i0 + n - 1, Tq, Tk, causal);
      for (let b = 0; b < B; b++) {
        const qp = base(q, desc, QS, b, h) + <usize>i0 * ldq;
        const dqp = base(dq, desc, QS, b, h) + <usize>i0 * ldq;
        const kb = base(k, desc, KS, b, h);
        const vb = base(v, desc, VS, b, h);
        const dOp = dO + ((<usize>(b * Tq + i0) * <usize>H + <usize>h) * <usize>D << 2);
        const st = (<usize>(b * H + h) * <usize>Tq + <usize>i0) << 2;
        for (let kt0 = 0; kt0 < kend; kt0 += BK) {
          const w = min(BK, kend - kt0);
          dotTile(tS, LDT, qp, ldq, n, kb + <usize>kt0 * ldk, ldk, w, D);
          dotTile(tP, LDT, dOp, ldo, n, vb + <usize>kt0 * ldv, ldv, w, D);
          for (let r = 0; r < n; r++) {
            const i = i0 + r;
            const cnt = min(w, keyLimit(i, Tq, Tk, causal) - kt0);
            const srow = tS + <usize>r * LDT;
            const prow = tP + <usize>r * LDT;
            const L = load<f32>(lse + st + (<usize>r << 2));
            if (cnt <= 0 || L == Infinity) {
              zero(srow, 0, w);
              continue;
            }
            const Di = load<f32>(delta + st + (<usize>r << 2));
            const Lv = f32x4.splat(L), Dv = f32x4.splat(Di);
            const cnt4 = cnt & ~3;
            const rowOff = (<usize>(h * Tq + i) * <usize>Tk + <usize>kt0) << 2;
            const br = bias != 0 ? bias + rowOff : 0;
            const dbr = dbias != 0 ? dbias + rowOff : 0;
            const mk = mask != 0 ? mask + ((<usize>b * <usize>Tk + <usize>kt0) << 2) : 0;
            for (let c = 0; c < cnt4; c += 4) {
              const oc = <usize>c << 2;
              let s = f32x4.mul(v128.load(srow + oc), sv);
              if (br != 0) s = f32x4.add(s, v128.load(br + oc));
              if (mk != 0) s = v128.bitselect(s, ninf, i32x4.ne(v128.load(mk + oc), i32x4.splat(0)));
              const p = v128.andnot(exp_f32x4(f32x4.sub(s, Lv)), f32x4.eq(s, ninf));
              const ds = f32x4.mul(p, f32x4.sub(v128.load(prow + oc), Dv));
              if (dbr != 0) v128.store(dbr + oc, f32x4.add(v128.load(dbr + oc), ds));
              v128.store(srow + oc, f32x4.mul(ds, sv));
            }
            for (let c = cnt4; c < cnt; c++) {
              const oc = <usize>c << 2;
              let s = load<f32>(srow + oc) * scale;
              if (br != 0) s += load<f32>(br + oc);
              const dead = s == -Infinity || (mk != 0 && load<i32>(mk + oc) == 0);
              const p: f32 = dead ? 0 : exp_f32(s - L);
              const ds = p * (load<f32>(prow + oc) - Di);
              if (dbr != 0) store<f32>(dbr + oc, load<f32>(dbr + oc) + ds);
              store<f32>(srow + oc, ds * scale);
            }
            zero(srow, cnt, w);
          }
          if (dq != 0) accumRows(dqp, ldq, tS, LDT, n, w, kb + <usize>kt0 * ldk, ldk, D);
        }
      }
    }
  }
}

/** dk, dv (+=, k's and v's strides), either may be 0; dO [B, Tq, H, D]; lse, delta [B, H, Tq]. Tiles are [keys][queries]. */
export function attention_bwd_f32__dkv(dk: usize, dv: usize, q: usize, k: usize, v: usize, dO: usize, lse: usize,
                                      delta: usize, mask: usize, bias: usize, desc: usize, scratch: usize,
                                      start: i32, end: i32): void {
  const B = arg(desc, B_), H = arg(desc, H_), Tq = arg(desc, TQ), Tk = arg(desc, TK), D = arg(desc, D_);
  const causal = arg(desc, CAUSAL);
  const scale = reinterpret<f32>(arg(desc, SCALE));
  const nKB = (Tk + BK - 1) / BK;
  const ldq = <usize>arg(desc, QS + 2) << 2, ldk = <usize>arg(desc, KS + 2) << 2, ldv = <usize>arg(desc, VS + 2) << 2;
  const ldo = <usize>(H * D) << 2;
  const ldb = <usize>Tk << 2; // bias stride between query rows
  const sv = f32x4.splat(scale);
  const ninf = f32x4.splat(-Infinity);
  const pinf = f32x4.splat(Infinity);
  const off = Tk - Tq;
  for (let slot = start; slot < end; slot++) {
    const tS = scratch + <usize>slot * ATTN_SLOT_BYTES;
    const tP = tS + TILE;
    const range = taskRange(slot, arg(desc, SLOTS), B * H * nKB);
    for (let t = <i32>range; t < <i32>(range >> 32); t++) {
      const bh = t / nKB;
      const b = bh / H, h = bh % H;
      const j0 = zigzag(t % nKB, nKB) * BK;
      const nk = min(BK, Tk - j0);
      const kp = base(k, desc, KS, b, h) + <usize>j0 * ldk;
      const vp = base(v, desc, VS, b, h) + <usize>j0 * ldv;
      const dkp = base(dk, desc, KS, b, h) + <usize>j0 * ldk;
      const dvp = base(dv, desc, VS, b, h) + <usize>j0 * ldv;
      const qb = base(q, desc, QS, b, h);
      const dOb = dO + ((<usize>b * <usize>Tq * <usize>H + <usize>h) * <usize>D << 2);
      const st = (<usize>(b * H + h) * <usize>Tq) << 2;
      const qstart = causal != 0 ? max(0, j0 - off) : 0;
      for (let qt0 = qstart; qt0 < Tq; qt0 += BQ) {
        const wq = min(BQ, Tq - qt0);
        dotTile(tS, LDT, kp, ldk, nk, qb + <usize>qt0 * ldq, ldq, wq, D);
        dotTile(tP, LDT, vp, ldv, nk, dOb + <usize>qt0 * ldo, ldo, wq, D);
        const lq = lse + st + (<usize>qt0 << 2);
        const dq = delta + st + (<usize>qt0 << 2);
        for (let kr = 0; kr < nk; kr++) {
          const j = j0 + kr;
          const srow = tS + <usize>kr * LDT;
          const prow = tP + <usize>kr * LDT;
          if (mask != 0 && load<i32>(mask + ((<usize>b * <usize>Tk + <usize>j) << 2)) == 0) {
            zero(srow, 0, wq);
            zero(prow, 0, wq);
            continue;
          }
          const lo = causal != 0 ? min(wq, max(0, j - off - qt0)) : 0;
          zero(srow, 0, lo);
          zero(prow, 0, lo);
          // bias[h, qt0 + c, j]: a column of the bias, stride Tk
          const bc = bias != 0 ? bias + ((<usize>(h * Tq + qt0) * <usize>Tk + <usize>j) << 2) : 0;
          let c = lo;
          for (; c + 4 <= wq; c += 4) {
            const oc = <usize>c << 2;
            let s = f32x4.mul(v128.load(srow + oc), sv);
            if (bc != 0) {
              const bp = bc + <usize>c * ldb;
              let bv = f32x4.splat(load<f32>(bp));
              bv = f32x4.replace_lane(bv, 1, load<f32>(bp + ldb));
              bv = f32x4.replace_lane(bv, 2, load<f32>(bp + 2 * ldb));
              bv = f32x4.replace_lane(bv, 3, load<f32>(bp + 3 * ldb));
              s = f32x4.add(s, bv);
            }
            const L = v128.load(lq + oc);
            const dead = v128.or(f32x4.eq(s, ninf), f32x4.eq(L, pinf));
            const p = v128.andnot(exp_f32x4(f32x4.sub(s, L)), dead);
            const ds = f32x4.mul(p, f32x4.sub(v128.load(prow + oc), v128.load(dq + oc)));
            v128.store(prow + oc, p);
            v128.store(srow + oc, f32x4.mul(ds, sv));
          }
          for (; c < wq; c++) {
            const oc = <usize>c << 2;
            let s = load<f32>(srow + oc) * scale;
            if (bc != 0) s += load<f32>(bc + <usize>c * ldb);
            const L = load<f32>(lq + oc);
            const p: f32 = s == -Infinity || L == Infinity ? 0 : exp_f32(s - L);
            const ds = p * (load<f32>(prow + oc) - load<f32>(dq + oc));
            store<f32>(prow + oc, p);
            store<f32>(srow + oc, ds * scale);
          }
        }
        if (dv != 0) accumRows(dvp, ldv, tP, LDT, nk, wq, dOb + <usize>qt0 * ldo, ldo, D);
        if (dk != 0) accumRows(dkp, ldk, tS, LDT, nk, wq, qb + <usize>qt0 * ldq, ldq, D);
      }
    }
  }
}
