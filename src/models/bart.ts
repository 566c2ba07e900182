/**
 * BART: post-LN encoder-decoder with learned positions (BART's table has two extra rows: position p
 * reads row p + 2), a LayerNorm on the embeddings of each stack, GELU, scores scaled by head_dim^-½,
 * token embeddings shared by encoder, decoder and the tied head, and `final_logits_bias` added to the
 * logits. Hugging Face `bart` config fields and weight names (src/io/names/bart.ts).
 */
import { Rng } from '../rng.js';
import { ArgumentError } from '../errors.js';
import type { BartConfig } from '../io/hf/index.js';
import { BART_NAMES } from '../io/hf/bart.js';
import type { NamedTensor } from '../io/safetensors.js';
import { blockParameterCount, TransformerBlock, type BlockConfig } from '../nn/block.js';
import type { Activation } from '../nn/feed-forward.js';
import { Embedding, LayerNorm } from '../nn/layers.js';
import { Group, initialising, ModuleList, zerosInit, type Init } from '../nn/module.js';
import type { Engine } from '../tensor/engine.js';
import { add, dropout, linear, reshape, scale } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { hfTensors, loadHF, saveHF, type HFLoadSpec, type TensorSource } from './hf.js';
import { EncoderDecoder } from './seq2seq.js';
import { checkParameterMemory, type ParameterTerm } from './size.js';

export type { BartConfig };

/** BART's learned positions start at row 2 of the table (`BartLearnedPositionalEmbedding.offset`). */
export const BART_POSITION_OFFSET = 2;

function bartActivation(act: string): Exclude<Activation, 'gated-gelu'> {
  if (act === 'gelu' || act === 'relu') return act;
  if (act === 'gelu_new' || act === 'gelu_pytorch_tanh' || act === 'gelu_fast') return 'gelu_tanh';
  throw new ArgumentError(`BART activation_function ${act} is not supported (gelu, gelu_new, relu)`);
}

function bartBlock(c: BartConfig, side: 'encoder' | 'decoder', init: Init): BlockConfig {
  const heads = side === 'encoder' ? c.encoder_attention_heads : c.decoder_attention_heads;
  return {
    dModel: c.d_model,
    heads,
    headDim: c.d_model / heads,
    dFF: side === 'encoder' ? c.encoder_ffn_dim : c.decoder_ffn_dim,
    activation: bartActivation(c.activation_function),
    norm: 'post',
    normType: 'layernorm',
    eps: 1e-5,
    bias: true,
    layout: 'out_in',
    causal: side === 'decoder',
    cross: side === 'decoder',
    scale: (c.d_model / heads) ** -0.5,
    init,
    dropout: c.dropout,
  };
}

/** The parameters a BART of this config holds, by the fields that size them (nothing is allocated). */
export function bartParameters(c: BartConfig): ParameterTerm[] {
  const C = c.d_model;
  const enc = blockParameterCount(bartBlock(c, 'encoder', zerosInit));
  const dec = blockParameterCount(bartBlock(c, 'decoder', zerosInit));
  // each stack: its position table (two offset rows) and the LayerNorm on its embeddings
  const stackExtra = (c.max_position_embeddings + BART_POSITION_OFFSET) * C + 2 * C;
  return [
    {
      what: `vocab_size (${c.vocab_size}) × d_model (${C}), the shared embeddings and final_logits_bias`,
      count: c.vocab_size * C + c.vocab_size,
    },
    {
      what: `encoder_layers (${c.encoder_layers}) blocks of d_model ${C} and encoder_ffn_dim ${c.encoder_ffn_dim}, ${enc} parameters each`,
      count: c.encoder_layers * enc + stackExtra,
    },
    {
      what: `decoder_layers (${c.decoder_layers}) blocks of d_model ${C} and decoder_ffn_dim ${c.decoder_ffn_dim}, ${dec} parameters each`,
      count: c.decoder_layers * dec + stackExtra,
    },
  ];
}

interface Stack {
  positions: Embedding;
  norm: LayerNorm;
  layers: ModuleList<TransformerBlock>;
}

