/**
 * Denoising pre-training of an encoder-decoder on text: documents → byte-level BPE (trained on the
 * training documents) → T5 span corruption over windows of the token stream (noise density 0.15, mean
 * span 3, sentinels `<extra_id_N>` at the top of the vocabulary as in T5), or BART's sentence permutation
 * and text infilling over packed sentences (30 %, Poisson(3) spans, `<mask>`). Noise is drawn afresh for
 * every batch. Held-out documents give the denoising loss.
 */
import { bartNoise } from '../data/bart-noise.js';
import { Rng } from '../rng.js';
import { spanCorruption, type Seq2SeqExample } from '../data/span-corruption.js';
import { splitByKey } from '../data/split.js';
import { loadTextDocuments, splitSentences } from '../data/text.js';
import { ArgumentError } from '../errors.js';
import type { Engine } from '../tensor/engine.js';
import { trainBpe } from '../tokenizers/bpe.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { Trainer, type StepResult } from '../train/trainer.js';
import { due, seq2seqModel, type ModelShape, type OptimChoice } from './run.js';

export interface Seq2SeqPretrainOptions extends ModelShape, OptimChoice {
  family: 't5' | 'bart';
  data: string;
  out: string;
  vocabSize: number;
  steps: number;
  /** Tokens of text per example before noising. */
  maxLen: number;
  evalEvery: number;
  onStep?: (r: StepResult) => void;
  onEval?: (step: number, loss: number) => void;
}

export const SEQ2SEQ_PRETRAIN_DEFAULTS: Omit<Seq2SeqPretrainOptions, 'family' | 'data' | 'out'> = {
  vocabSize: 8000,
  steps: 1000,
  batch: 16,
  maxLen: 128,
  lr: 1e-3,
  warmup: 100,
  dModel: 128,
  layers: 3,
  heads: 4,
  ffn: 512,
  seed: 0,
  evalEvery: 200,
};

const SENTINELS = 100;

/** Denoising pre-training of a T5 or BART on the engine, saved to `out` at the end. */
export async function pretrainSeq2Seq(engine: Engine, o: Seq2SeqPretrainOptions) {
  const docs = await loadTextDocuments(o.data);
  const split = splitByKey(docs, (d) => d.id, { train: 0.95, validation: 0.05, test: 0 });
  if (split.validation.length === 0) split.validation.push(split.train.pop()!);
  if (split.train.length === 0) throw new ArgumentError('pre-training needs at least two documents');
  const specials =
    o.family === 't5'
      ? ['<pad>', '</s>', '<unk>', ...Array.from({ length: SENTINELS }, (_, i) => `<extra_id_${SENTINELS - 1 - i}>`)]
      : ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
  const tokenizer = Tokenizer.fromJson(
    trainBpe(
      split.train.map((d) => d.text),
      { vocabSize: o.vocabSize, specialTokens: specials },
    ),
  );
  const id = (t: string) => tokenizer.tokenToId(t)!;
  const fields =
    o.family === 't5'
      ? { dropout_rate: 0.1, pad_token_id: id('<pad>'), eos_token_id: id('</s>'), decoder_start_token_id: id('<pad>') }
      : {
          max_position_embeddings: o.maxLen + 2,
          dropout: 0.1,
          bos_token_id: id('<s>'),
          pad_token_id: id('<pad>'),
          eos_token_id: id('</s>'),
          decoder_start_token_id: id('</s>'),
          forced_eos_token_id: id('</s>'),
        };
  const model = seq2seqModel(engine, o.family, o, tokenizer.vocabSize, fields, o.seed);
  model.tokenizer = tokenizer;
  const encodeDoc = (text: string) =>
    splitSentences(text)
      .map((s) => tokenizer.encode(s, undefined, { addSpecialTokens: false }).ids)
      .filter((s) => s.length > 0);
  // units of text: T5 windows of the token stream; BART runs of whole sentences (for permutation)
  const units = (texts: string[]): number[][][] => {
    const out: number[][][] = [];
    for (const t of texts) {
      const sents = encodeDoc(t);
      if (o.family === 't5') {
        const stream = sents.flat();
        for (let i = 0; i < stream.length; i += o.maxLen)
          if (stream.length - i >= 8) out.push([stream.slice(i, i + o.maxLen)]);
      } else {
        let cur: number[][] = [];
        let len = 0;
        for (const s of sents) {
          const piece = s.slice(0, o.maxLen - 2);
          if (len + piece.length > o.maxLen - 2 && cur.length) {
            out.push(cur);
            cur = [];
            len = 0;
          }
          cur.push(piece);
          len += piece.length;
        }
        if (cur.length) out.push(cur);
      }
    }
    return out;
  };
  const trainUnits = units(split.train.map((d) => d.text));
  const valUnits = units(split.validation.map((d) => d.text)).slice(0, 128);
  const noise = (u: number[][], rng: Rng): Seq2SeqExample =>
    o.family === 't5'
      ? spanCorruption(u[0]!, rng, { firstSentinelId: id('<extra_id_0>'), eosId: model.eosId })
      : bartNoise(u, rng, { maskId: id('<mask>'), bosId: id('<s>'), eosId: model.eosId });
  const batchOf = (us: number[][][], rng: Rng) =>
    model.batch(
      us.map((u) => {
        const x = noise(u, rng);
        return { source: x.inputIds, target: x.labels };
      }),
    );
  const trainer = new Trainer(model, {
    lr: o.lr,
    totalSteps: o.steps,
    warmup: o.warmup,
    schedule: 'linear',
    weightDecay: 0.01,
    clip: 1,
    seed: o.seed,
    gradientCheckpointing: o.gradientCheckpointing,
  });
  const evaluate = () => {
    const rng = new Rng(o.seed).fork('validation-noise');
    return model.heldOutLoss(
      (function* () {
        for (let i = 0; i < valUnits.length; i += o.batch) yield batchOf(valUnits.slice(i, i + o.batch), rng);
      })(),
    );
  };
  const started = performance.now();
  let valLoss = NaN;
  let tokens = 0;
  model.train(true);
  let epoch = 0;
  let pool: number[][][] = [];
  while (trainer.globalStep < o.steps) {
    if (pool.length < o.batch) pool = new Rng(o.seed).fork(`epoch-${epoch++}`).shuffle([...trainUnits]);
    const b = batchOf(pool.splice(0, o.batch), new Rng(o.seed).fork(`noise-${trainer.globalStep}`));
    tokens += b.B * (b.S + b.T);
    o.onStep?.(trainer.step(b));
    if (due(o.evalEvery, trainer.globalStep, trainer.globalStep === o.steps)) {
      valLoss = evaluate();
      o.onEval?.(trainer.globalStep, valLoss);
    }
  }
  model.train(false);
  await model.save(o.out);
  const seconds = (performance.now() - started) / 1000;
  return { model, trainer, valLoss, seconds, tokensPerSecond: tokens / seconds };
}
