/**
 * T5: pre-LN encoder-decoder with RMSNorm and no biases, relative position bias (bucketed; bidirectional
 * in the encoder, causal in the decoder; one table per stack, in its block 0, shared by every block),
 * unscaled attention scores, ReLU or gated-GELU feed-forward, and a head tied to the shared embeddings
 * (its input scaled by d_model^-0.5) or untied (T5 v1.1). Hugging Face `t5` config fields and weight
 * names (src/io/names/t5.ts); `num_heads × d_kv` may differ from `d_model`, and the decoder may have
 * its own number of layers.
 */
import { Rng } from '../rng.js';
import { ArgumentError } from '../errors.js';
import { t5FeedForward, type T5Config } from '../io/hf/index.js';
import { t5Names } from '../io/hf/t5.js';
import type { NameMap } from '../io/name-rules.js';
import type { NamedTensor } from '../io/safetensors.js';
import { blockParameterCount, TransformerBlock, type BlockConfig } from '../nn/block.js';
import type { Activation } from '../nn/feed-forward.js';
import { Embedding, Linear, RMSNorm } from '../nn/layers.js';
import { Group, initialising, ModuleList, zerosInit, type Init } from '../nn/module.js';
import { relativePositionBuckets } from '../nn/relative-position.js';
import type { Engine } from '../tensor/engine.js';
import { dropout, linear, positionBias, scale } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { hfTensors, loadHF, saveHF, type HFLoadSpec, type TensorSource } from './hf.js';
import { EncoderDecoder } from './seq2seq.js';
import { checkParameterMemory, type ParameterTerm } from './size.js';

export type { T5Config };

function t5Activation(c: T5Config): Activation {
  const { gated, act } = t5FeedForward(c);
  if (gated) {
    if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh')
      throw new ArgumentError(`T5 feed_forward_proj ${c.feed_forward_proj} is not supported (relu, gelu, gated-gelu)`);
    return 'gated-gelu';
  }
  if (act === 'relu' || act === 'gelu') return act;
  if (act === 'gelu_new' || act === 'gelu_pytorch_tanh') return 'gelu_tanh';
  throw new ArgumentError(`T5 feed_forward_proj ${c.feed_forward_proj} is not supported (relu, gelu, gated-gelu)`);
}

function t5Block(
  c: T5Config,
  activation: Activation,
  side: 'encoder' | 'decoder',
  init: Init,
  outInit: Init,
): BlockConfig {
  return {
    dModel: c.d_model,
    heads: c.num_heads,
    headDim: c.d_kv,
    dFF: c.d_ff,
    activation,
    norm: 'pre',
    normType: 'rmsnorm',
    eps: c.layer_norm_epsilon,
    bias: false,
    layout: 'out_in',
    causal: side === 'decoder',
    cross: side === 'decoder',
    scale: 1,
    init,
    outInit,
    dropout: c.dropout_rate,
  };
}

/** The parameters a T5 of this config holds, by the fields that size them (nothing is allocated). */
export function t5Parameters(c: T5Config): ParameterTerm[] {
  const act = t5Activation(c);
  const enc = blockParameterCount(t5Block(c, act, 'encoder', zerosInit, zerosInit));
  const dec = blockParameterCount(t5Block(c, act, 'decoder', zerosInit, zerosInit));
  const sizes = `d_model ${c.d_model}, num_heads ${c.num_heads} × d_kv ${c.d_kv} and d_ff ${c.d_ff}`;
  const stackExtra = c.relative_attention_num_buckets * c.num_heads + c.d_model; // position bias + final norm
  return [
    {
      what: `vocab_size (${c.vocab_size}) × d_model (${c.d_model}), the shared embeddings${c.tie_word_embeddings ? '' : ' and the untied LM head'}`,
      count: c.vocab_size * c.d_model * (c.tie_word_embeddings ? 1 : 2),
    },
    {
      what: `num_layers (${c.num_layers}) encoder blocks of ${sizes}, ${enc} parameters each`,
      count: c.num_layers * enc + stackExtra,
    },
    {
      what: `num_decoder_layers (${c.num_decoder_layers}) decoder blocks of ${sizes}, ${dec} parameters each`,
      count: c.num_decoder_layers * dec + stackExtra,
    },
  ];
}

interface Stack {
  group: Group;
  blocks: ModuleList<TransformerBlock>;
  bias: Tensor;
  norm: RMSNorm;
}

export class T5 extends EncoderDecoder {
  readonly shared: Embedding;
  readonly encoderStack: Stack;
  readonly decoderStack: Stack;
  readonly lmHead: Linear | null;
  readonly names: NameMap;

