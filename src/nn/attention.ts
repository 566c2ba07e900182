import { ArgumentError } from '../errors.js';
import type { Engine } from '../tensor/engine.js';
import { attention, copyRows, rope, type WeightLayout } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './layers.js';
import { Module, type Init } from './module.js';
import type { RotaryEmbedding } from './rotary.js';

export interface AttentionShape {
  dModel: number;
  heads: number;
  /** Per-head width; heads × headDim may differ from dModel (T5 v1.1). */
  headDim: number;
  bias: boolean;
  layout: WeightLayout;
  /** Scores are q·k × scale: 1/√headDim, or 1 for T5. */
  scale: number;
  init: Init;
  /** Initialiser of the output projection (GPT-2 scales it by 1/√(2·layers)). */
  outInit?: Init;
  /** Heads of keys and values (grouped-query attention, LLaMA's num_key_value_heads); divides heads. Default heads. */
  kvHeads?: number;
  /** Rotary position embeddings on queries and keys (LLaMA); the rows' positions come with each forward. */
  rotary?: RotaryEmbedding;
}

/** Keys and values of past positions, per layer, for incremental decoding: [B, capacity, kvHeads·headDim]. */
export class KVCache {
  length = 0;
  constructor(
    readonly k: Tensor,
    readonly v: Tensor,
    readonly capacity: number,
  ) {}
}

/**
 * Self-attention with one fused q|k|v projection (one matmul), optionally causal, with a key padding
 * mask, an additive position bias [heads, Tq, Tk], a KV cache for decoding, grouped-query heads (k and v
 * of kvHeads heads, each read by heads / kvHeads query heads) and rotary positions on q and k.
 */
export class SelfAttention extends Module {
  readonly qkv: Linear;
  readonly o: Linear;
  /** Width of the queries (heads·headDim) and of the attention output. */
  readonly inner: number;
  /** Width of the keys and of the values (kvHeads·headDim). */
  readonly kvInner: number;
  readonly kvHeads: number;

  constructor(
    engine: Engine,
    readonly shape: AttentionShape,
    readonly causal: boolean,
  ) {
    super(engine);
    const inner = (this.inner = shape.heads * shape.headDim);
    this.kvHeads = shape.kvHeads ?? shape.heads;
    if (!(Number.isInteger(this.kvHeads) && this.kvHeads >= 1 && shape.heads % this.kvHeads === 0)) {
      throw new ArgumentError(`attention: kvHeads (${this.kvHeads}) must divide heads (${shape.heads})`);
    }
    this.kvInner = this.kvHeads * shape.headDim;
    // [q | k | v] rows of inner + 2·kvInner outputs
    this.qkv = this.child(
      'qkv',
      new Linear(engine, shape.dModel, inner + 2 * this.kvInner, {
        bias: shape.bias,
        layout: shape.layout,
        init: shape.init,
      }),
    );
    this.o = this.child(
      'o',
      new Linear(engine, inner, shape.dModel, {
        bias: shape.bias,
        layout: shape.layout,
        init: shape.outInit ?? shape.init,
      }),
    );
  }

