import { Rng } from '../rng.js';
import { ArgumentError, SequenceTooLongError, TokenIdError } from '../errors.js';
import type { KVCache } from '../nn/attention.js';
import type { Engine } from '../tensor/engine.js';
import { rowView } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkSampling, pickToken, type SamplingOptions } from './sampling.js';

/**
 * Why generation ended, in Hugging Face's words where it has them: 'length' (maxNewTokens were generated),
 * 'eos' (an eosTokenId was generated), 'stop' (a stopStrings entry appeared), 'context' (the model's
 * context is full: no position is left for another token; see `contextFull`).
 */
export type FinishReason = 'length' | 'eos' | 'stop' | 'context';

/** How generation ended: the generator's return value, and what `onFinish` is called with. */
export interface GenerateResult {
  finishReason: FinishReason;
  /** Tokens generated (yielded). */
  newTokens: number;
  /** Times the window slid (contextFull: 'slide'). */
  slides: number;
}

/** Token ids as they are chosen; returns (and hands `onFinish`) how generation ended. */
export type TokenStream = AsyncGenerator<number, GenerateResult, undefined>;

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. */
  maxNewTokens: number;
  /** Seed of the sampling draws (same seed, same tokens). Default 0. */
  seed?: number;
  /** Stop after yielding this token (or any of these). */
  eosTokenId?: number | number[];
  /** Stop once the decoded continuation contains one of these (needs the model's tokenizer). */
  stopStrings?: string[];
  /** A prompt longer than the context: 'error' (default) or keep its last tokens ('left'). */
  truncate?: 'error' | 'left';
  /**
   * The context fills before maxNewTokens: 'stop' (default; finishReason 'context'), or 'slide': keep the
   * last half of the context (prompt and new tokens), run it again from position 0, and go on. Each
   * slide costs one forward pass over half the context.
   */
  contextFull?: 'stop' | 'slide';
  /**
   * Called once when generation ends by itself (not when the caller stops iterating early), with why:
   * the way to learn the finish reason from a `for await` loop.
   */
  onFinish?: (result: GenerateResult) => void;
}

/** What decoding needs of a causal language model. */
export interface CausalLM {
  readonly engine: Engine;
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly tokenizer?: { decode(ids: number[]): string };
  hidden(ids: Int32Array, B: number, T: number, opts: { start: number; caches: KVCache[] }): Tensor;
  head(hidden: Tensor): Tensor;
  newCaches(B: number, capacity: number): KVCache[];
}

/**
 * Decodes after a prompt with a KV cache: the prompt runs once, then each new token costs one position.
 * Yields each token as it is chosen (streaming). Greedy unless doSample; temperature, top-k, top-p.
 * Returns (and hands `onFinish`) why it ended.
 */
export async function* generateTokens(
  model: CausalLM,
  prompt: ArrayLike<number>,
  options: GenerateOptions,
): TokenStream {
  const sampling = checkSampling(options);
  const maxNew = options.maxNewTokens;
  if (!Number.isInteger(maxNew) || maxNew < 0)
    throw new ArgumentError(`maxNewTokens must be an integer ≥ 0, got ${maxNew}`);
  const contextFull = options.contextFull ?? 'stop';
  if (contextFull !== 'stop' && contextFull !== 'slide')
    throw new ArgumentError(`contextFull must be 'stop' or 'slide', got ${String(contextFull)}`);
  let ids = Array.from(prompt);
  if (ids.length === 0) throw new ArgumentError('generate needs a prompt of at least one token');
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= model.vocabSize) {
      throw new TokenIdError(`prompt token ${i} is ${v}, outside the vocabulary [0, ${model.vocabSize})`);
    }
  }
  const ctx = model.contextLength;
  if (ids.length > ctx) {
    if (options.truncate !== 'left') {
      throw new SequenceTooLongError(
        `prompt of ${ids.length} tokens is longer than the context of ${ctx} (pass truncate: 'left' to keep its end)`,
      );
    }
    ids = ids.slice(ids.length - ctx);
  }
  const stops = new Set(options.eosTokenId === undefined ? [] : [options.eosTokenId].flat());
  const stopStrings = options.stopStrings ?? [];
  if (stopStrings.length > 0 && !model.tokenizer) throw new ArgumentError('stopStrings need a model with a tokenizer');
  const result: GenerateResult = { finishReason: 'length', newTokens: 0, slides: 0 };
  const finish = (reason: FinishReason): GenerateResult => {
    result.finishReason = reason;
    options.onFinish?.(result);
    return result;
  };
  if (maxNew === 0) return finish('length');
  const capacity = Math.min(ctx, ids.length + maxNew);
  const e = model.engine;
  const caches = model.newCaches(1, capacity);
  const rng = new Rng(options.seed ?? 0);
  const generated: number[] = [];
  try {
    let logits = lastLogits(model, Int32Array.from(ids), 0, caches);
    let position = ids.length;
    for (;;) {
      const token = pickToken(logits, sampling, sampling.doSample ? rng.float() : 0);
      generated.push(token);
      result.newTokens = generated.length;
      yield token;
      if (stops.has(token)) return finish('eos');
      if (stopStrings.length > 0) {
        const text = model.tokenizer!.decode(generated);
        if (stopStrings.some((s) => text.includes(s))) return finish('stop');
      }
      if (generated.length === maxNew) return finish('length');
      if (position < capacity) {
        logits = lastLogits(model, Int32Array.of(token), position, caches);
        position++;
      } else {
        // no position left for the token just chosen
        if (contextFull === 'stop') return finish('context');
        const keep = Math.max(1, Math.floor(ctx / 2));
        const window = [...ids, ...generated].slice(-keep);
        for (const c of caches) c.length = 0;
        logits = lastLogits(model, Int32Array.from(window), 0, caches);
        position = window.length;
        result.slides++;
      }
    }
  } finally {
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    e.endStep();
  }
}

/** Runs T new positions through the model (appending to the caches) and returns the last position's logits. */
function lastLogits(model: CausalLM, ids: Int32Array, start: number, caches: KVCache[]): Float32Array {
  const e = model.engine;
  return e.noGrad(() => {
    const T = ids.length;
    const h = model.hidden(ids, 1, T, { start, caches });
    const C = h.shape[h.shape.length - 1]!;
    const last = rowView(h, T - 1, 1, [1, C]);
    const logits = model.head(last).toArray();
    e.endStep();
    return logits;
  });
}
