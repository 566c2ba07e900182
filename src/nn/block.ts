import type { Engine } from '../tensor/engine.js';
import { add, checkpoint, dropout, type WeightLayout } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { CrossAttention, SelfAttention, type KVCache } from './attention.js';
import { FeedForward, type Activation } from './feed-forward.js';
import { makeNorm, type LayerNorm, type NormType, type RMSNorm } from './layers.js';
import { Module, type Init } from './module.js';
import type { RotaryEmbedding } from './rotary.js';

export interface BlockConfig {
  dModel: number;
  heads: number;
  headDim: number;
  dFF: number;
  activation: Activation;
  /** 'pre': x + f(norm(x)) (GPT-2, T5); 'post': norm(x + f(x)) (BERT, BART). */
  norm: 'pre' | 'post';
  normType: NormType;
  eps: number;
  /** Biases on the projections (false for T5). */
  bias: boolean;
  /** Biases on the feed-forward's projections, when they differ from attention's (LLaMA's mlp_bias). Default bias. */
  ffnBias?: boolean;
  layout: WeightLayout;
  causal: boolean;
  /** Cross-attention over an encoder's output (decoder blocks of seq2seq models). */
  cross: boolean;
  scale: number;
  init: Init;
  /** Initialiser of the projections into the residual stream (attention output, FFN down). */
  outInit?: Init;
  /** Dropout on each sub-layer's output before the residual add, in training mode. Default 0. */
  dropout?: number;
  /** Heads of self-attention's keys and values (grouped-query attention); default heads. */
  kvHeads?: number;
  /** Rotary position embeddings on self-attention's queries and keys (LLaMA); rows' positions in BlockInputs. */
  rotary?: RotaryEmbedding;
}

/** A sub-layer of a block: its norm and what it computes from the normed stream. */
type Sublayer = [norm: LayerNorm | RMSNorm, f: (h: Tensor) => Tensor];

export interface BlockInputs {
  /** [B, T] 1 = attend, 0 = padding, for self-attention keys. */
  keyMask?: Int32Array;
  /** Additive self-attention bias [heads, T, T] (T5's relative positions). */
  positionBias?: Tensor;
  cache?: KVCache;
  /** [B·T] position of each row, for rotary embeddings. */
  positions?: Int32Array;
  /** The encoder output projected by this block's cross-attention (CrossAttention.project). */
  memoryKV?: Tensor;
  memoryMask?: Int32Array;
}

/**
 * The parameters a TransformerBlock of this config holds, counted without building it (a model checks what it
 * will need against the engine's memory before it allocates anything; tests/nn compare with a built block).
 */
export function blockParameterCount(
  c: Pick<
    BlockConfig,
    'dModel' | 'heads' | 'kvHeads' | 'headDim' | 'dFF' | 'activation' | 'normType' | 'bias' | 'ffnBias' | 'cross'
  >,
): number {
  const C = c.dModel;
  const I = c.heads * c.headDim;
  const KV = (c.kvHeads ?? c.heads) * c.headDim; // grouped-query attention: fewer key/value heads
  const F = c.dFF;
  const linear = (i: number, o: number, bias = c.bias) => i * o + (bias ? o : 0);
  const norm = c.normType === 'layernorm' ? 2 * C : C;
  const self = linear(C, I + 2 * KV) + linear(I, C) + norm;
  const cross = c.cross ? linear(C, I) + linear(C, 2 * I) + linear(I, C) + norm : 0;
  const gated = c.activation === 'gated-gelu' || c.activation === 'swiglu';
  const fb = c.ffnBias ?? c.bias;
  const ffn = linear(C, F, fb) * (gated ? 2 : 1) + linear(F, C, fb) + norm;
  return self + cross + ffn;
}

/**
 * The one transformer block every family is built from: self-attention (causal or not), optional
 * cross-attention, feed-forward; pre- or post-norm; LayerNorm or RMSNorm.
 */
export class TransformerBlock extends Module {
  readonly attn: SelfAttention;
  readonly attnNorm: LayerNorm | RMSNorm;
  readonly cross: CrossAttention | null;
  readonly crossNorm: LayerNorm | RMSNorm | null;
  readonly ffn: FeedForward;
  readonly ffnNorm: LayerNorm | RMSNorm;