  constructor(
    engine: Engine,
    readonly config: T5Config,
    seed = 0,
  ) {
    super(engine);
    const c = config;
    const activation = t5Activation(c);
    checkParameterMemory(engine, 't5', t5Parameters(c));
    const rng = new Rng(seed);
    const normal =
      (std: number): Init =>
      () =>
        rng.normal() * std;
    const f = c.initializer_factor;
    const inner = c.num_heads * c.d_kv;
    this.shared = this.child('shared', new Embedding(engine, c.vocab_size, c.d_model, normal(f)));
    const stack = (side: 'encoder' | 'decoder', layers: number): Stack => {
      const group = this.child(side, new Group(engine));
      const blocks = Array.from({ length: layers }, () => {
        const b = new TransformerBlock(
          engine,
          t5Block(c, activation, side, normal(f * c.d_model ** -0.5), normal(f * inner ** -0.5)),
        );
        // as T5's _init_weights: q by (d_model·d_kv)^-½ (the score scaling T5 leaves out), wo by d_ff^-½
        if (!initialising(engine)) return b; // a loader overwrites them (withoutInit)
        const q = b.attn.qkv.weight.view();
        for (let i = 0; i < inner * c.d_model; i++) q[i]! *= c.d_kv ** -0.5;
        b.cross?.q.weight.view().forEach((v, i, a) => (a[i] = v * c.d_kv ** -0.5));
        const wo = b.ffn.down.weight.view();
        for (let i = 0; i < wo.length; i++) wo[i] = rng.normal() * f * c.d_ff ** -0.5;
        return b;
      });
      return {
        group,
        blocks: group.add('block', new ModuleList(engine, blocks)),
        bias: group.addParam(
          'relative_attention_bias',
          [c.relative_attention_num_buckets, c.num_heads],
          normal(f * c.d_model ** -0.5),
        ),
        norm: group.add('final_layer_norm', new RMSNorm(engine, c.d_model, c.layer_norm_epsilon)),
      };
    };
    this.encoderStack = stack('encoder', c.num_layers);
    this.decoderStack = stack('decoder', c.num_decoder_layers);
    this.lmHead = c.tie_word_embeddings
      ? null
      : this.child('lm_head', new Linear(engine, c.d_model, c.vocab_size, { bias: false, init: normal(f) }));
    this.names = t5Names({ gated: activation === 'gated-gelu', tied: c.tie_word_embeddings });
  }

  get encoderLayers() {
    return this.encoderStack.blocks;
  }
  get decoderLayers() {
    return this.decoderStack.blocks;
  }
  get vocabSize() {
    return this.config.vocab_size;
  }
  get padId() {
    return this.config.pad_token_id ?? 0;
  }
  get eosId() {
    return this.config.eos_token_id ?? 1;
  }
  get decoderStartId() {
    return this.config.decoder_start_token_id ?? this.padId;
  }
  get maxPositions() {
    return Infinity;
  }

  private embed(ids: Int32Array, B: number, T: number): Tensor {
    const x = this.shared.forward(ids, [B, T]);
    return this.training && this.config.dropout_rate > 0
      ? dropout(x, this.config.dropout_rate, this.engine.nextDropoutSeed())
      : x;
  }

  protected embedSource(ids: Int32Array, B: number, S: number): Tensor {
    return this.embed(ids, B, S);
  }

  protected embedTarget(ids: Int32Array, B: number, T: number): Tensor {
    return this.embed(ids, B, T);
  }

  protected selfBias(side: 'encoder' | 'decoder', Tq: number, Tk: number, start: number): Tensor {
    const c = this.config;
    const buckets = relativePositionBuckets(
      Tq,
      Tk,
      side === 'encoder' ? 0 : start,
      side === 'encoder',
      c.relative_attention_num_buckets,
      c.relative_attention_max_distance,
    );
    return positionBias((side === 'encoder' ? this.encoderStack : this.decoderStack).bias, buckets, Tq, Tk);
  }

  protected finish(side: 'encoder' | 'decoder', x: Tensor): Tensor {
    const h = (side === 'encoder' ? this.encoderStack : this.decoderStack).norm.forward(x);
    return this.training && this.config.dropout_rate > 0
      ? dropout(h, this.config.dropout_rate, this.engine.nextDropoutSeed())
      : h;
  }

  head(hidden: Tensor): Tensor {
    if (this.lmHead) return this.lmHead.forward(hidden);
    return linear(scale(hidden, this.config.d_model ** -0.5), this.shared.weight, null, 'out_in');
  }

  hfTensors(): NamedTensor[] {
    return hfTensors(this, this.names);
  }

  /** The checkpoint names this model loads (a streaming loader plans with it: src/models/stream-load.ts). */
  hfLoadSpec(): HFLoadSpec {
    return { names: this.names };
  }

  loadHF(get: TensorSource, names: string[]): void {
    loadHF(this, this.names, get, names);
  }

  async save(dir: string): Promise<void> {
    await saveHF(
      dir,
      { ...this.config, architectures: ['T5ForConditionalGeneration'] },
      this.hfTensors(),
      this.tokenizer?.toJson(),
    );
  }
}
