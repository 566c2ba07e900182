/**
 * BERT: the auto-encoding family. Token + segment + position embeddings and an embedding LayerNorm,
 * post-LN (or, with `pre_norm`, pre-LN) encoder blocks with bidirectional self-attention and a padding mask, a pooler (tanh on
 * [CLS]), and the heads: masked LM (transform + GELU + LayerNorm + decoder tied to the word embeddings
 * + bias), next-sentence prediction, sequence classification (on the pooled [CLS]) and token
 * classification. Hugging Face `bert` config fields and weight names (src/io/hf/bert.ts). RoBERTa
 * (src/models/roberta.ts) is this class with its own positions, heads and names: an `EncoderFamily`.
 */
import { Rng } from '../rng.js';
import { ArgumentError } from '../errors.js';
import type { BertConfig, RobertaConfig } from '../io/hf/index.js';
import { BERT_NAMES } from '../io/hf/bert.js';
import type { CheckpointInput } from '../io/checkpoint-format.js';
import type { NameMap } from '../io/name-rules.js';
import type { NamedTensor } from '../io/safetensors.js';
import { hfTensors, loadHF, saveHF, type HFLoadSpec, type TensorSource } from './hf.js';
import { blockParameterCount, TransformerBlock, type BlockConfig } from '../nn/block.js';
import { Embedding, LayerNorm, Linear } from '../nn/layers.js';
import { Group, initialising, Module, ModuleList, zerosInit, type Init } from '../nn/module.js';
import type { Engine } from '../tensor/engine.js';
import { add, crossEntropy, dropout, gatherRows, gelu, linear, relu, reshape, tanh } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { flatten, ignoreEmptyRows } from './inputs.js';
import { checkParameterMemory, type ParameterTerm } from './size.js';
import type { Activation } from '../nn/feed-forward.js';

export type BertHead = 'pretraining' | 'masked-lm' | 'sequence-classification' | 'token-classification';

/** The configs of the encoders built on this class: BERT's and RoBERTa's (the same fields). */
export type EncoderConfig = BertConfig | RobertaConfig;

/**
 * What differs between the encoder families this class builds, apart from the methods a subclass
 * overrides (RoBERTa's positions): the head classes' names and the checkpoint's weight names.
 */
export interface EncoderFamily {
  /** The family's name in messages. */
  name: string;
  /** The transformers class of each head the family has; the first is the one a config without `architectures` gets. */
  architectures: Partial<Record<BertHead, string>>;
  /** The checkpoint's weight names of a model with this head. */
  names(head: BertHead): NameMap;
  /** Checkpoint tensors of a head (not the body): left out when a body is loaded for fine-tuning. */
  headTensors: RegExp;
}

export const BERT_FAMILY: EncoderFamily = {
  name: 'BERT',
  architectures: {
    pretraining: 'BertForPreTraining',
    'masked-lm': 'BertForMaskedLM',
    'sequence-classification': 'BertForSequenceClassification',
    'token-classification': 'BertForTokenClassification',
  },
  names: () => BERT_NAMES,
  headTensors: /^(cls|classifier)\.|pooler/,
};

/** The head a config's `architectures` names (the family's first, BertForPreTraining for BERT, when it names none). */
export function bertHead(config: EncoderConfig, family: EncoderFamily = BERT_FAMILY): BertHead {
  const heads = Object.entries(family.architectures) as [BertHead, string][];
  const arch = config.architectures?.[0] ?? heads[0]![1];
  const head = heads.find(([, a]) => a === arch)?.[0];
  if (!head)
    throw new ArgumentError(
      `${family.name} architecture ${arch} is not supported (${heads.map(([, a]) => a).join(', ')})`,
    );
  return head;
}

function bertActivation(act: string): Exclude<Activation, 'gated-gelu'> {
  if (act === 'gelu') return 'gelu';
  if (act === 'gelu_new' || act === 'gelu_pytorch_tanh' || act === 'gelu_fast') return 'gelu_tanh';
  if (act === 'relu') return 'relu';
  throw new ArgumentError(`BERT hidden_act ${act} is not supported (gelu, gelu_new, relu)`);
}

