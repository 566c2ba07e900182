/**
 * GPT-2: the auto-regressive family. Token + learned position embeddings, pre-LN blocks with causal
 * self-attention, a final LayerNorm, and an LM head tied to the token embeddings. Hugging Face `gpt2`
 * config fields and weight names (src/io/names/gpt2.ts), so checkpoints move both ways.
 */
import { Rng } from '../rng.js';
import { ArgumentError, SequenceTooLongError } from '../errors.js';
import { gpt2InnerDim, type Gpt2Config } from '../io/hf/index.js';
import { GPT2_NAMES } from '../io/hf/gpt2.js';
import type { CheckpointInput } from '../io/checkpoint-format.js';
import type { NamedTensor } from '../io/safetensors.js';
import { hfTensors, loadHF, saveHF, type HFLoadSpec, type TensorSource } from './hf.js';
import { flatten, ignoreBeforeFirstToken, shiftLabels } from './inputs.js';
import { checkParameterMemory, newCachesAllOrNone, type ParameterTerm } from './size.js';
import type { KVCache } from '../nn/attention.js';
import { blockParameterCount, TransformerBlock, type BlockConfig } from '../nn/block.js';
import type { Activation } from '../nn/feed-forward.js';
import { Embedding, LayerNorm } from '../nn/layers.js';
import { Module, ModuleList, zerosInit, type Init } from '../nn/module.js';
import type { Engine } from '../tensor/engine.js';
import { add, crossEntropy, dropout, linear } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { generateTokens, type GenerateOptions, type TokenStream } from '../generate/generate.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';

export type { Gpt2Config };

export interface ForwardInputs {
  /** Token ids, one row per sequence, all of one length. */
  inputIds: ArrayLike<number>[];
  /** 1 = attend, 0 = padding, per token; default all ones. */
  attentionMask?: ArrayLike<number>[];
  /** Targets (usually inputIds); shifted inside, -100 ignored, as Hugging Face does. */
  labels?: ArrayLike<number>[];
}

export interface ForwardOutput {
  /** [batch, seq, vocab], valid until the engine's next step. */
  logits: Tensor;
  loss?: number;
}

/** A batch in flat form: B rows of T ids, labels already aligned with the positions that predict them. */
export interface LmBatch {
  inputIds: Int32Array;
  /** The target of each position (the next token: already shifted), -100 where none. */
  labels: Int32Array;
  B: number;
  T: number;
  attentionMask?: Int32Array;
}

export function gptActivation(act: string): Activation {
  if (act === 'gelu_new' || act === 'gelu_pytorch_tanh' || act === 'gelu_fast') return 'gelu_tanh';
  if (act === 'gelu' || act === 'relu') return act;
  throw new ArgumentError(`GPT-2 activation ${act} is not supported (gelu_new, gelu_pytorch_tanh, gelu, relu)`);
}

/** The block config of a GPT-2 (every block alike); `init` draws the weights, `outInit` the residual projections. */
function gptBlock(c: Gpt2Config, init: Init, outInit: Init): BlockConfig {
  return {
    dModel: c.n_embd,
    heads: c.n_head,
    headDim: c.n_embd / c.n_head,
    dFF: gpt2InnerDim(c),
    activation: gptActivation(c.activation_function),
    norm: 'pre',
    normType: 'layernorm',
    eps: c.layer_norm_epsilon,
    bias: true,
    layout: 'in_out',
    causal: true,
    cross: false,
    scale: c.scale_attn_weights ? 1 / Math.sqrt(c.n_embd / c.n_head) : 1,
    init,
    outInit,
    // resid_pdrop; attn_pdrop (dropout on attention probabilities) is not applied: the fused
    // attention kernel has no dropout
    dropout: c.resid_pdrop,
  };
}

/** The parameters a GPT-2 of this config holds, by the fields that size them (nothing is allocated). */
export function gptParameters(c: Gpt2Config): ParameterTerm[] {
  const C = c.n_embd;
  const block = blockParameterCount(gptBlock(c, zerosInit, zerosInit));
  return [
    { what: `vocab_size (${c.vocab_size}) × n_embd (${C}), the token embeddings`, count: c.vocab_size * C },
    { what: `n_positions (${c.n_positions}) × n_embd (${C}), the position embeddings`, count: c.n_positions * C },
    {
      what: `n_layer (${c.n_layer}) blocks of n_embd ${C} and n_inner ${gpt2InnerDim(c)}, ${block} parameters each`,
      count: c.n_layer * block,
    },
    { what: `the final LayerNorm of n_embd (${C})`, count: 2 * C },
  ];
}

export class GPT extends Module {
  readonly kind = 'causal-lm';
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly h: ModuleList<TransformerBlock>;
  readonly ln_f: LayerNorm;
  tokenizer?: Tokenizer;

