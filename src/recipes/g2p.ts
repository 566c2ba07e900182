/**
 * Grapheme-to-phoneme on CMUdict with an encoder-decoder (T5 or BART): from scratch (a word-level
 * tokenizer over letters and phonemes) or from a pre-trained checkpoint (its tokenizer reads the same
 * text). Length-bucketed batches, AdamW with warm-up and linear decay, held-out loss and greedy word error
 * on part of the validation split as it trains (metrics.jsonl), and phoneme / word error on the test
 * split with beam search at the end.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cmudictDataset, cmudictEntries, groupByWord, type CmuEntry } from '../data/cmudict.js';
import { decodePhonemes, encodeG2p, g2pTokenizer, scoreG2p, type G2pScore } from './g2p-data.js';
import { Rng } from '../rng.js';
import { ArgumentError } from '../errors.js';
import { beamSearch } from '../generate/beam.js';
import { asSeq2Seq, loadModel, type Seq2SeqModel } from '../models/load.js';
import type { EncoderDecoder } from '../models/seq2seq.js';
import type { Engine } from '../tensor/engine.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { cycleEnds } from '../train/schedule.js';
import { Trainer, withLossOptions, type StepResult } from '../train/trainer.js';
import { loraOf, saveLoraRun, type LoraChoice } from './lora-run.js';
import { due, MetricsLog, seq2seqModel, TimeBudget, type ModelShape, type OptimChoice } from './run.js';

export interface G2pOptions extends ModelShape, OptimChoice, LoraChoice {
  /** A pre-trained T5/BART checkpoint, or 'none'. */
  from: string;
  out: string;
  /** With from 'none': the family and shape. */
  arch: 't5' | 'bart';
  /**
   * The feed-forward activation as the configs spell it: BART's `activation_function` (gelu, gelu_new,
   * relu), T5's `feed_forward_proj` (relu, gelu, gelu_new, gated-gelu).
   */
  activation: string;
  dropout: number;
  epochs: number;
  /** Evaluate (validation loss, greedy word error on `evalWords` words) every N steps; 0: at the end only. */
  evalEvery: number;
  evalWords: number;
  /** ε of label smoothing in the training loss (0: none). */
  labelSmoothing: number;
  /**
   * Decay of an exponential moving average of the weights (0: none). With it, evaluations report both
   * the live and the averaged weights, and the averaged ones are saved and tested.
   */
  ema: number;
  /** Beams for the final test evaluation. */
  beams: number;
  /** Score only the first N test words (quick runs). Default all. */
  testWords?: number;
  /** Fraction of the training split (quick runs). Default 1. */
  fraction?: number;
  /**
   * Stop after this many minutes of training (validations included) even if epochs remain; the
   * learning-rate schedule runs on whichever of steps and time is further along, so it decays to its end
   * on time (TimeBudget).
   */
  maxMinutes?: number;
  /**
   * Warm restarts for a snapshot ensemble: relative cycle lengths (`[2, 1, 1]`). At the end of each cycle
   * but the last, the (averaged) weights are saved to `<out>/cycle-N`, to decode with the final model
   * as one ensemble (`eval --task g2p --ensemble`). Later cycles peak at `restartRatio` × lr after
   * `restartWarmup` steps.
   */
  cycles?: readonly number[];
  restartRatio?: number;
  restartWarmup?: number;
  onStep?: (r: StepResult, total: number) => void;
  onEval?: (line: G2pLog) => void;
}

export interface G2pLog {
  step: number;
  /** Epochs done (fractional). */
  epochs: number;
  seconds: number;
  trainLoss: number;
  valLoss: number;
  valWer: number;
  valPer: number;
  /** The same three with the averaged weights (with `ema`). */
  emaValLoss?: number;
  emaValWer?: number;
  emaValPer?: number;
}

export const G2P_DEFAULTS: Omit<G2pOptions, 'from' | 'out'> = {
  arch: 'bart',
  dModel: 128,
  layers: 3,
  heads: 4,
  ffn: 512,
  activation: 'gelu',
  dropout: 0.1,
  epochs: 5,
  batch: 64,
  lr: 1e-3,
  warmup: 500,
  seed: 0,
  evalEvery: 1000,
  evalWords: 500,
  beams: 5,
  labelSmoothing: 0.1,
  ema: 0.999,
};

