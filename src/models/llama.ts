/**
 * LLaMA: the auto-regressive family of LlamaForCausalLM (and SmolLM, TinyLlama, Mistral-shaped configs
 * without sliding windows). Token embeddings, pre-norm blocks (RMSNorm) with causal self-attention whose
 * queries and keys carry rotary position embeddings and whose keys and values may have fewer heads than the
 * queries (grouped-query attention), a SwiGLU feed-forward down(silu(gate(x))·up(x)), a final RMSNorm and an
 * LM head, tied to the embeddings or not. Hugging Face `llama` config fields and weight names
 * (src/io/hf/llama.ts), so checkpoints move both ways.
 */
import { Rng } from '../rng.js';
import { SequenceTooLongError } from '../errors.js';
import type { LlamaConfig } from '../io/hf/index.js';
import { llamaNames } from '../io/hf/llama.js';
import type { CheckpointInput } from '../io/checkpoint-format.js';
import type { NamedTensor } from '../io/safetensors.js';
import { hfTensors, loadHF, saveHF, type HFLoadSpec, type TensorSource } from './hf.js';
import { checkParameterMemory, newCachesAllOrNone, type ParameterTerm } from './size.js';
import { flatten, ignoreBeforeFirstToken, shiftLabels } from './inputs.js';
import type { ForwardInputs, ForwardOutput, LmBatch } from './gpt.js';
import type { KVCache } from '../nn/attention.js';
import { blockParameterCount, TransformerBlock, type BlockConfig } from '../nn/block.js';
import { Embedding, Linear, RMSNorm } from '../nn/layers.js';
import { Module, ModuleList, zerosInit, type Init } from '../nn/module.js';
import { RotaryEmbedding } from '../nn/rotary.js';
import type { Engine } from '../tensor/engine.js';
import { crossEntropy, linear } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { generateTokens, type GenerateOptions, type TokenStream } from '../generate/generate.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';

export type { LlamaConfig };

/** The block of every LLaMA layer: pre-RMSNorm, grouped-query attention with rotary positions, SwiGLU. */
function llamaBlock(c: LlamaConfig, rotary: RotaryEmbedding | undefined, init: Init): BlockConfig {
  return {
    dModel: c.hidden_size,
    heads: c.num_attention_heads,
    kvHeads: c.num_key_value_heads,
    headDim: c.head_dim,
    rotary: rotary,
    dFF: c.intermediate_size,
    activation: 'swiglu',
    norm: 'pre',
    normType: 'rmsnorm',
    eps: c.rms_norm_eps,
    bias: c.attention_bias,
    ffnBias: c.mlp_bias,
    layout: 'out_in',
    causal: true,
    cross: false,
    scale: 1 / Math.sqrt(c.head_dim),
    init,
    // attention_dropout (on attention probabilities) is not applied: the fused attention kernel has no dropout
  };
}

/** LLaMA's parameters by the config's sizes, counted without building it (src/models/size.ts). */
export function llamaParameters(c: LlamaConfig): ParameterTerm[] {
  const C = c.hidden_size;
  const block = blockParameterCount(llamaBlock(c, undefined, zerosInit));
  return [
    { what: `vocab_size (${c.vocab_size}) × hidden_size (${C}), the token embeddings`, count: c.vocab_size * C },
    {
      what: `num_hidden_layers (${c.num_hidden_layers}) blocks of hidden_size ${C} and intermediate_size ${c.intermediate_size}, ${block} parameters each`,
      count: c.num_hidden_layers * block,
    },
    {
      what: `the final RMSNorm${c.tie_word_embeddings ? '' : ` and the untied lm_head of vocab_size (${c.vocab_size})`}`,
      count: C + (c.tie_word_embeddings ? 0 : c.vocab_size * C),
    },
  ];
}

export class Llama extends Module {
  readonly kind = 'causal-lm';
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<TransformerBlock>;
  readonly norm: RMSNorm;
  /** The untied LM head [vocab, hidden]; null when tied to embed_tokens (tie_word_embeddings). */
  readonly lm_head: Linear | null;
  /** The cos/sin table every layer's attention reads (not a parameter). */
  readonly rotary: RotaryEmbedding;
  tokenizer?: Tokenizer;