  constructor(
    engine: Engine,
    readonly config: Gpt2Config,
    seed = 0,
  ) {
    super(engine);
    const c = config;
    if (!c.tie_word_embeddings) throw new ArgumentError('GPT-2 with an untied LM head is not supported');
    checkParameterMemory(engine, 'gpt2', gptParameters(c));
    const rng = new Rng(seed);
    const normal =
      (std: number): Init =>
      () =>
        rng.normal() * std;
    const std = c.initializer_range;
    this.wte = this.child('wte', new Embedding(engine, c.vocab_size, c.n_embd, normal(std)));
    this.wpe = this.child('wpe', new Embedding(engine, c.n_positions, c.n_embd, normal(std)));
    const blocks: TransformerBlock[] = [];
    // GPT-2: residual projections scaled by 1/√(2·n_layer)
    const block = gptBlock(c, normal(std), normal(std / Math.sqrt(2 * c.n_layer)));
    for (let i = 0; i < c.n_layer; i++) blocks.push(new TransformerBlock(engine, block));
    this.h = this.child('h', new ModuleList(engine, blocks));
    this.ln_f = this.child('ln_f', new LayerNorm(engine, c.n_embd, c.layer_norm_epsilon));
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  /**
   * Hidden states [B, T, C] after the final LayerNorm, for ids [B·T] at positions start … start+T−1.
   * With caches, keys and values of these positions are appended and attention sees the past too.
   */
  hidden(
    ids: Int32Array,
    B: number,
    T: number,
    opts: { start?: number; caches?: KVCache[]; attentionMask?: Int32Array } = {},
  ): Tensor {
    const c = this.config;
    const start = opts.start ?? 0;
    if (start + T > c.n_positions) {
      throw new SequenceTooLongError(
        `sequence of ${start + T} tokens is longer than the context of ${c.n_positions} (n_positions)`,
      );
    }
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = start + t;
    let x = add(this.wte.forward(ids, [B, T]), this.wpe.forward(positions, [B, T]));
    if (this.training && c.embd_pdrop > 0) x = dropout(x, c.embd_pdrop, this.engine.nextDropoutSeed());
    this.h.items.forEach((block, i) => {
      x = block.forward(x, { keyMask: opts.attentionMask, cache: opts.caches?.[i] });
    });
    return this.ln_f.forward(x);
  }

  /** Logits [.., V] = hidden · wteᵀ (the tied head). */
  head(hidden: Tensor): Tensor {
    return linear(hidden, this.wte.weight, null, 'out_in');
  }

  /**
   * The training loss of a flat batch: mean next-token cross-entropy (tape on, for Trainer). With an attention
   * mask, positions that see no real token (left padding) are not counted (ignoreBeforeFirstToken).
   */
  loss(batch: LmBatch): Tensor {
    const { B, T, attentionMask: mask } = batch;
    const logits = this.head(this.hidden(batch.inputIds, B, T, { attentionMask: mask }));
    return crossEntropy(logits, mask ? ignoreBeforeFirstToken(batch.labels, mask, B, T) : batch.labels);
  }

  /**
   * Hugging Face-style forward: logits [B, T, V] and, with labels, the mean shifted loss. Positions that see no
   * real token (the pads before a left-padded row's first token) are not counted; transformers counts them.
   */
  forward(inputs: ForwardInputs): ForwardOutput {
    const { ids, B, T } = flatten(inputs.inputIds, 'inputIds');
    const mask = inputs.attentionMask ? flatten(inputs.attentionMask, 'attentionMask', B, T).ids : undefined;
    const logits = this.head(this.hidden(ids, B, T, { attentionMask: mask }));
    if (!inputs.labels) return { logits };
    const shifted = shiftLabels(flatten(inputs.labels, 'labels', B, T).ids, B, T);
    const loss = crossEntropy(logits, mask ? ignoreBeforeFirstToken(shifted, mask, B, T) : shifted).item();
    return { logits, loss };
  }

  /** Empty KV caches for decoding up to `capacity` positions. */
  newCaches(B: number, capacity: number): KVCache[] {
    return newCachesAllOrNone(
      this.engine,
      this.h.items.map((b) => b.attn),
      B,
      capacity,
    );
  }

  /** Tokens after the prompt, as they come (see GenerateOptions). */
  generate(inputIds: ArrayLike<number>, options: GenerateOptions): TokenStream {
    return generateTokens(this, inputIds, options);
  }

  get contextLength(): number {
    return this.config.n_positions;
  }

  /** The named tensors of a Hugging Face checkpoint (GPT2LMHeadModel names and layouts). */
  hfTensors(): NamedTensor[] {
    return hfTensors(this, GPT2_NAMES);
  }

  /** Loads weights from a checkpoint's tensors (Hugging Face names), checking every name and shape. */
  /** The checkpoint names this model loads (a streaming loader plans with it: src/models/stream-load.ts). */
  hfLoadSpec(): HFLoadSpec {
    return { names: GPT2_NAMES };
  }

  loadHF(get: TensorSource, names: string[]): void {
    loadHF(this, GPT2_NAMES, get, names);
  }

  /** What a checkpoint of this model holds: its config (head class named), HF tensors and tokenizer. */
  checkpointInput(): CheckpointInput {
    return {
      config: { ...this.config, architectures: ['GPT2LMHeadModel'] },
      tensors: this.hfTensors(),
      tokenizer: this.tokenizer?.toJson(),
    };
  }

  /** Writes config.json, model.safetensors and tokenizer.json (atomically, file by file) into dir. */
  async save(dir: string, extraFiles?: Record<string, Uint8Array | string>): Promise<void> {
    const { config, tensors } = this.checkpointInput();
    await saveHF(dir, config, tensors, this.tokenizer?.toJson(), extraFiles);
  }
}
