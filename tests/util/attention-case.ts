import type { Engine } from '../../src/tensor/engine.js';
import { resolveAttention, type AttentionOptions } from '../../src/tensor/ops/attention.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { RefAttention } from '../ref/attention.js';
import { randn } from './check.js';
import { backwardWith } from './gradcheck.js';

/** One attention problem for tests: shapes, options, and how q, k, v are stored. */
export interface AttnCase {
  B: number;
  H: number;
  /** KV heads (grouped-query attention); default H. */
  Hkv?: number;
  Tq: number;
  Tk: number;
  D: number;
  causal?: boolean;
  scale?: number;
  /** 'some': about a quarter of the keys padded (never all of batch 0); 'full': also the last batch fully padded. */
  mask?: 'some' | 'full';
  bias?: boolean;
  /** q, k, v from one [B, T, 3C] buffer (needs Tq = Tk). */
  fused?: boolean;
  /** Range of q, k, v and bias values. */
  range?: number;
  biasRange?: number;
  seed: number;
}

export interface AttnData {
  /** q, k, v buffers (one buffer three times when fused), bias or null, mask or undefined, dO. */
  bufs: Float32Array[];
  bias: Float32Array | null;
  mask: Int32Array | undefined;
  dO: Float32Array;
  opts: AttentionOptions;
}

export function makeCase(c: AttnCase): AttnData {
  const { B, H, Tq, Tk, D } = c;
  const Hkv = c.Hkv ?? H;
  const C = H * D;
  const CKV = Hkv * D;
  const r = c.range ?? 1;
  let bufs: Float32Array[];
  const opts: AttentionOptions = {
    batch: B,
    heads: H,
    queryLen: Tq,
    keyLen: Tk,
    headDim: D,
    causal: c.causal,
    scale: c.scale,
    ...(c.Hkv !== undefined && { kvHeads: c.Hkv }),
  };
  if (c.fused) {
    if (Tq !== Tk) throw new Error('fused q, k, v need Tq = Tk');
    const W = C + 2 * CKV;
    const x = randn(B * Tq * W, c.seed, -r, r);
    bufs = [x, x, x];
    opts.q = { offset: 0, rowStride: W };
    opts.k = { offset: C, rowStride: W };
    opts.v = { offset: C + CKV, rowStride: W };
  } else {
    bufs = [
      randn(B * Tq * C, c.seed, -r, r),
      randn(B * Tk * CKV, c.seed + 1, -r, r),
      randn(B * Tk * CKV, c.seed + 2, -r, r),
    ];
  }
  let mask: Int32Array | undefined;
  if (c.mask) {
    const u = randn(B * Tk, c.seed + 3, 0, 1);
    mask = Int32Array.from(u, (x) => (x < 0.25 ? 0 : 1));
    mask[0] = 1;
    if (c.mask === 'full' && B > 1) mask.fill(0, (B - 1) * Tk);
    opts.keyMask = mask;
  }
  const br = c.biasRange ?? 1;
  const bias = c.bias ? randn(H * Tq * Tk, c.seed + 4, -br, br) : null;
  return { bufs, bias, mask, dO: randn(B * Tq * C, c.seed + 5), opts };
}

export interface AttnResult {
  o: Float32Array;
  /** Gradient of each of q, k, v's buffers (the same combined gradient three times when fused). */
  grads: Float32Array[];
  dbias: Float32Array | null;
}

type AttnFn = (q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions) => Tensor;

/** Runs forward and backward (seeded with dO) of fn on engine e. */
export function runCase(e: Engine, fn: AttnFn, d: AttnData, fused: boolean): AttnResult {
  const ts = fused ? [e.tensor(d.bufs[0]!)] : d.bufs.map((b) => e.tensor(b));
  for (const t of ts) t.requiresGrad = true;
  const [q, k, v] = fused ? [ts[0]!, ts[0]!, ts[0]!] : ts;
  const bias = d.bias ? e.tensor(d.bias, [d.opts.heads, d.opts.queryLen, d.opts.keyLen]) : undefined;
  if (bias) bias.requiresGrad = true;
  const out = fn(q!, k!, v!, { ...d.opts, bias });
  const o = out.toArray();
  backwardWith(e, out, d.dO);
  const grads = [q!, k!, v!].map((t) => t.grad!.toArray());
  const dbias = bias ? bias.grad!.toArray() : null;
  e.endStep();
  for (const t of ts) t.dispose();
  bias?.dispose();
  return { o, grads, dbias };
}

/** The reference's view of a case (through resolveAttention's defaults, on throwaway tensor shapes). */
export function refOf(e: Engine, d: AttnData): RefAttention {
  const ts = d.bufs.map((b) => e.tensor(b));
  const a = resolveAttention(ts[0]!, ts[1]!, ts[2]!, d.opts);
  for (const t of ts) t.dispose();
  return { ...a, keyMask: d.mask };
}