  constructor(
    engine: Engine,
    readonly config: BlockConfig,
  ) {
    super(engine);
    const c = config;
    const shape = {
      dModel: c.dModel,
      heads: c.heads,
      headDim: c.headDim,
      bias: c.bias,
      layout: c.layout,
      scale: c.scale,
      init: c.init,
      outInit: c.outInit,
      kvHeads: c.kvHeads,
      rotary: c.rotary,
    };
    this.attn = this.child('attn', new SelfAttention(engine, shape, c.causal));
    this.attnNorm = this.child('attn_norm', makeNorm(engine, c.normType, c.dModel, c.eps));
    this.cross = c.cross ? this.child('cross', new CrossAttention(engine, shape)) : null;
    this.crossNorm = c.cross ? this.child('cross_norm', makeNorm(engine, c.normType, c.dModel, c.eps)) : null;
    this.ffn = this.child(
      'ffn',
      new FeedForward(engine, c.dModel, c.dFF, c.activation, {
        bias: c.ffnBias ?? c.bias,
        layout: c.layout,
        init: c.init,
        downInit: c.outInit,
      }),
    );
    this.ffnNorm = this.child('ffn_norm', makeNorm(engine, c.normType, c.dModel, c.eps));
  }

  /**
   * x [B, T, dModel] → [B, T, dModel]. With gradient checkpointing on, in training mode with the tape on and
   * no KV cache, the block keeps only its inputs (x, the position bias, the cross-attention's keys and values)
   * and recomputes the rest in backward.
   */
  forward(x: Tensor, inputs: BlockInputs = {}): Tensor {
    if (!this.gradientCheckpointing || !this.training || inputs.cache || !this.engine.tape.enabled)
      return this.forwardPlain(x, inputs);
    const pb = inputs.positionBias;
    const kv = inputs.memoryKV;
    const list = [x, ...(pb ? [pb] : []), ...(kv ? [kv] : [])];
    return checkpoint((h, ...rest) => {
      const more = [...rest];
      return this.forwardPlain(h, {
        ...inputs,
        positionBias: pb ? more.shift() : undefined,
        memoryKV: kv ? more.shift() : undefined,
      });
    }, list);
  }

  private forwardPlain(x: Tensor, inputs: BlockInputs): Tensor {
    const self = (h: Tensor) =>
      this.attn.forward(h, {
        keyMask: inputs.keyMask,
        positionBias: inputs.positionBias,
        cache: inputs.cache,
        positions: inputs.positions,
      });
    const cross = (h: Tensor) => this.cross!.forward(h, inputs.memoryKV!, inputs.memoryMask);
    const ffn = (h: Tensor) => this.ffn.forward(h);
    if (this.cross && !inputs.memoryKV)
      throw new Error('a cross-attention block needs memoryKV (CrossAttention.project of the encoder output)');
    const sublayers: Sublayer[] = [[this.attnNorm, self]];
    if (this.cross) sublayers.push([this.crossNorm!, cross]);
    sublayers.push([this.ffnNorm, ffn]);
    const p = this.config.dropout ?? 0;
    const g = (f: (h: Tensor) => Tensor) =>
      p > 0 && this.training ? (h: Tensor) => dropout(f(h), p, this.engine.nextDropoutSeed()) : f;
    // post-norm: the residual add runs inside the norm's pass (the same bits as norm(add(x, g(x))))
    if (this.config.norm === 'post') return sublayers.reduce((h, [norm, f]) => norm.forward(h, g(f)(h)), x);
    // pre-norm: x + g(norm(x)) each; a sub-layer's residual add runs inside the next one's norm pass (the same
    // bits as add, then the norm), the last one on its own
    let h = sublayers[0]![0].forward(x);
    for (let i = 0; ; i++) {
      const r = g(sublayers[i]![1])(h);
      if (i === sublayers.length - 1) return add(x, r);
      [x, h] = sublayers[i + 1]![0].forwardSum(x, r);
    }
  }
}
