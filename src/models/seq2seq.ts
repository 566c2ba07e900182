/**
 * The encoder-decoder family's shared half: a bidirectional encoder over the source, a causal decoder
 * with cross-attention over the encoder's output, the loss with labels shifted right into decoder
 * inputs (as `transformers` does), and decoding (greedy, sampling, beam search) with the encoder run
 * once, each layer's cross-attention keys and values projected once, and a self-attention KV cache.
 * T5 (src/models/t5.ts) and BART (src/models/bart.ts) supply embeddings, positions, norms and head.
 */
import { ArgumentError, TokenIdError } from '../errors.js';
import type { KVCache } from '../nn/attention.js';
import type { TransformerBlock } from '../nn/block.js';
import { Module, type ModuleList } from '../nn/module.js';
import { crossEntropy } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { beamSearch, type BeamHypothesis, type BeamSearchOptions } from '../generate/beam.js';
import { seq2seqTokens, type Seq2SeqGenerateOptions, type Seq2SeqLM } from '../generate/seq2seq.js';
import type { TokenStream } from '../generate/generate.js';
import { flatten, ignoreEmptyRows } from './inputs.js';
import { newCachesAllOrNone } from './size.js';

/** A flat batch: B sources of S ids and B decoder rows of T ids. */
export interface Seq2SeqBatch {
  inputIds: Int32Array;
  B: number;
  S: number;
  /** [B·S] 1 = token, 0 = padding. */
  attentionMask?: Int32Array;
  decoderInputIds: Int32Array;
  T: number;
  /** [B·T] the target of each decoder position (the next token), -100 where none. */
  labels?: Int32Array;
}

export interface Seq2SeqForwardInputs {
  inputIds: ArrayLike<number>[];
  attentionMask?: ArrayLike<number>[];
  /** Decoder inputs; without them, labels shifted right (decoder start token first, -100 → pad). */
  decoderInputIds?: ArrayLike<number>[];
  /** Targets [B, T]; -100 ignored. */
  labels?: ArrayLike<number>[];
}

export interface Seq2SeqOutput {
  /** [B, T, V], valid until the engine's next step. */
  logits: Tensor;
  loss?: number;
  /** The encoder's output [B, S, d]. */
  encoderLastHiddenState: Tensor;
}

/** Decoder state of one batch of rows: the projected memory per layer, its mask, the self-attention caches. */
export interface DecoderState {
  memoryKV: Tensor[];
  memoryMask?: Int32Array;
  caches: KVCache[];
  /** Positions decoded so far. */
  length: number;
}

export abstract class EncoderDecoder extends Module implements Seq2SeqLM {
  readonly kind = 'seq2seq';
  tokenizer?: Tokenizer;
  abstract readonly encoderLayers: ModuleList<TransformerBlock>;
  abstract readonly decoderLayers: ModuleList<TransformerBlock>;
  abstract readonly vocabSize: number;
  abstract readonly padId: number;
  abstract readonly eosId: number;
  abstract readonly decoderStartId: number;
  /** Longest source or target (learned positions); Infinity for relative positions. */
  abstract readonly maxPositions: number;

  /** Token (and position) embeddings of the encoder, with their norm and dropout: [B, S, d]. */
  protected abstract embedSource(ids: Int32Array, B: number, S: number): Tensor;
  /** The same for decoder positions start … start+T−1. */
  protected abstract embedTarget(ids: Int32Array, B: number, T: number, start: number): Tensor;
  /** Additive self-attention bias [heads, Tq, Tk] of the encoder or decoder (T5), or none. */
  protected abstract selfBias(side: 'encoder' | 'decoder', Tq: number, Tk: number, start: number): Tensor | undefined;
  /** After the last block (T5's final RMSNorm and dropout; nothing for BART). */
  protected abstract finish(side: 'encoder' | 'decoder', x: Tensor): Tensor;
  /** Logits [.., V] of decoder hidden states. */
  abstract head(hidden: Tensor): Tensor;
  abstract save(dir: string): Promise<void>;

