/**
 * Beam search for encoder-decoder models, over a batch of sources at once (B sources × k beams decode as
 * one batch of B·k rows). Scores are sums of log-probabilities; a finished hypothesis (one that chose
 * eos) is ranked by sum / length^lengthPenalty, its length counting eos, as Hugging Face ranks them.
 * Per step and source: the 2k best continuations of the k live beams; eos among the first k finishes a
 * hypothesis, the rest refill the beams. A source is done once it holds k hypotheses and either
 * earlyStopping is set or no live beam can beat the worst of them (Hugging Face's `early_stopping=False`
 * test). The encoder runs once, each layer's cross-attention keys and values are projected once, and
 * self-attention reads a KV cache whose rows follow their beams.
 *
 * Several models (an ensemble) search as one: each step's distribution is the mean of their
 * probabilities, as fairseq ensembles them. They must share the vocabulary and special ids; each keeps
 * its own encoder memory and caches.
 */
import { ArgumentError } from '../errors.js';
import type { KVCache } from '../nn/attention.js';
import type { Engine } from '../tensor/engine.js';
import { copyRows, logSumExp } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Seq2SeqLM } from './seq2seq.js';

export interface BeamSearchOptions {
  /** Beams per source (k). */
  numBeams: number;
  /** Target tokens at most (eos included). */
  maxNewTokens: number;
  /** Exponent of the length in a finished hypothesis' score: > 0 favours longer, < 0 shorter. Default 1. */
  lengthPenalty?: number;
  /** Stop a source as soon as it has k finished hypotheses. Default false. */
  earlyStopping?: boolean;
  /** Hypotheses returned per source, best first (≤ numBeams). Default 1. */
  numReturnSequences?: number;
}

export interface BeamHypothesis {
  /** Target tokens, eos last when the hypothesis finished (the decoder start token not included). */
  tokens: number[];
  /** Sum of the tokens' log-probabilities. */
  logProb: number;
  /** logProb / length^lengthPenalty: what the hypotheses are ranked by. */
  score: number;
}

/** Sources padded into one batch: ids [B·S] and mask [B·S]. */
export function padSources(
  model: Seq2SeqLM,
  sources: ArrayLike<number>[],
): { ids: Int32Array; mask: Int32Array; B: number; S: number } {
  const B = sources.length;
  if (B === 0) throw new ArgumentError('need at least one source');
  const S = Math.max(...sources.map((s) => s.length));
  if (S === 0) throw new ArgumentError('sources must not be empty');
  const ids = new Int32Array(B * S).fill(model.padId);
  const mask = new Int32Array(B * S);
  sources.forEach((s, b) => {
    for (let i = 0; i < s.length; i++) {
      ids[b * S + i] = s[i]!;
      mask[b * S + i] = 1;
    }
  });
  return { ids, mask, B, S };
}

/** Encoder output projected for every decoder layer, each row repeated `repeat` times, in persistent tensors. */
export function encodeForDecoding(
  model: Seq2SeqLM,
  sources: ArrayLike<number>[],
  repeat: number,
): { memoryKV: Tensor[]; memoryMask: Int32Array; B: number } {
  const e = model.engine;
  const { ids, mask, B, S } = padSources(model, sources);
  const memoryMask = new Int32Array(B * repeat * S);
  for (let r = 0; r < B * repeat; r++)
    memoryMask.set(mask.subarray(Math.floor(r / repeat) * S, (Math.floor(r / repeat) + 1) * S), r * S);
  const memoryKV = e.noGrad(() => {
    const projected = model.projectMemory(model.encode(ids, B, S, mask));
    const out = projected.map((kv) => {
      const t = e.empty([B * repeat, S, kv.shape[2]!]);
      for (let r = 0; r < B * repeat; r++) copyRows(t, r * S, kv, Math.floor(r / repeat) * S, S);
      return t;
    });
    e.endStep();
    return out;
  });
  return { memoryKV, memoryMask, B };
}

/**
 * One decoding step for all rows, each row's last token in: the head's logits [rows·V] where it wrote them (valid
 * until the engine's step ends) and each row's log-sum-exp (in the kernel: one exp per logit there, none here).
 */