/** A fresh model over a word-level tokenizer (vocabulary from the training words). */
function scratchModel(engine: Engine, o: G2pOptions, train: readonly CmuEntry[]): Seq2SeqModel {
  const tokenizer = Tokenizer.fromJson(g2pTokenizer(train));
  const fields =
    o.arch === 't5'
      ? {
          relative_attention_num_buckets: 32,
          relative_attention_max_distance: 64,
          dropout_rate: o.dropout,
          feed_forward_proj: o.activation,
          pad_token_id: 0,
          eos_token_id: 1,
          decoder_start_token_id: 0,
        }
      : {
          max_position_embeddings: 64,
          activation_function: o.activation,
          dropout: o.dropout,
          pad_token_id: 0,
          eos_token_id: 1,
          bos_token_id: null,
          decoder_start_token_id: 0,
          forced_eos_token_id: 1,
        };
  const model = seq2seqModel(engine, o.arch, o, tokenizer.vocabSize, fields, o.seed);
  model.tokenizer = tokenizer;
  return model;
}

type Pair = { source: number[]; target: number[] };

/** Batches of similar source length (less padding): shuffle, sort within pools of 50 batches, shuffle the batches. */
function lengthBatches(pairs: readonly Pair[], batch: number, rng: Rng): Pair[][] {
  const order = rng.shuffle(pairs.map((_, i) => i));
  const out: Pair[][] = [];
  const pool = batch * 50;
  for (let i = 0; i < order.length; i += pool) {
    const chunk = order.slice(i, i + pool).sort((a, b) => pairs[a]!.source.length - pairs[b]!.source.length);
    for (let j = 0; j < chunk.length; j += batch) out.push(chunk.slice(j, j + batch).map((k) => pairs[k]!));
  }
  return rng.shuffle(out);
}

/**
 * Word and phoneme error of the model (or an ensemble of models: the mean of their probabilities) on
 * entries (grouped by word: any pronunciation counts), decoding `batch` words at a time with `beams`
 * beams (1: greedy), hypotheses ranked by log-probability / length^`lengthPenalty` (default 1).
 */