  private check(ids: Int32Array, what: string, len: number): void {
    if (len > this.maxPositions)
      throw new ArgumentError(
        `${what} of ${len} tokens is longer than the ${this.maxPositions} positions of this model`,
      );
    for (let i = 0; i < ids.length; i++) {
      if (ids[i]! < 0 || ids[i]! >= this.vocabSize)
        throw new TokenIdError(`${what}: token id ${ids[i]} at ${i} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }

  /** The encoder's output [B, S, d]. */
  encode(ids: Int32Array, B: number, S: number, mask?: Int32Array): Tensor {
    this.check(ids, 'source', S);
    let x = this.embedSource(ids, B, S);
    const bias = this.selfBias('encoder', S, S, 0);
    for (const block of this.encoderLayers.items) x = block.forward(x, { keyMask: mask, positionBias: bias });
    return this.finish('encoder', x);
  }

  /** Each decoder layer's cross-attention keys and values of the encoder output [B, S, 2·inner]. */
  projectMemory(memory: Tensor): Tensor[] {
    return this.decoderLayers.items.map((b) => b.cross!.project(memory));
  }

  /**
   * Decoder hidden states [B, T, d] of positions start … start+T−1 over projected memory; with caches,
   * these positions' keys and values are appended and attention also sees the cached ones.
   */
  decode(
    ids: Int32Array,
    B: number,
    T: number,
    memoryKV: Tensor[],
    opts: { memoryMask?: Int32Array; start?: number; caches?: KVCache[] } = {},
  ): Tensor {
    const start = opts.start ?? 0;
    this.check(ids, 'decoder input', start + T);
    let x = this.embedTarget(ids, B, T, start);
    const bias = this.selfBias('decoder', T, opts.caches ? start + T : T, start);
    this.decoderLayers.items.forEach((block, i) => {
      x = block.forward(x, {
        positionBias: bias,
        cache: opts.caches?.[i],
        memoryKV: memoryKV[i],
        memoryMask: opts.memoryMask,
      });
    });
    return this.finish('decoder', x);
  }

  /** Logits [B, T, V] of a batch (tape on when training). */
  logits(batch: Seq2SeqBatch): Tensor {
    const memory = this.encode(batch.inputIds, batch.B, batch.S, batch.attentionMask);
    const h = this.decode(batch.decoderInputIds, batch.B, batch.T, this.projectMemory(memory), {
      memoryMask: batch.attentionMask,
    });
    return this.head(h);
  }

  /**
   * The training loss: mean cross-entropy over labelled decoder positions (Trainer). `labelSmoothing` is
   * ε of PyTorch's `label_smoothing` (default 0, as held-out losses use it).
   */
  loss(batch: Seq2SeqBatch, options: { labelSmoothing?: number } = {}): Tensor {
    if (!batch.labels) throw new ArgumentError('the batch has no labels');
    return crossEntropy(this.logits(batch), this.countedLabels(batch)!, {
      labelSmoothing: options.labelSmoothing ?? 0,
    });
  }

  /**
   * The labels the loss counts: those of a row whose source mask is all 0 are ignored (its decoder's
   * cross-attention sees no real token; models/inputs.ts).
   */
  private countedLabels(batch: { labels?: Int32Array; attentionMask?: Int32Array; B: number; S: number }) {
    const { labels, attentionMask: mask } = batch;
    return labels && mask ? ignoreEmptyRows(labels, mask, batch.B, batch.S) : labels;
  }

  /**
   * Pairs padded into a batch: sources padded with pad (masked), targets with -100 as labels, and the
   * labels shifted right as decoder inputs.
   */
  batch(pairs: readonly { source: ArrayLike<number>; target: ArrayLike<number> }[]): Seq2SeqBatch {
    const B = pairs.length;
    if (B === 0) throw new ArgumentError('batch: no pairs');
    const S = Math.max(...pairs.map((p) => p.source.length));
    const T = Math.max(...pairs.map((p) => p.target.length));
    const inputIds = new Int32Array(B * S).fill(this.padId);
    const attentionMask = new Int32Array(B * S);
    const labels = new Int32Array(B * T).fill(-100);
    pairs.forEach((p, b) => {
      inputIds.set(p.source, b * S);
      attentionMask.fill(1, b * S, b * S + p.source.length);
      labels.set(p.target, b * T);
    });
    return { inputIds, attentionMask, B, S, T, labels, decoderInputIds: this.shiftRight(labels, B, T) };
  }

  /** Mean loss per labelled token over batches, in evaluation mode, without the tape. */
  heldOutLoss(batches: Iterable<Seq2SeqBatch>): number {
    const was = this.training;
    this.train(false);
    let sum = 0;
    let n = 0;
    for (const b of batches) {
      const tokens = this.countedLabels(b)!.filter((y) => y >= 0).length;
      sum += this.engine.noGrad(() => this.loss(b).item()) * tokens;
      n += tokens;
      this.engine.endStep();
    }
    this.train(was);
    return sum / Math.max(1, n);
  }

  /** Labels [B·T] → decoder inputs: the start token, then labels[.., :-1] with -100 read as padding. */
  shiftRight(labels: Int32Array, B: number, T: number): Int32Array {
    const out = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      out[b * T] = this.decoderStartId;
      for (let t = 1; t < T; t++) {
        const y = labels[b * T + t - 1]!;
        out[b * T + t] = y === -100 ? this.padId : y;
      }
    }
    return out;
  }

  /** Hugging Face-style forward: logits [B, T, V] and, with labels, the mean loss. */
  forward(inputs: Seq2SeqForwardInputs): Seq2SeqOutput {
    const { ids, B, T: S } = flatten(inputs.inputIds, 'inputIds');
    const mask = inputs.attentionMask ? flatten(inputs.attentionMask, 'attentionMask', B, S).ids : undefined;
    let labels: Int32Array | undefined;
    let dec: { ids: Int32Array; T: number };
    if (inputs.labels) {
      const l = flatten(inputs.labels, 'labels', B);
      labels = l.ids;
      dec = inputs.decoderInputIds
        ? flatten(inputs.decoderInputIds, 'decoderInputIds', B, l.T)
        : { ids: this.shiftRight(l.ids, B, l.T), T: l.T };
    } else if (inputs.decoderInputIds) {
      dec = flatten(inputs.decoderInputIds, 'decoderInputIds', B);
    } else {
      throw new ArgumentError('forward needs decoderInputIds or labels');
    }
    const memory = this.encode(ids, B, S, mask);
    const logits = this.head(this.decode(dec.ids, B, dec.T, this.projectMemory(memory), { memoryMask: mask }));
    const counted = this.countedLabels({ labels, attentionMask: mask, B, S });
    return { logits, loss: counted ? crossEntropy(logits, counted).item() : undefined, encoderLastHiddenState: memory };
  }

  /** Empty self-attention caches of the decoder for B rows of up to `capacity` positions. */
  newCaches(B: number, capacity: number): KVCache[] {
    return newCachesAllOrNone(
      this.engine,
      this.decoderLayers.items.map((b) => b.attn),
      B,
      capacity,
    );
  }

  /**
   * Target tokens for one source, as they are chosen (streaming): greedy, sampling (temperature, top-k,
   * top-p) or, with numBeams > 1, the best beam's tokens once the search ends. Stops after eos. Returns
   * (and hands options.onFinish) why it ended.
   */
  generate(inputIds: ArrayLike<number>, options: Seq2SeqGenerateOptions): TokenStream {
    return seq2seqTokens(this, inputIds, options);
  }

  /** Beam search over a batch of sources: the n best targets of each, with their scores. */
  beamSearch(sources: ArrayLike<number>[], options: BeamSearchOptions): BeamHypothesis[][] {
    return beamSearch(this, sources, options);
  }
}
