// O = softmax(scale·Q·Kᵀ + bias, causal / key-padding masked)·V per (batch, head), fused: tiles of BK keys
// stream past a block of BQ query rows with a running max and sum, so memory grows with T, not T². Saved
// for backward: O [B, Tq, H, D] (=) and lse [B, H, Tq] (=, +∞ for a row that sees no key). Backward (+=):
// delta = Σ dO·O per row; dQ (+ dBias, summed over b in order) per (head, query block); dK, dV per
// (batch, KV head, key block), each looping over its group's heads and all query rows in order: no atomics.
// Grouped-query attention: query head h reads KV head h / G (G = H / KV heads), nothing repeated in memory.
// Work items are scratch slots: slot s runs tasks [s·N/slots, (s+1)·N/slots) with its own tile buffers.
// The forward multiplies by packed tiles or, with DIRECT (the host's pick for a few query rows: decoding), reads
// q, k and v in place (attention-tiles.ts): the same bits either way.
import { exp_f32, exp_f32x4, madd } from './math';
import { BAND_COLS, BAND_K_END, gemmTile, packA, packB, packBt, pvDirect, scaleRow, scoresDirect } from './attention-tiles';

export const BQ: i32 = 64; // query rows per block
export const BK: i32 = 64; // keys per tile (and key rows per block in the dK/dV pass)
export const TILE: usize = <usize>(BQ * BK) << 2; // bytes of one score tile [64][64]
export const LDT: usize = <usize>BK << 2; // tile row stride, bytes (BQ == BK: both tile orientations)

// Descriptor: Int32 slots written by the host (src/tensor/ops/attention.ts, DESC).
export const B_ = 0, H_ = 1, TQ = 2, TK = 3, D_ = 4, CAUSAL = 5, SCALE = 6, SLOTS = 7;
export const QS = 8, KS = 11, VS = 14; // (batch, head, row) element strides of q, k, v
export const SLOTB = 17; // bytes of one scratch slot: 7 packed 64-row operands, 5 tiles, 2 rows (slotBytes on the host)
export const GROUP = 18; // query heads per KV head (1 without grouped-query attention)
export const DIRECT = 19; // 1: the forward's products read q, k, v in place (scoresDirect, pvDirect), 0: packed tiles

// Scratch slot layout: seven packed operands of 64 rows × D (PK bytes each: A panels [16][D][4], B panels of
// a transpose [8][D][8] or B panels [⌈D/8⌉][64][8]), then five 64×64 tiles (S, dP, Pᵀ and dsᵀ panels, ds or
// P panels), then the running max and sum of 64 rows. Forward: Q (A), Kᵀ (B), V (B at KB), S, P (A at TDSA).
// @ts-ignore: decorator
@inline
export function packBytes(D: i32): usize {
  return <usize>((D + 7) & ~7) << 8;
}
// operand index: at slot + index·PK; tile index: at slot + 7·PK + index·TILE (usize: they scale byte offsets)
export const QA: usize = 0, DOA: usize = 1, KP: usize = 2, VP: usize = 3, KB: usize = 4, QB: usize = 5, DOB: usize = 6;
export const TS: usize = 0, TDP: usize = 1, TPT: usize = 2, TDST: usize = 3, TDSA: usize = 4;