export function evaluateG2p(
  models: EncoderDecoder | readonly EncoderDecoder[],
  entries: readonly CmuEntry[],
  opts: { beams: number; batch?: number; limit?: number; lengthPenalty?: number },
): G2pScore & { seconds: number } {
  const ms: readonly EncoderDecoder[] = Array.isArray(models) ? models : [models]; // beamSearch checks that they decode alike
  const model = ms[0]!;
  const tok = model.tokenizer;
  if (!tok) throw new ArgumentError('the model has no tokenizer');
  const words = [...groupByWord(entries)].slice(0, opts.limit ?? Infinity);
  const started = performance.now();
  const outputs: string[][] = [];
  const batch = opts.batch ?? 64;
  const maxNew = Math.min(48, ...ms.map((m) => m.maxPositions));
  for (let i = 0; i < words.length; i += batch) {
    const chunk = words.slice(i, i + batch);
    const sources = chunk.map(([word, prons]) => encodeG2p(tok, { word, phonemes: prons[0]! }, model.eosId).source);
    const best = beamSearch(ms, sources, {
      numBeams: opts.beams,
      maxNewTokens: maxNew,
      lengthPenalty: opts.lengthPenalty,
    });
    for (const hyps of best) outputs.push(decodePhonemes(tok, hyps[0]!.tokens));
  }
  return {
    ...scoreG2p(
      outputs,
      words.map(([, prons]) => prons),
    ),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Trains a T5/BART for G2P on the engine (or, with `lora`, adapters on the pre-trained one); saves it (the
 * adapter) to `out` with metrics.jsonl and g2p-test.json.
 */
export async function finetuneG2p(engine: Engine, o: G2pOptions) {
  if (o.lora && (o.cycles?.length ?? 1) > 1)
    throw new ArgumentError('--cycles saves whole models for a snapshot ensemble; it does not go with --lora');
  const data = cmudictDataset(cmudictEntries());
  const rng = new Rng(o.seed);
  const train =
    o.fraction !== undefined && o.fraction < 1
      ? rng
          .fork('fraction')
          .shuffle([...data.train])
          .slice(0, Math.max(1, Math.round(data.train.length * o.fraction)))
      : data.train;
  const model = o.from === 'none' ? scratchModel(engine, o, train) : asSeq2Seq(await loadModel(engine, o.from), o.from);
  const tok = model.tokenizer;
  if (!tok) throw new ArgumentError(`${o.from}: the checkpoint has no tokenizer.json`);
  const encode = (xs: readonly CmuEntry[]) => xs.map((e) => encodeG2p(tok, e, model.eosId));
  // a pre-trained BART's learned positions bound both sides; longer pairs are left out of training
  const fits = (p: Pair) => p.source.length <= model.maxPositions && p.target.length <= model.maxPositions;
  const encoded = encode(train);
  const trainPairs = encoded.filter(fits);
  const tooLong = encoded.length - trainPairs.length;
  if (trainPairs.length === 0)
    throw new ArgumentError(`no training pair fits the ${model.maxPositions} positions of ${o.from}`);
  const valEntries = [...groupByWord(data.validation)]
    .slice(0, o.evalWords)
    .flatMap(([word, prons]) => prons.map((phonemes) => ({ word, phonemes })));
  const valPairs = encode(valEntries).filter(fits);
  const perEpoch = Math.ceil(trainPairs.length / o.batch);
  const total = perEpoch * o.epochs;
  const lora = loraOf(model, o, o.from, o.seed);
  const withSmoothing = withLossOptions(model, { labelSmoothing: o.labelSmoothing });
  const trainer = new Trainer(lora ? lora.trainable(withSmoothing) : withSmoothing, {
    lr: o.lr,
    totalSteps: total,
    warmup: Math.min(o.warmup, Math.floor(total / 4)),
    schedule: 'linear',
    weightDecay: 0.01,
    clip: 1,
    seed: o.seed,
    ema: o.ema,
    gradientCheckpointing: o.gradientCheckpointing,
    cycles: o.cycles,
    restartRatio: o.restartRatio,
    restartWarmup: o.restartWarmup,
  });
  // the schedule's position: the steps taken, or with --max-minutes the used share of the time if further
  const budget = o.maxMinutes ? new TimeBudget(o.maxMinutes * 60, total) : undefined;
  const position = () => budget?.position(trainer.globalStep) ?? trainer.globalStep;
  const snapshotsAt = cycleEnds(trainer.schedule()).slice(0, -1);
  const average = trainer.average;
  const metrics = await MetricsLog.open(o.out);
  const started = performance.now();
  let recent: number[] = [];
  const validate = () => {
    const loss = model.heldOutLoss(
      (function* () {
        for (let i = 0; i < valPairs.length; i += 128) yield model.batch(valPairs.slice(i, i + 128));
      })(),
    );
    model.train(false);
    const s = evaluateG2p(model, valEntries, { beams: 1 });
    model.train(true);
    return { loss, wer: s.wer, per: s.per };
  };
  const evaluate = async (): Promise<G2pLog> => {
    const seconds = (performance.now() - started) / 1000;
    const live = validate();
    const avg = average?.with(validate);
    const line: G2pLog = {
      step: trainer.globalStep,
      epochs: trainer.globalStep / perEpoch,
      seconds,
      trainLoss: recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length),
      valLoss: live.loss,
      valWer: live.wer,
      valPer: live.per,
      ...(avg && { emaValLoss: avg.loss, emaValWer: avg.wer, emaValPer: avg.per }),
    };
    recent = [];
    await metrics.write(line);
    o.onEval?.(line);
    return line;
  };
  model.train(true);
  let last: G2pLog | undefined;
  const snapshots: string[] = [];
  training: for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const pairs of lengthBatches(trainPairs, o.batch, rng.fork(`epoch-${epoch}`))) {
      const r = trainer.step(model.batch(pairs), { lr: trainer.learningRate(position()) });
      recent.push(r.loss);
      o.onStep?.(r, total);
      if (due(o.evalEvery, trainer.globalStep, false)) last = await evaluate();
      while (snapshots.length < snapshotsAt.length && position() >= snapshotsAt[snapshots.length]!) {
        const dir = join(o.out, `cycle-${snapshots.length + 1}`);
        if (last?.step !== trainer.globalStep) last = await evaluate();
        average?.swap();
        try {
          await model.save(dir);
        } finally {
          average?.swap();
        }
        snapshots.push(dir);
      }
      if (position() >= total) break training;
    }
  }
  if (!last || last.step !== trainer.globalStep) last = await evaluate();
  const trainSeconds = (performance.now() - started) / 1000;
  model.train(false);
  // the live weights' test score too, to show what the average is worth
  const liveTest = average ? evaluateG2p(model, data.test, { beams: o.beams, limit: o.testWords }) : undefined;
  average?.apply();
  if (!lora) await model.save(o.out);
  // with --merge, the test below decodes the merged weights: the adapted model's within float rounding
  const loraSummary = lora && (await saveLoraRun(lora, o.out, o.from, o.merge));
  const test = evaluateG2p(model, data.test, { beams: o.beams, limit: o.testWords });
  const report = {
    beams: o.beams,
    ...test,
    trainSeconds,
    steps: trainer.globalStep,
    threads: engine.threads,
    simd: engine.simd,
    labelSmoothing: o.labelSmoothing,
    ema: o.ema,
    ...(snapshots.length && { snapshots }),
    ...(liveTest && { liveWeights: liveTest }),
  };
  await writeFile(join(o.out, 'g2p-test.json'), JSON.stringify(report, null, 2) + '\n');
  return {
    model,
    steps: trainer.globalStep,
    snapshots,
    trainExamples: trainPairs.length,
    tooLong,
    trainSeconds,
    last,
    test,
    liveTest,
    lora: loraSummary,
  };
}