function stepLogits(
  model: Seq2SeqLM,
  tokens: Int32Array,
  memoryKV: Tensor[],
  memoryMask: Int32Array,
  caches: KVCache[],
  start: number,
): { logits: Float32Array; lse: Float32Array } {
  return model.engine.noGrad(() => {
    const t = model.head(model.decode(tokens, tokens.length, 1, memoryKV, { memoryMask, start, caches }));
    return { logits: t.view(), lse: logSumExp(t) };
  });
}

/** One decoding step for all rows: each row's last token in, log-probabilities [rows·V] out (float64). */
export function stepLogProbs(
  model: Seq2SeqLM,
  tokens: Int32Array,
  memoryKV: Tensor[],
  memoryMask: Int32Array,
  caches: KVCache[],
  start: number,
): Float64Array {
  const { logits, lse } = stepLogits(model, tokens, memoryKV, memoryMask, caches, start);
  const V = model.vocabSize;
  const out = new Float64Array(tokens.length * V);
  for (let r = 0; r < tokens.length; r++) {
    const l = lse[r]!;
    for (let v = 0, i = r * V; v < V; v++, i++) out[i] = logits[i]! - l;
  }
  model.engine.endStep();
  return out;
}

/** Reorders the cached rows: row r takes the keys and values of row parents[r] (positions < length). */
function reorderCaches(e: Engine, caches: KVCache[], parents: Int32Array): void {
  const moved: number[] = [];
  for (let r = 0; r < parents.length; r++) if (parents[r] !== r) moved.push(r);
  if (moved.length === 0) return;
  const sources = [...new Set(moved.map((r) => parents[r]!))];
  for (const c of caches) {
    const I = c.k.shape[2]!;
    // the parents are copied aside first: a parent row may itself be overwritten
    const saved = e.empty([sources.length * c.length, I], 'step');
    for (const t of [c.k, c.v]) {
      sources.forEach((p, i) => copyRows(saved, i * c.length, t, p * c.capacity, c.length));
      for (const r of moved) copyRows(t, r * c.capacity, saved, sources.indexOf(parents[r]!) * c.length, c.length);
    }
  }
  e.endStep();
}

export function checkBeamOptions(o: BeamSearchOptions): Required<BeamSearchOptions> {
  // `??`, not a spread over defaults: an option passed as undefined takes its default
  const r = {
    ...o,
    lengthPenalty: o.lengthPenalty ?? 1,
    earlyStopping: o.earlyStopping ?? false,
    numReturnSequences: o.numReturnSequences ?? 1,
  };
  if (!Number.isInteger(r.numBeams) || r.numBeams < 1)
    throw new ArgumentError(`numBeams must be an integer ≥ 1, got ${o.numBeams}`);
  if (!Number.isInteger(r.maxNewTokens) || r.maxNewTokens < 1)
    throw new ArgumentError(`maxNewTokens must be an integer ≥ 1, got ${o.maxNewTokens}`);
  if (!Number.isInteger(r.numReturnSequences) || r.numReturnSequences < 1 || r.numReturnSequences > r.numBeams) {
    throw new ArgumentError(
      `numReturnSequences must be an integer from 1 to numBeams (${r.numBeams}), got ${o.numReturnSequences}`,
    );
  }
  if (!Number.isFinite(r.lengthPenalty))
    throw new ArgumentError(`lengthPenalty must be finite, got ${o.lengthPenalty}`);
  return r;
}

/**
 * The models of an ensemble, checked to decode alike: one engine, one vocabulary (token for token, when
 * they carry tokenizers), the same pad, eos and decoder start ids.
 */