/** A flat batch: B rows of T ids, with optional segments, padding mask and labels. */
export interface BertBatch {
  inputIds: Int32Array;
  B: number;
  T: number;
  tokenTypeIds?: Int32Array;
  attentionMask?: Int32Array;
  /** MLM: the original id at masked positions, -100 elsewhere; sequence classification: [B]; tagging: [B·T]. */
  labels?: Int32Array;
  /** NSP: 0 = B follows A (IsNext), 1 = random (NotNext), as Hugging Face labels it. */
  nextSentenceLabel?: Int32Array;
}

export interface BertForwardInputs {
  inputIds: ArrayLike<number>[];
  attentionMask?: ArrayLike<number>[];
  tokenTypeIds?: ArrayLike<number>[];
  labels?: ArrayLike<number>[] | ArrayLike<number>;
  nextSentenceLabel?: ArrayLike<number>;
}

export interface BertOutput {
  /** MLM: [B, T, V]; sequence classification: [B, num_labels]; token classification: [B, T, num_labels]. */
  logits: Tensor;
  /** Pre-training: the next-sentence logits [B, 2]. */
  seqRelationshipLogits?: Tensor;
  loss?: number;
}

/** Options of the training loss. */
export interface BertLossOptions {
  /** Weights of the classes in the classification heads' loss, as PyTorch's `cross_entropy(weight=…)`. */
  classWeights?: Float32Array;
}

function bertBlock(c: EncoderConfig, activation: Exclude<Activation, 'gated-gelu'>, init: Init): BlockConfig {
  const C = c.hidden_size;
  return {
    dModel: C,
    heads: c.num_attention_heads,
    headDim: C / c.num_attention_heads,
    dFF: c.intermediate_size,
    activation,
    norm: c.pre_norm ? 'pre' : 'post',
    normType: 'layernorm',
    eps: c.layer_norm_eps,
    bias: true,
    layout: 'out_in',
    causal: false,
    cross: false,
    scale: 1 / Math.sqrt(C / c.num_attention_heads),
    init,
    dropout: c.hidden_dropout_prob,
  };
}

