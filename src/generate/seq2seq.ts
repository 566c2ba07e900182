/**
 * Decoding one source with an encoder-decoder model, token by token (streaming): greedy or sampling
 * (temperature, top-k, top-p) with the encoder run once and a KV cache; with numBeams > 1, the best
 * hypothesis of a beam search, yielded once the search ends.
 */
import { Rng } from '../rng.js';
import { ArgumentError } from '../errors.js';
import type { EncoderDecoder } from '../models/seq2seq.js';
import { beamSearch, encodeForDecoding, stepLogProbs, type BeamSearchOptions } from './beam.js';
import { checkSampling, pickToken, type SamplingOptions } from './sampling.js';

export interface Seq2SeqGenerateOptions extends SamplingOptions, Partial<Omit<BeamSearchOptions, 'maxNewTokens' | 'numReturnSequences'>> {
  /** Target tokens at most (eos included). */
  maxNewTokens: number;
  /** Seed of the sampling draws. Default 0. */
  seed?: number;
}

export async function* seq2seqTokens(model: EncoderDecoder, source: ArrayLike<number>, options: Seq2SeqGenerateOptions): AsyncGenerator<number, void, undefined> {
  const sampling = checkSampling(options);
  const numBeams = options.numBeams ?? 1;
  if (numBeams > 1) {
    if (sampling.doSample) throw new ArgumentError('beam search with sampling is not supported: pass doSample: false or numBeams: 1');
    const [best] = beamSearch(model, [source], { ...options, numBeams })[0]!;
    yield* best!.tokens;
    return;
  }
  const max = options.maxNewTokens;
  if (!Number.isInteger(max) || max < 1) throw new ArgumentError(`maxNewTokens must be an integer ≥ 1, got ${max}`);
  if (max > model.maxPositions) throw new ArgumentError(`maxNewTokens ${max} exceeds the ${model.maxPositions} positions of this model`);
  const { memoryKV, memoryMask } = encodeForDecoding(model, [source], 1);
  const caches = model.newCaches(1, max);
  const rng = new Rng(options.seed ?? 0);
  try {
    let token = model.decoderStartId;
    for (let step = 0; step < max; step++) {
      const logProbs = stepLogProbs(model, Int32Array.of(token), memoryKV, memoryMask, caches, step);
      token = pickToken(logProbs, sampling, sampling.doSample ? rng.float() : 0);
      yield token;
      if (token === model.eosId) return;
    }
  } finally {
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    for (const t of memoryKV) t.dispose();
  }
}
