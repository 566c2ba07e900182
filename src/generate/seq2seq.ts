/**
 * Decoding one source with an encoder-decoder model, token by token (streaming): greedy or sampling
 * (temperature, top-k, top-p) with the encoder run once and a KV cache; with numBeams > 1, the best
 * hypothesis of a beam search, yielded once the search ends.
 */
import { Rng } from '../rng.js';
import { ArgumentError } from '../errors.js';
import type { KVCache } from '../nn/attention.js';
import type { Engine } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { beamSearch, encodeForDecoding, stepLogProbs, type BeamSearchOptions } from './beam.js';
import type { FinishReason, GenerateResult, TokenStream } from './generate.js';
import { checkSampling, pickToken, type SamplingOptions } from './sampling.js';

/**
 * What decoding needs of an encoder-decoder (T5, BART): the encoder, each decoder layer's projection of
 * the encoder output, the decoder with its self-attention caches, the head, and the special ids.
 */
export interface Seq2SeqLM {
  readonly engine: Engine;
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  readonly decoderStartId: number;
  /** Longest source or target (learned positions); Infinity for relative positions. */
  readonly maxPositions: number;
  readonly tokenizer?: { idToToken(id: number): string | undefined };
  /** The encoder's output [B, S, d]. */
  encode(ids: Int32Array, B: number, S: number, mask?: Int32Array): Tensor;
  /** Each decoder layer's cross-attention keys and values of the encoder output. */
  projectMemory(memory: Tensor): Tensor[];
  /** Decoder hidden states [B, T, d] of positions start … start+T−1, appending to the caches. */
  decode(
    ids: Int32Array,
    B: number,
    T: number,
    memoryKV: Tensor[],
    opts: { memoryMask?: Int32Array; start?: number; caches?: KVCache[] },
  ): Tensor;
  /** Logits [.., V] of decoder hidden states. */
  head(hidden: Tensor): Tensor;
  /** Empty self-attention caches of the decoder for B rows of up to `capacity` positions. */
  newCaches(B: number, capacity: number): KVCache[];
}

export interface Seq2SeqGenerateOptions
  extends SamplingOptions, Partial<Omit<BeamSearchOptions, 'maxNewTokens' | 'numReturnSequences'>> {
  /**
   * Target tokens at most (eos included). More than the decoder's positions (learned positions: BART)
   * stops when they are full, with finishReason 'context'.
   */
  maxNewTokens: number;
  /** Seed of the sampling draws. Default 0. */
  seed?: number;
  /** Called once when decoding ends by itself, with why ('eos', 'length' or 'context'). */
  onFinish?: (result: GenerateResult) => void;
}

/**
 * Target tokens as they are chosen; returns (and hands `onFinish`) why decoding ended: 'eos', 'length'
 * (maxNewTokens), or 'context' (the decoder's positions are full before maxNewTokens).
 */
export async function* seq2seqTokens(
  model: Seq2SeqLM,
  source: ArrayLike<number>,
  options: Seq2SeqGenerateOptions,
): TokenStream {
  const sampling = checkSampling(options);
  const numBeams = options.numBeams ?? 1;
  const asked = options.maxNewTokens;
  if (!Number.isInteger(asked) || asked < 1)
    throw new ArgumentError(`maxNewTokens must be an integer ≥ 1, got ${asked}`);
  const max = Math.min(asked, model.maxPositions);
  const finish = (reason: FinishReason, newTokens: number): GenerateResult => {
    const result: GenerateResult = { finishReason: reason, newTokens, slides: 0 };
    options.onFinish?.(result);
    return result;
  };
  /** Why decoding that did not end on eos stopped after n tokens. */
  const ran = (n: number) => (n < asked ? 'context' : 'length');
  if (numBeams > 1) {
    if (sampling.doSample)
      throw new ArgumentError('beam search with sampling is not supported: pass doSample: false or numBeams: 1');
    const [best] = beamSearch(model, [source], { ...options, maxNewTokens: max, numBeams })[0]!;
    const tokens = best!.tokens;
    yield* tokens;
    return finish(tokens.at(-1) === model.eosId ? 'eos' : ran(tokens.length), tokens.length);
  }
  const { memoryKV, memoryMask } = encodeForDecoding(model, [source], 1);
  let caches: KVCache[] = [];
  const rng = new Rng(options.seed ?? 0);
  try {
    caches = model.newCaches(1, max); // inside: the memory's keys and values are freed if the caches do not fit
    let token = model.decoderStartId;
    for (let step = 0; step < max; step++) {
      const logProbs = stepLogProbs(model, Int32Array.of(token), memoryKV, memoryMask, caches, step);
      token = pickToken(logProbs, sampling, sampling.doSample ? rng.float() : 0);
      yield token;
      if (token === model.eosId) return finish('eos', step + 1);
    }
    return finish(ran(max), max);
  } finally {
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    for (const t of memoryKV) t.dispose();
  }
}