  constructor(
    engine: Engine,
    readonly config: LlamaConfig,
    seed = 0,
  ) {
    super(engine);
    const c = config;
    checkParameterMemory(engine, 'llama', llamaParameters(c)); // before anything is allocated
    const rng = new Rng(seed);
    // transformers' LlamaPreTrainedModel: every Linear and the embeddings N(0, initializer_range), norms 1, biases 0
    const normal: Init = () => rng.normal() * c.initializer_range;
    this.rotary = new RotaryEmbedding(engine, c.head_dim, c.rope_theta, c.max_position_embeddings);
    this.embed_tokens = this.child('embed_tokens', new Embedding(engine, c.vocab_size, c.hidden_size, normal));
    const blocks: TransformerBlock[] = [];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      blocks.push(new TransformerBlock(engine, llamaBlock(c, this.rotary, normal)));
    }
    this.layers = this.child('layers', new ModuleList(engine, blocks));
    this.norm = this.child('norm', new RMSNorm(engine, c.hidden_size, c.rms_norm_eps));
    this.lm_head = c.tie_word_embeddings
      ? null
      : this.child('lm_head', new Linear(engine, c.hidden_size, c.vocab_size, { bias: false, init: normal }));
  }

  get vocabSize(): number {
    return this.config.vocab_size;
  }

  get contextLength(): number {
    return this.config.max_position_embeddings;
  }

  /**
   * Hidden states [B, T, C] after the final RMSNorm, for ids [B·T] at positions start … start+T−1 (the
   * rotary angles of those positions). With caches, keys and values of these positions are appended and
   * attention sees the past too.
   */
  hidden(
    ids: Int32Array,
    B: number,
    T: number,
    opts: { start?: number; caches?: KVCache[]; attentionMask?: Int32Array } = {},
  ): Tensor {
    const c = this.config;
    const start = opts.start ?? 0;
    if (start + T > c.max_position_embeddings) {
      throw new SequenceTooLongError(
        `sequence of ${start + T} tokens is longer than the context of ${c.max_position_embeddings} (max_position_embeddings)`,
      );
    }
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = start + t;
    let x = this.embed_tokens.forward(ids, [B, T]);
    this.layers.items.forEach((block, i) => {
      x = block.forward(x, { keyMask: opts.attentionMask, cache: opts.caches?.[i], positions });
    });
    return this.norm.forward(x);
  }

  /** Logits [.., V]: hidden · lm_headᵀ, or · embed_tokensᵀ when tied. */
  head(hidden: Tensor): Tensor {
    return this.lm_head ? this.lm_head.forward(hidden) : linear(hidden, this.embed_tokens.weight, null, 'out_in');
  }

  /**
   * The training loss of a flat batch: mean next-token cross-entropy (tape on, for Trainer). With an attention
   * mask, positions that see no real token (left padding) are not counted, as for GPT (ignoreBeforeFirstToken).
   */
  loss(batch: LmBatch): Tensor {
    const { B, T, attentionMask: mask } = batch;
    const logits = this.head(this.hidden(batch.inputIds, B, T, { attentionMask: mask }));
    return crossEntropy(logits, mask ? ignoreBeforeFirstToken(batch.labels, mask, B, T) : batch.labels);
  }

  /** Hugging Face-style forward: logits [B, T, V] and, with labels, the mean shifted loss (as GPT's). */
  forward(inputs: ForwardInputs): ForwardOutput {
    const { ids, B, T } = flatten(inputs.inputIds, 'inputIds');
    const mask = inputs.attentionMask ? flatten(inputs.attentionMask, 'attentionMask', B, T).ids : undefined;
    const logits = this.head(this.hidden(ids, B, T, { attentionMask: mask }));
    if (!inputs.labels) return { logits };
    const shifted = shiftLabels(flatten(inputs.labels, 'labels', B, T).ids, B, T);
    const loss = crossEntropy(logits, mask ? ignoreBeforeFirstToken(shifted, mask, B, T) : shifted).item();
    return { logits, loss };
  }

  /** Empty KV caches for decoding up to `capacity` positions: [B, capacity, num_key_value_heads·head_dim] each. */
  newCaches(B: number, capacity: number): KVCache[] {
    return newCachesAllOrNone(
      this.engine,
      this.layers.items.map((b) => b.attn),
      B,
      capacity,
    );
  }

  /** Tokens after the prompt, as they come (see GenerateOptions). */
  generate(inputIds: ArrayLike<number>, options: GenerateOptions): TokenStream {
    return generateTokens(this, inputIds, options);
  }

  /** The named tensors of a Hugging Face checkpoint (LlamaForCausalLM names and layouts). */
  hfTensors(): NamedTensor[] {
    return hfTensors(this, llamaNames(this.config));
  }

  /** Loads weights from a checkpoint's tensors (Hugging Face names), checking every name and shape. */
  /** The checkpoint names this model loads (a streaming loader plans with it: src/models/stream-load.ts). */
  hfLoadSpec(): HFLoadSpec {
    return { names: llamaNames(this.config) };
  }

  loadHF(get: TensorSource, names: string[]): void {
    loadHF(this, llamaNames(this.config), get, names);
  }

  /** Writes config.json, model.safetensors and tokenizer.json (atomically, file by file) into dir. */
  async save(dir: string, extraFiles?: Record<string, Uint8Array | string>): Promise<void> {
    const { config, tensors } = this.checkpointInput();
    await saveHF(dir, config, tensors, this.tokenizer?.toJson(), extraFiles);
  }

  /** What a checkpoint of this model holds: its config (head class named), HF tensors and tokenizer. */
  checkpointInput(): CheckpointInput {
    return {
      config: { ...this.config, architectures: ['LlamaForCausalLM'] },
      tensors: this.hfTensors(),
      tokenizer: this.tokenizer?.toJson(),
    };
  }

  /** Releases the parameters and the rotary table. */
  override dispose(): void {
    super.dispose();
    this.rotary.dispose();
  }
}