export function checkEnsemble(models: Seq2SeqLM | readonly Seq2SeqLM[]): Seq2SeqLM[] {
  const ms = Array.isArray(models) ? [...models] : [models as Seq2SeqLM];
  if (ms.length === 0) throw new ArgumentError('an ensemble needs at least one model');
  const [first, ...rest] = ms as [Seq2SeqLM, ...Seq2SeqLM[]];
  rest.forEach((m, i) => {
    const differ = (what: string, a: unknown, b: unknown) => {
      if (a !== b)
        throw new ArgumentError(`ensemble: model ${i + 2} has ${what} ${String(b)}, model 1 has ${String(a)}`);
    };
    if (m.engine !== first.engine)
      throw new ArgumentError(`ensemble: model ${i + 2} lives on another engine than model 1`);
    differ('vocabulary size', first.vocabSize, m.vocabSize);
    differ('pad id', first.padId, m.padId);
    differ('eos id', first.eosId, m.eosId);
    differ('decoder start id', first.decoderStartId, m.decoderStartId);
    if (first.tokenizer && m.tokenizer) {
      for (let id = 0; id < first.vocabSize; id++)
        differ(`token ${id} =`, first.tokenizer.idToToken(id), m.tokenizer.idToToken(id));
    }
  });
  return ms;
}

export function beamSearch(
  models: Seq2SeqLM | readonly Seq2SeqLM[],
  sources: ArrayLike<number>[],
  options: BeamSearchOptions,
): BeamHypothesis[][] {
  const o = checkBeamOptions(options);
  const ms = checkEnsemble(models);
  const model = ms[0]!;
  const e = model.engine;
  const k = o.numBeams;
  const V = model.vocabSize;
  const eos = model.eosId;
  const maxPositions = Math.min(...ms.map((m) => m.maxPositions));
  if (o.maxNewTokens > maxPositions)
    throw new ArgumentError(
      `maxNewTokens ${o.maxNewTokens} exceeds the ${maxPositions} positions of ${ms.length > 1 ? 'the shortest model' : 'this model'}`,
    );
  const decoders: { model: Seq2SeqLM; memoryKV: Tensor[]; memoryMask: Int32Array; caches: KVCache[] }[] = [];
  const B = sources.length;
  const rows = B * k;
  const rank = (logProb: number, length: number) => logProb / Math.pow(length, o.lengthPenalty);
  const beams: number[][] = Array.from({ length: rows }, () => []);
  // only the first beam of each source is live at the start: k identical beams would fill the search with copies
  const scores = Float64Array.from({ length: rows }, (_, r) => (r % k === 0 ? 0 : -Infinity));
  const finished: BeamHypothesis[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  const tokens = new Int32Array(rows).fill(model.decoderStartId);
  const addFinished = (b: number, h: BeamHypothesis) => {
    const list = finished[b]!;
    list.push(h);
    list.sort((x, y) => y.score - x.score);
    if (list.length > k) list.pop();
  };
  try {
    for (const m of ms) {
      // registered before the caches are allocated, so that the finally block frees what exists
      const d = { model: m, ...encodeForDecoding(m, sources, k), caches: [] as KVCache[] };
      decoders.push(d);
      d.caches = m.newCaches(rows, o.maxNewTokens);
    }
    for (let step = 0; step < o.maxNewTokens; step++) {
      const lp = beamStep(decoders, tokens, step);
      const length = step + 1; // tokens of a hypothesis that ends with this step's token
      const parents = Int32Array.from({ length: rows }, (_, r) => r);
      const next: number[][] = beams.map((x) => x);
      for (let b = 0; b < B; b++) {
        if (done[b]) continue;
        // the 2k best (score, beam, token) over the k live beams; score = scores[r] + (logit − lse[r])
        const cands: { s: number; j: number; v: number }[] = [];
        for (let j = 0; j < k; j++) {
          const r = b * k + j;
          const base = scores[r]!;
          if (base === -Infinity) continue;
          const l = lp.lse[r]!;
          // a logit at or under `cut` cannot enter the list: most are, and cost one comparison; the exact
          // score decides for the rest (the slack covers the rounding of moving base and l across)
          const cutFor = (worst: number) =>
            worst - base + l - 1e-9 * (1 + Math.abs(worst) + Math.abs(base) + Math.abs(l));
          let cut = cands.length < 2 * k ? -Infinity : cutFor(cands[2 * k - 1]!.s);
          for (let v = 0, i = r * V; v < V; v++, i++) {
            const x = lp.logits[i]!;
            if (!(x > cut)) continue;
            const s = base + (x - l);
            if (cands.length < 2 * k) {
              cands.push({ s, j, v });
              if (cands.length === 2 * k) {
                cands.sort((x, y) => y.s - x.s);
                cut = cutFor(cands[2 * k - 1]!.s);
              }
            } else if (s > cands[2 * k - 1]!.s) {
              let at = 2 * k - 1;
              while (at > 0 && cands[at - 1]!.s < s) at--;
              cands.splice(at, 0, { s, j, v });
              cands.pop();
              cut = cutFor(cands[2 * k - 1]!.s);
            }
          }
        }
        cands.sort((x, y) => y.s - x.s);
        let filled = 0;
        const newScores: number[] = [];
        cands.forEach((c, i) => {
          if (filled === k) return;
          const r = b * k + c.j;
          if (c.v === eos) {
            if (i < k) addFinished(b, { tokens: [...beams[r]!, c.v], logProb: c.s, score: rank(c.s, length) });
            return;
          }
          const to = b * k + filled;
          next[to] = [...beams[r]!, c.v];
          parents[to] = r;
          tokens[to] = c.v;
          newScores.push(c.s);
          filled++;
        });
        for (let j = 0; j < k; j++) scores[b * k + j] = j < filled ? newScores[j]! : -Infinity;
        for (let j = filled; j < k; j++) tokens[b * k + j] = model.padId;
        const list = finished[b]!;
        const bestLive = filled > 0 ? newScores[0]! : -Infinity;
        if (filled === 0) done[b] = true;
        else if (list.length >= k) done[b] = o.earlyStopping || list[list.length - 1]!.score >= rank(bestLive, length);
      }
      lp.release();
      for (let r = 0; r < rows; r++) beams[r] = next[r]!;
      if (done.every(Boolean)) break;
      for (const d of decoders) reorderCaches(e, d.caches, parents);
    }
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      for (let j = 0; j < k; j++) {
        const r = b * k + j;
        if (scores[r] !== -Infinity)
          addFinished(b, { tokens: beams[r]!, logProb: scores[r]!, score: rank(scores[r]!, beams[r]!.length) });
      }
    }
    return finished.map((list) => list.slice(0, o.numReturnSequences));
  } finally {
    for (const d of decoders) {
      for (const c of d.caches) {
        c.k.dispose();
        c.v.dispose();
      }
      for (const t of d.memoryKV) t.dispose();
    }
  }
}