// @ts-ignore: decorator
@inline
export function arg(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

/** Base byte address of (b, h, row 0) of a strided operand (h: a KV head for k and v). */
// @ts-ignore: decorator
@inline
export function base(p: usize, desc: usize, s: i32, b: i32, h: i32): usize {
  return p + ((<usize>b * <usize>arg(desc, s) + <usize>h * <usize>arg(desc, s + 1)) << 2);
}

/** Block index of the u-th task of n: 0, n−1, 1, n−2, … so that contiguous ranges mix light and heavy causal blocks. */
// @ts-ignore: decorator
@inline
export function zigzag(u: i32, n: i32): i32 {
  return (u & 1) == 0 ? u >> 1 : n - 1 - (u >> 1);
}

/** Keys query row i may see (causal with offset Tk − Tq), clamped to [0, Tk]. */
// @ts-ignore: decorator
@inline
export function keyLimit(i: i32, Tq: i32, Tk: i32, causal: i32): i32 {
  return causal != 0 ? min(Tk, max(0, i + Tk - Tq + 1)) : Tk;
}

/** d of a (query block from i0, key tile from kt0) pair: row r sees keys [kt0, kt0 + r + d) (gemmTile's band). */
// @ts-ignore: decorator
@inline
export function bandOffset(i0: i32, kt0: i32, Tq: i32, Tk: i32, causal: i32, w: i32): i32 {
  return causal != 0 ? i0 + Tk - Tq + 1 - kt0 : w;
}

// @ts-ignore: decorator
@inline
export function taskRange(slot: i32, slots: i32, n: i32): i64 {
  const t0 = <i32>((<i64>slot * n) / slots);
  const t1 = <i32>((<i64>(slot + 1) * n) / slots);
  return (<i64>t1 << 32) | <i64>t0;
}

/** Zeros bytes [from·4, to·4) of a row. */
// @ts-ignore: decorator
@inline
export function zero(p: usize, from: i32, to: i32): void {
  if (to > from) memory.fill(p + (<usize>from << 2), 0, <usize>(to - from) << 2);
}

/** ln x for a normal x > 0 (Cephes logf, ~1 ulp); used once per row. */
function logf(x: f32): f32 {
  const bits = reinterpret<u32>(x);
  let e = <i32>((bits >> 23) & 0xff) - 126;
  let m = reinterpret<f32>((bits & 0x807fffff) | 0x3f000000); // [0.5, 1)
  if (m < 0.707106781186547524) {
    e -= 1;
    m = m + m - 1.0;
  } else m = m - 1.0;
  const z = m * m;
  let y: f32 = 7.0376836292e-2;
  y = y * m - 1.1514610310e-1;
  y = y * m + 1.1676998740e-1;
  y = y * m - 1.2420140846e-1;
  y = y * m + 1.4249322787e-1;
  y = y * m - 1.6668057665e-1;
  y = y * m + 2.0000714765e-1;
  y = y * m - 2.4999993993e-1;
  y = y * m + 3.3333331174e-1;
  y = y * m * z;
  const fe = <f32>e;
  y += fe * -2.12194440e-4;
  y += -0.5 * z;
  return m + y + fe * 0.693359375;
}

/**
 * o [B, Tq, H, D], lse [B, H, Tq]; q, k, v strided (desc); mask i32 [B, Tk] (1 attend, 0 pad) or 0;
 * bias [H, Tq, Tk] or 0. Tasks: (b, h, block of BQ query rows).
 */
export function attention_fwd_f32(o: usize, lse: usize, q: usize, k: usize, v: usize, mask: usize, bias: usize,
                                  desc: usize, scratch: usize, start: i32, end: i32): void {
  const B = arg(desc, B_), H = arg(desc, H_), Tq = arg(desc, TQ), Tk = arg(desc, TK), D = arg(desc, D_);
  const causal = arg(desc, CAUSAL);
  const scale = reinterpret<f32>(arg(desc, SCALE));
  const nQB = (Tq + BQ - 1) / BQ;
  const tasks = B * H * nQB;
  const ldq = <usize>arg(desc, QS + 2) << 2, ldk = <usize>arg(desc, KS + 2) << 2, ldv = <usize>arg(desc, VS + 2) << 2;
  const ldo = <usize>(H * D) << 2;
  const G = arg(desc, GROUP);
  const direct = arg(desc, DIRECT) != 0;
  const sv = f32x4.splat(scale);
  const ninf = f32x4.splat(-Infinity);
  for (let slot = start; slot < end; slot++) {
    const sl = scratch + <usize>slot * <usize>arg(desc, SLOTB);
    const pk = packBytes(D);
    const qa = sl + QA * pk, kp = sl + KP * pk, vb = sl + KB * pk;
    const tile = sl + 7 * pk + TS * TILE;
    const pa = sl + 7 * pk + TDSA * TILE;
    const mrow = sl + 7 * pk + 5 * TILE;
    const lrow = mrow + (<usize>BQ << 2);
    const range = taskRange(slot, arg(desc, SLOTS), tasks);
    for (let t = <i32>range; t < <i32>(range >> 32); t++) {
      const bh = t / nQB;
      const b = bh / H, h = bh % H;
      const i0 = zigzag(t % nQB, nQB) * BQ;
      const n = min(BQ, Tq - i0);
      const qp = base(q, desc, QS, b, h) + <usize>i0 * ldq;
      const kb = base(k, desc, KS, b, h / G);
      const vbase = base(v, desc, VS, b, h / G);
      const op = o + ((<usize>(b * Tq + i0) * <usize>H + <usize>h) * <usize>D << 2);
      for (let r = 0; r < n; r++) {
        zero(op + <usize>r * ldo, 0, D);
        store<f32>(mrow + (<usize>r << 2), -Infinity);
        store<f32>(lrow + (<usize>r << 2), 0);
      }
      if (!direct) packA(qa, qp, ldq, n, D);
      const kend = keyLimit(i0 + n - 1, Tq, Tk, causal);
      for (let kt0 = 0; kt0 < kend; kt0 += BK) {
        const w = min(BK, kend - kt0);
        const d = bandOffset(i0, kt0, Tq, Tk, causal, w);
        if (direct) scoresDirect(tile, LDT, qp, ldq, kb + <usize>kt0 * ldk, ldk, n, w, D, causal, d);
        else {
          packBt(kp, kb + <usize>kt0 * ldk, ldk, w, D);
          gemmTile(tile, LDT, qa, kp, n, w, D, false, BAND_COLS, d);
        }
        for (let r = 0; r < n; r++) {
          const i = i0 + r;
          const cnt = min(w, keyLimit(i, Tq, Tk, causal) - kt0);
          const srow = tile + <usize>r * LDT;
          if (cnt <= 0) {
            zero(srow, 0, w);
            continue;
          }
          const cnt4 = cnt & ~3;
          const br = bias != 0 ? bias + ((<usize>(h * Tq + i) * <usize>Tk + <usize>kt0) << 2) : 0;
          const mk = mask != 0 ? mask + ((<usize>b * <usize>Tk + <usize>kt0) << 2) : 0;
          // scores s = scale·q·k (+ bias), padded keys −∞; their max
          let mv = ninf;
          for (let c = 0; c < cnt4; c += 4) {
            const oc = <usize>c << 2;
            let s = f32x4.mul(v128.load(srow + oc), sv);
            if (br != 0) s = f32x4.add(s, v128.load(br + oc));
            if (mk != 0) s = v128.bitselect(s, ninf, i32x4.ne(v128.load(mk + oc), i32x4.splat(0)));
            v128.store(srow + oc, s);
            mv = f32x4.max(mv, s);
          }
          let mt = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
          for (let c = cnt4; c < cnt; c++) {
            const oc = <usize>c << 2;
            let s = load<f32>(srow + oc) * scale;
            if (br != 0) s += load<f32>(br + oc);
            if (mk != 0 && load<i32>(mk + oc) == 0) s = -Infinity;
            store<f32>(srow + oc, s);
            mt = max(mt, s);
          }
          const mp = mrow + (<usize>r << 2);
          const mOld = load<f32>(mp);
          const m = max(mOld, mt);
          if (m == -Infinity) {
            zero(srow, 0, w);
            continue;
          }
          // p = exp(s − m) (exactly 0 where s = −∞), its sum; rescale the row's running sum and output
          const mm = f32x4.splat(m);
          let sumv = f32x4.splat(0);
          for (let c = 0; c < cnt4; c += 4) {
            const oc = <usize>c << 2;
            const s = v128.load(srow + oc);
            const p = v128.andnot(exp_f32x4(f32x4.sub(s, mm)), f32x4.eq(s, ninf));
            v128.store(srow + oc, p);
            sumv = f32x4.add(sumv, p);
          }
          let sum = (f32x4.extract_lane(sumv, 0) + f32x4.extract_lane(sumv, 1)) + (f32x4.extract_lane(sumv, 2) + f32x4.extract_lane(sumv, 3));
          for (let c = cnt4; c < cnt; c++) {
            const oc = <usize>c << 2;
            const s = load<f32>(srow + oc);
            const p: f32 = s == -Infinity ? 0 : exp_f32(s - m);
            store<f32>(srow + oc, p);
            sum += p;
          }
          zero(srow, cnt, w);
          const lp = lrow + (<usize>r << 2);
          if (mOld == -Infinity) store<f32>(lp, sum);
          else if (m != mOld) {
            const alpha = exp_f32(mOld - m);
            store<f32>(lp, load<f32>(lp) * alpha + sum);
            scaleRow(op + <usize>r * ldo, D, alpha);
          } else store<f32>(lp, load<f32>(lp) + sum);
          store<f32>(mp, m);
        }
        if (direct) pvDirect(op, ldo, tile, LDT, vbase + <usize>kt0 * ldv, ldv, n, w, D, causal, d);
        else {
          packA(pa, tile, LDT, n, w);
          packB(vb, vbase + <usize>kt0 * ldv, ldv, w, D);
          gemmTile(op, ldo, pa, vb, n, D, w, true, BAND_K_END, d);
        }
      }
      const lseRow = lse + ((<usize>(b * H + h) * <usize>Tq + <usize>i0) << 2);
      for (let r = 0; r < n; r++) {
        const l = load<f32>(lrow + (<usize>r << 2));
        if (l > 0) {
          scaleRow(op + <usize>r * ldo, D, 1.0 / l);
          store<f32>(lseRow + (<usize>r << 2), load<f32>(mrow + (<usize>r << 2)) + logf(l));
        } else store<f32>(lseRow + (<usize>r << 2), Infinity);
      }
    }
  }
}

/** delta [B, H, Tq] (=) = Σ_d dO·O per row; o, dO [B, Tq, H, D]. Work items: rows (b, i, h) of O. */
export function attention_bwd_f32__delta(delta: usize, o: usize, dO: usize, desc: usize, start: i32, end: i32): void {
  const H = arg(desc, H_), Tq = arg(desc, TQ), D = arg(desc, D_);
  for (let t = start; t < end; t++) {
    const off = (<usize>t * <usize>D) << 2;
    // one chain over d in order, like the micro-kernel's dO·v: a row with one key gets ds = 0 exactly
    let acc = f32x4.splat(0);
    for (let d = 0; d < D; d++) {
      const od = off + (<usize>d << 2);
      acc = madd(v128.load32_splat(o + od), v128.load32_splat(dO + od), acc);
    }
    const s = f32x4.extract_lane(acc, 0);
    const bi = t / H, h = t % H;
    const b = bi / Tq, i = bi % Tq;
    store<f32>(delta + ((<usize>(b * H + h) * <usize>Tq + <usize>i) << 2), s);
  }
}