export class Bart extends EncoderDecoder {
  readonly shared: Embedding;
  readonly encoderStack: Stack;
  readonly decoderStack: Stack;
  /** [1, V], a buffer in Hugging Face's model: loaded and saved, never trained. */
  readonly finalLogitsBias: Tensor;

  constructor(
    engine: Engine,
    readonly config: BartConfig,
    seed = 0,
  ) {
    super(engine);
    const c = config;
    if (!c.tie_word_embeddings) throw new ArgumentError('BART with an untied LM head is not supported');
    checkParameterMemory(engine, 'bart', bartParameters(c));
    const rng = new Rng(seed);
    const init: Init = () => rng.normal() * c.init_std;
    const pad = c.pad_token_id;
    this.shared = this.child('shared', new Embedding(engine, c.vocab_size, c.d_model, init));
    if (pad !== null && pad < c.vocab_size && initialising(engine))
      this.shared.weight.view().fill(0, pad * c.d_model, (pad + 1) * c.d_model);
    const stack = (side: 'encoder' | 'decoder'): Stack => {
      const group = this.child(side, new Group(engine));
      const block = bartBlock(c, side, init);
      const blocks = Array.from(
        { length: side === 'encoder' ? c.encoder_layers : c.decoder_layers },
        () => new TransformerBlock(engine, block),
      );
      return {
        positions: group.add(
          'embed_positions',
          new Embedding(engine, c.max_position_embeddings + BART_POSITION_OFFSET, c.d_model, init),
        ),
        norm: group.add('layernorm_embedding', new LayerNorm(engine, c.d_model, 1e-5)),
        layers: group.add('layers', new ModuleList(engine, blocks)),
      };
    };
    this.encoderStack = stack('encoder');
    this.decoderStack = stack('decoder');
    this.finalLogitsBias = this.param('final_logits_bias', [1, c.vocab_size], zerosInit);
    this.finalLogitsBias.requiresGrad = false;
  }

  get encoderLayers() {
    return this.encoderStack.layers;
  }
  get decoderLayers() {
    return this.decoderStack.layers;
  }
  get vocabSize() {
    return this.config.vocab_size;
  }
  get padId() {
    return this.config.pad_token_id ?? 1;
  }
  get eosId() {
    return this.config.eos_token_id ?? 2;
  }
  get decoderStartId() {
    return this.config.decoder_start_token_id ?? this.eosId;
  }
  get maxPositions() {
    return this.config.max_position_embeddings;
  }

  private embed(stack: Stack, ids: Int32Array, B: number, T: number, start: number): Tensor {
    const c = this.config;
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = start + t + BART_POSITION_OFFSET;
    let tokens = this.shared.forward(ids, [B, T]);
    if (c.scale_embedding) tokens = scale(tokens, Math.sqrt(c.d_model));
    const x = stack.norm.forward(add(tokens, stack.positions.forward(positions, [B, T])));
    return this.training && c.dropout > 0 ? dropout(x, c.dropout, this.engine.nextDropoutSeed()) : x;
  }

  protected embedSource(ids: Int32Array, B: number, S: number): Tensor {
    return this.embed(this.encoderStack, ids, B, S, 0);
  }

  protected embedTarget(ids: Int32Array, B: number, T: number, start: number): Tensor {
    return this.embed(this.decoderStack, ids, B, T, start);
  }

  protected selfBias(): undefined {
    return undefined;
  }

  protected finish(_side: 'encoder' | 'decoder', x: Tensor): Tensor {
    return x;
  }

  head(hidden: Tensor): Tensor {
    return linear(hidden, this.shared.weight, reshape(this.finalLogitsBias, [this.config.vocab_size]), 'out_in');
  }

  hfTensors(): NamedTensor[] {
    return hfTensors(this, BART_NAMES);
  }

  /** The checkpoint names this model loads (a streaming loader plans with it: src/models/stream-load.ts). */
  hfLoadSpec(): HFLoadSpec {
    return { names: BART_NAMES };
  }

  loadHF(get: TensorSource, names: string[]): void {
    loadHF(this, BART_NAMES, get, names);
  }

  async save(dir: string): Promise<void> {
    await saveHF(
      dir,
      { ...this.config, architectures: ['BartForConditionalGeneration'] },
      this.hfTensors(),
      this.tokenizer?.toJson(),
    );
  }
}