/**
 * One beam step's log-probabilities, log p(v | row r) = logits[r·V + v] − lse[r]. One model: its logits where
 * the head wrote them (no copy; `release` ends the engine step, after the scan) and their log-sum-exp. An
 * ensemble: the log of the mean of the models' probabilities, lse 0.
 */
function beamStep(
  decoders: readonly { model: Seq2SeqLM; memoryKV: Tensor[]; memoryMask: Int32Array; caches: KVCache[] }[],
  tokens: Int32Array,
  step: number,
): { logits: Float32Array | Float64Array; lse: ArrayLike<number>; release(): void } {
  if (decoders.length > 1) {
    const logits = meanOfProbabilities(
      decoders.map((d) => stepLogProbs(d.model, tokens, d.memoryKV, d.memoryMask, d.caches, step)),
    );
    return { logits, lse: new Float64Array(tokens.length), release: () => {} };
  }
  const { model, memoryKV, memoryMask, caches } = decoders[0]!;
  const { logits, lse } = stepLogits(model, tokens, memoryKV, memoryMask, caches, step);
  return { logits, lse, release: () => model.engine.endStep() };
}

/** log of the mean of the models' probabilities (two or more), per row and token. */
function meanOfProbabilities(logProbs: Float64Array[]): Float64Array {
  const n = logProbs.length;
  const out = new Float64Array(logProbs[0]!.length);
  for (let i = 0; i < out.length; i++) {
    let max = -Infinity;
    for (const lp of logProbs) max = Math.max(max, lp[i]!);
    if (max === -Infinity) {
      out[i] = -Infinity;
      continue;
    }
    let sum = 0;
    for (const lp of logProbs) sum += Math.exp(lp[i]! - max);
    out[i] = max + Math.log(sum / n);
  }
  return out;
}