/** The parameters a BERT of this config (and the head its `architectures` names) holds; nothing is allocated. */
export function bertParameters(c: EncoderConfig, family: EncoderFamily = BERT_FAMILY): ParameterTerm[] {
  const C = c.hidden_size;
  const head = bertHead(c, family); // RoBERTa's heads hold as many: classifier.dense + out_proj, lm_head.*
  const block = blockParameterCount(bertBlock(c, bertActivation(c.hidden_act), zerosInit));
  const linear = (i: number, o: number) => i * o + o;
  const mlm = head === 'pretraining' || head === 'masked-lm';
  const pooled = head === 'pretraining' || head === 'sequence-classification';
  return [
    {
      what: `(vocab_size ${c.vocab_size} + max_position_embeddings ${c.max_position_embeddings} + type_vocab_size ${c.type_vocab_size}) × hidden_size (${C}), the embeddings`,
      count: (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * C + 2 * C,
    },
    {
      what: `num_hidden_layers (${c.num_hidden_layers}) blocks of hidden_size ${C} and intermediate_size ${c.intermediate_size}, ${block} parameters each`,
      count: c.num_hidden_layers * block + (c.pre_norm ? 2 * C : 0),
    },
    {
      what: `the ${head} head${head.endsWith('classification') ? ` of num_labels (${c.num_labels}) classes` : ''}`,
      count:
        (pooled ? linear(C, C) : 0) +
        (mlm ? linear(C, C) + 2 * C + c.vocab_size : 0) +
        (head === 'pretraining' ? linear(C, 2) : 0) +
        (head.endsWith('classification') ? linear(C, c.num_labels) : 0),
    },
  ];
}

/**
 * A row whose attention mask is all 0 sees no real token anywhere: its labels (tokens, its class, its NSP label)
 * are ignored, as a left-padded GPT's pads are (models/inputs.ts).
 */
function withoutEmptyRowLabels(batch: BertBatch): BertBatch {
  const mask = batch.attentionMask;
  if (!mask) return batch;
  const out = { ...batch };
  if (batch.labels) out.labels = ignoreEmptyRows(batch.labels, mask, batch.B, batch.T);
  if (batch.nextSentenceLabel) out.nextSentenceLabel = ignoreEmptyRows(batch.nextSentenceLabel, mask, batch.B, batch.T);
  return out;
}

export class Bert extends Module {
  readonly kind = 'encoder';
  readonly word: Embedding;
  readonly position: Embedding;
  readonly tokenType: Embedding;
  readonly embNorm: LayerNorm;
  readonly layer: ModuleList<TransformerBlock>;
  /** After the last block of a pre-LN encoder (config `pre_norm`). */
  readonly finalNorm: LayerNorm | null;
  readonly pooler: Linear | null;
  readonly mlmTransform: Linear | null;
  readonly mlmNorm: LayerNorm | null;
  readonly mlmBias: Tensor | null;
  readonly nsp: Linear | null;
  readonly classifier: Linear | null;
  /** The head the config's `architectures` names. */
  readonly task: BertHead;
  readonly activation: Exclude<Activation, 'gated-gelu'>;
  tokenizer?: Tokenizer;

  constructor(
    engine: Engine,
    readonly config: EncoderConfig,
    seed = 0,
    readonly family: EncoderFamily = BERT_FAMILY,
  ) {
    super(engine);
    const c = config;
    if (c.hidden_size % c.num_attention_heads !== 0) {
      throw new ArgumentError(
        `hidden_size ${c.hidden_size} must be divisible by num_attention_heads ${c.num_attention_heads}`,
      );
    }
    this.task = bertHead(c, family);
    this.activation = bertActivation(c.hidden_act);
    checkParameterMemory(engine, c.model_type, bertParameters(c, family));
    const rng = new Rng(seed);
    const init: Init = () => rng.normal() * c.initializer_range;
    const C = c.hidden_size;
    const emb = this.child('embeddings', new Group(engine));
    this.word = emb.add('word', new Embedding(engine, c.vocab_size, C, init));
    this.position = emb.add('position', new Embedding(engine, c.max_position_embeddings, C, init));
    this.tokenType = emb.add('token_type', new Embedding(engine, c.type_vocab_size, C, init));
    this.embNorm = emb.add('norm', new LayerNorm(engine, C, c.layer_norm_eps));
    if (c.pad_token_id !== null && c.pad_token_id < c.vocab_size && initialising(engine))
      this.word.weight.view().fill(0, c.pad_token_id * C, (c.pad_token_id + 1) * C);
    const block = bertBlock(c, this.activation, init);
    const blocks = Array.from({ length: c.num_hidden_layers }, () => new TransformerBlock(engine, block));
    this.layer = this.child('layer', new ModuleList(engine, blocks));
    this.finalNorm = c.pre_norm ? this.child('final_norm', new LayerNorm(engine, C, c.layer_norm_eps)) : null;
    const h = this.task;
    this.pooler =
      h === 'pretraining' || h === 'sequence-classification'
        ? this.child('pooler', new Linear(engine, C, C, { init }))
        : null;
    const mlm = h === 'pretraining' || h === 'masked-lm';
    const group = mlm ? this.child('mlm', new Group(engine)) : null;
    this.mlmTransform = group ? group.add('transform', new Linear(engine, C, C, { init })) : null;
    this.mlmNorm = group ? group.add('norm', new LayerNorm(engine, C, c.layer_norm_eps)) : null;
    this.mlmBias = group ? group.addParam('bias', [c.vocab_size], zerosInit) : null;
    this.nsp = h === 'pretraining' ? this.child('nsp', new Linear(engine, C, 2, { init })) : null;
    this.classifier = h.endsWith('classification')
      ? this.child('classifier', new Linear(engine, C, c.num_labels, { init }))
      : null;
  }

  /** The most tokens a row may have (padding included; RoBERTa: padding excluded). */
  get maxLength(): number {
    return this.config.max_position_embeddings;
  }

  /** The classification head's modules, which `--freeze` leaves trainable: the classifier. */
  classificationHead(): Module[] {
    return this.classifier ? [this.classifier] : [];
  }

  /** Position ids [B·T]: 0, 1, 2… in every row. */
  protected positionIds(batch: BertBatch): Int32Array {
    const { B, T } = batch;
    if (T > this.config.max_position_embeddings)
      throw new ArgumentError(
        `sequence of ${T} tokens is longer than max_position_embeddings ${this.config.max_position_embeddings}`,
      );
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = t;
    return positions;
  }

  /** Sequence output [B, T, C]. */
  encode(batch: BertBatch): Tensor {
    const c = this.config;
    const { B, T } = batch;
    const positions = this.positionIds(batch);
    let x = add(
      add(this.word.forward(batch.inputIds, [B, T]), this.position.forward(positions, [B, T])),
      this.tokenType.forward(batch.tokenTypeIds ?? new Int32Array(B * T), [B, T]),
    );
    x = this.embNorm.forward(x);
    if (this.training && c.hidden_dropout_prob > 0)
      x = dropout(x, c.hidden_dropout_prob, this.engine.nextDropoutSeed());
    for (const block of this.layer.items) x = block.forward(x, { keyMask: batch.attentionMask });
    return this.finalNorm ? this.finalNorm.forward(x) : x;
  }

  /** The first token's output of each row ([CLS], `<s>`): [B, C]. */
  protected firstTokens(sequence: Tensor, B: number, T: number): Tensor {
    const C = this.config.hidden_size;
    const cls = Int32Array.from({ length: B }, (_, b) => b * T);
    return gatherRows(reshape(sequence, [B * T, C]), cls, [B]);
  }

  /** tanh(W·h[CLS] + b): [B, C]. */
  pool(sequence: Tensor, B: number, T: number): Tensor {
    return tanh(this.pooler!.forward(this.firstTokens(sequence, B, T)));
  }

  /** Dropout of the classification heads (training only): classifier_dropout, or hidden_dropout_prob when null. */
  protected headDropout(x: Tensor): Tensor {
    const p = this.config.classifier_dropout ?? this.config.hidden_dropout_prob;
    return this.training && p > 0 ? dropout(x, p, this.engine.nextDropoutSeed()) : x;
  }

  /** The MLM transform's activation: hidden_act. */
  protected mlmActivation(x: Tensor): Tensor {
    return this.activation === 'relu' ? relu(x) : gelu(x, this.activation === 'gelu' ? 'none' : 'tanh');
  }

  /** MLM logits [.., V]: transform + activation + LayerNorm, then the tied decoder. */
  mlmLogits(sequence: Tensor): Tensor {
    const h = this.mlmNorm!.forward(this.mlmActivation(this.mlmTransform!.forward(sequence)));
    return linear(h, this.word.weight, this.mlmBias, 'out_in');
  }

  /**
   * MLM logits and loss. With `maskedOnly` (training), the decoder runs on the labelled positions alone
   * (about 15 %): the vocabulary-wide matmul is the largest of a BERT step, and the loss is the same.
   */
  private mlm(seq: Tensor, batch: BertBatch, maskedOnly: boolean): { logits: Tensor; loss?: Tensor } {
    if (!maskedOnly || !batch.labels) {
      const logits = this.mlmLogits(seq);
      return { logits, loss: batch.labels ? crossEntropy(logits, batch.labels) : undefined };
    }
    const rows: number[] = [];
    const labels: number[] = [];
    batch.labels.forEach((y, i) => {
      if (y !== -100) {
        rows.push(i);
        labels.push(y);
      }
    });
    if (rows.length === 0) {
      // nothing masked: a zero loss, as crossEntropy gives
      rows.push(0);
      labels.push(-100);
    }
    const C = this.config.hidden_size;
    const picked = gatherRows(reshape(seq, [batch.B * batch.T, C]), rows, [rows.length]);
    const logits = this.mlmLogits(picked);
    return { logits, loss: crossEntropy(logits, Int32Array.from(labels)) };
  }

  /**
   * Logits and (with labels) the loss of a flat batch; the tape records it for training. `classWeights`
   * weight the classes in the classification heads' loss (fine-tuning; none: all 1).
   */
  run(
    batch: BertBatch,
    maskedOnly = false,
    options: BertLossOptions = {},
  ): { logits: Tensor; seqRelationshipLogits?: Tensor; loss?: Tensor } {
    const { B, T } = batch;
    batch = withoutEmptyRowLabels(batch);
    const seq = this.encode(batch);
    switch (this.task) {
      case 'pretraining': {
        const { logits, loss: mlmLoss } = this.mlm(seq, batch, maskedOnly);
        const nspLogits = this.nsp!.forward(this.pool(seq, B, T));
        let loss = mlmLoss;
        if (batch.nextSentenceLabel) {
          const l = crossEntropy(nspLogits, batch.nextSentenceLabel);
          loss = loss ? add(loss, l) : l;
        }
        return { logits, seqRelationshipLogits: nspLogits, loss };
      }
      case 'masked-lm':
        return this.mlm(seq, batch, maskedOnly);
      case 'sequence-classification': {
        const logits = this.classifier!.forward(this.headDropout(this.pool(seq, B, T)));
        return {
          logits,
          loss: batch.labels ? crossEntropy(logits, batch.labels, { classWeights: options.classWeights }) : undefined,
        };
      }
      case 'token-classification': {
        const logits = this.classifier!.forward(seq);
        return {
          logits,
          loss: batch.labels ? crossEntropy(logits, batch.labels, { classWeights: options.classWeights }) : undefined,
        };
      }
    }
  }

  /** The training loss (Trainer). */
  loss(batch: BertBatch, options: BertLossOptions = {}): Tensor {
    const { loss } = this.run(batch, true, options);
    if (!loss) throw new ArgumentError('the batch has no labels');
    return loss;
  }

  /** Hugging Face-style forward. */
  forward(inputs: BertForwardInputs): BertOutput {
    const { ids, B, T } = flatten(inputs.inputIds, 'inputIds');
    const batch: BertBatch = { inputIds: ids, B, T };
    if (inputs.attentionMask) batch.attentionMask = flatten(inputs.attentionMask, 'attentionMask', B, T).ids;
    if (inputs.tokenTypeIds) batch.tokenTypeIds = flatten(inputs.tokenTypeIds, 'tokenTypeIds', B, T).ids;
    if (inputs.labels) {
      const l = inputs.labels;
      batch.labels =
        typeof (l as ArrayLike<number>[])[0] === 'number'
          ? Int32Array.from(l as ArrayLike<number>)
          : flatten(l as ArrayLike<number>[], 'labels', B, T).ids;
    }
    if (inputs.nextSentenceLabel) batch.nextSentenceLabel = Int32Array.from(inputs.nextSentenceLabel);
    const r = this.run(batch);
    return { logits: r.logits, seqRelationshipLogits: r.seqRelationshipLogits, loss: r.loss?.item() };
  }

  hfTensors(): NamedTensor[] {
    return hfTensors(this, this.family.names(this.task));
  }

  /**
   * Loads a checkpoint's weights. With `body`, only the encoder must be there: a new head (classifier,
   * pooler) keeps its initialisation and another head's weights (a pre-training checkpoint's MLM/NSP)
   * are left out — fine-tuning a pre-trained model.
   */
  loadHF(get: TensorSource, names: string[], body = false): void {
    const spec = this.hfLoadSpec(body);
    loadHF(this, spec.names, get, names, spec.options);
  }

  /**
   * The checkpoint names this model loads (a streaming loader plans with it: src/models/stream-load.ts);
   * with `body`, as loadHF's `body`.
   */
  hfLoadSpec(body = false): HFLoadSpec {
    return {
      names: this.family.names(this.task),
      options: body ? { newHead: /^(classifier|pooler|nsp|mlm)\./, ignoreUnused: this.family.headTensors } : {},
    };
  }

  /** Writes config.json, model.safetensors, tokenizer.json and any `extraFiles` (atomically, file by file) into dir. */
  async save(dir: string, extraFiles?: Record<string, Uint8Array | string>): Promise<void> {
    const { config, tensors } = this.checkpointInput();
    await saveHF(dir, config, tensors, this.tokenizer?.toJson(), extraFiles);
  }

  /** What a checkpoint of this model holds: its config (head class named), HF tensors and tokenizer. */
  checkpointInput(): CheckpointInput {
    return {
      config: { ...this.config, architectures: [this.family.architectures[this.task]!] },
      tensors: this.hfTensors(),
      tokenizer: this.tokenizer?.toJson(),
    };
  }
}