  /**
   * x [B, T, dModel] → [B, T, dModel]. `positions` [B·T] are the rows' positions, needed with rotary
   * embeddings (the cache's length + t when decoding).
   */
  forward(
    x: Tensor,
    opts: { keyMask?: Int32Array; positionBias?: Tensor; cache?: KVCache; positions?: Int32Array } = {},
  ): Tensor {
    const [B, T] = [x.shape[0]!, x.shape[1]!];
    const { heads, headDim, scale } = this.shape;
    const [I, IKV] = [this.inner, this.kvInner];
    const W = I + 2 * IKV;
    let qkv = this.qkv.forward(x); // [B, T, W] = q | k | v
    if (this.shape.rotary) {
      if (!opts.positions) throw new ArgumentError('attention with rotary embeddings needs the positions of its rows');
      let last = 0;
      for (const p of opts.positions) last = Math.max(last, p);
      // q and k turned by their positions' angles, v copied through
      qkv = rope(qkv, opts.positions, this.shape.rotary.table(last + 1), { headDim, rotated: I + IKV });
    }
    const common = {
      batch: B,
      heads,
      kvHeads: this.kvHeads,
      headDim,
      queryLen: T,
      q: { offset: 0, rowStride: W, batchStride: W * T },
      scale,
      causal: this.causal,
      keyMask: opts.keyMask,
      bias: opts.positionBias,
    };
    let out: Tensor;
    if (opts.cache) {
      const c = opts.cache;
      appendToCache(c, qkv, B, T, I, IKV);
      out = attention(qkv, c.k, c.v, {
        ...common,
        keyLen: c.length,
        k: { offset: 0, rowStride: IKV, batchStride: IKV * c.capacity },
        v: { offset: 0, rowStride: IKV, batchStride: IKV * c.capacity },
      });
    } else {
      out = attention(qkv, qkv, qkv, {
        ...common,
        keyLen: T,
        k: { offset: I, rowStride: W, batchStride: W * T },
        v: { offset: I + IKV, rowStride: W, batchStride: W * T },
      });
    }
    return this.o.forward(out); // out [B, T, I]
  }

  /** An empty cache for `capacity` positions of a batch of B: keys and values [B, capacity, kvHeads·headDim]. */
  newCache(B: number, capacity: number): KVCache {
    const e = this.engine;
    return new KVCache(e.zeros([B, capacity, this.kvInner]), e.zeros([B, capacity, this.kvInner]), capacity);
  }
}

/** Cross-attention: queries from x, keys and values from the encoder's output (projected once, cacheable). */
export class CrossAttention extends Module {
  readonly q: Linear;
  readonly kv: Linear;
  readonly o: Linear;
  readonly inner: number;

  constructor(
    engine: Engine,
    readonly shape: AttentionShape,
  ) {
    super(engine);
    const inner = (this.inner = shape.heads * shape.headDim);
    const lin = (i: number, o: number, init: Init) =>
      new Linear(engine, i, o, { bias: shape.bias, layout: shape.layout, init });
    this.q = this.child('q', lin(shape.dModel, inner, shape.init));
    this.kv = this.child('kv', lin(shape.dModel, 2 * inner, shape.init));
    this.o = this.child('o', lin(inner, shape.dModel, shape.outInit ?? shape.init));
  }

  /** The memory's keys and values [B, S, 2I]: compute once per source, reuse at every decoding step. */
  project(memory: Tensor): Tensor {
    return this.kv.forward(memory);
  }

  /** x [B, T, dModel] over projected memory kv [B, S, 2I] → [B, T, dModel]. */
  forward(x: Tensor, kv: Tensor, memoryMask?: Int32Array): Tensor {
    const [B, T] = [x.shape[0]!, x.shape[1]!];
    const S = kv.shape[1]!;
    const { heads, headDim, scale } = this.shape;
    const I = this.inner;
    const q = this.q.forward(x);
    const out = attention(q, kv, kv, {
      batch: B,
      heads,
      headDim,
      queryLen: T,
      keyLen: S,
      q: { offset: 0, rowStride: I, batchStride: I * T },
      k: { offset: 0, rowStride: 2 * I, batchStride: 2 * I * S },
      v: { offset: I, rowStride: 2 * I, batchStride: 2 * I * S },
      scale,
      causal: false,
      keyMask: memoryMask,
    });
    return this.o.forward(out);
  }
}

/** Copies the new positions' keys and values (from the fused qkv [B, T, I + 2·IKV]) into the cache. */
function appendToCache(c: KVCache, qkv: Tensor, B: number, T: number, I: number, IKV: number): void {
  if (c.length + T > c.capacity) throw new RangeError(`KV cache holds ${c.capacity} positions, ${c.length + T} asked`);
  for (let b = 0; b < B; b++) {
    copyRows(c.k, b * c.capacity + c.length, qkv, b * T, T, { dst: 0, src: I, width: IKV });
    copyRows(c.v, b * c.capacity + c.length, qkv, b * T, T, { dst: 0, src: I + IKV, width: IKV });
  }
  c.length += T;
}
