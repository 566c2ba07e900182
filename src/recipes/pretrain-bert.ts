/**
 * Pre-training BERT: documents → WordPiece (trained on the training documents) → sentences → pairs for
 * next-sentence prediction (or single segments with `nsp: false`: RoBERTa's DOC-SENTENCES) → masks drawn
 * afresh for every batch (dynamic masking: 15 %, 80/10/10).
 * RoBERTa (`family: 'roberta'`): a byte-level BPE with RoBERTa's special tokens, no NSP, and FULL-SENTENCES:
 * sentences packed across document boundaries, the documents in a fresh order each epoch; the same masking.
 * `packing` chooses between the two without NSP for either family (BERT's tokenizer and model with RoBERTa's
 * FULL-SENTENCES isolates the data recipe from the tokenizer). `heldOutMlm` scores any of them on one held-out
 * text masked one way, so the recipes can be compared.
 * Documents split 80/10/10 by a hash of their id, as the Brown tagging task splits them: validation
 * documents give MLM loss, MLM accuracy and NSP accuracy, and test documents are never used. Evaluations go
 * to metrics.jsonl; checkpoints carry the optimizer state, and `resume` continues the identical trajectory
 * (each step's batch and masks are a function of seed and step).
 */
import { padBatch } from '../data/batch.js';
import { BROWN_SPLIT } from '../data/brown.js';
import { maskTokens } from '../data/mlm.js';
import { buildNspInstances, packFullSentences, packSingleSegments } from '../data/nsp.js';
import { Rng } from '../rng.js';
import { splitByKey } from '../data/split.js';
import { loadTextDocuments, splitSentences } from '../data/text.js';
import { ArgumentError, CheckpointError } from '../errors.js';
import { parseConfig } from '../io/config.js';
import { type BertConfig, type RobertaConfig } from '../io/hf/index.js';
import { Bert, type BertBatch } from '../models/bert.js';
import { loadModel } from '../models/load.js';
import { Roberta } from '../models/roberta.js';
import type { Engine } from '../tensor/engine.js';
import { robertaBpe } from '../tokenizers/bpe.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { trainWordPiece } from '../tokenizers/wordpiece.js';
import { Trainer, type StepResult } from '../train/trainer.js';
import { restoreTrainingState, resumeFolder, SAVE_TOTAL_LIMIT, saveTrainingCheckpoint, startAfresh } from './resume.js';
import { due, MetricsLog, type ModelShape, type OptimChoice } from './run.js';

export interface BertPretrainOptions extends ModelShape, OptimChoice {
  /** BERT (WordPiece, optional NSP), or RoBERTa (byte-level BPE, full sentences across documents, no NSP). Default bert. */
  family?: 'bert' | 'roberta';
  data: string;
  out: string;
  vocabSize: number;
  nsp: boolean;
  /**
   * Without NSP, how sentences become sequences: 'doc-sentences' (packed within a document; BERT's
   * default) or 'full-sentences' (packed across document boundaries, the documents in a fresh order each
   * epoch; RoBERTa's default). NSP builds sentence pairs instead: a packing beside it is an ArgumentError.
   */
  packing?: Packing;
  /** Pre-LN blocks and a final LayerNorm (config `pre_norm`): trains faster at small scale. */
  preNorm?: boolean;
  /** Whole-word masking: a word's `##` pieces are chosen with it (WordPiece, so BERT only). */
  wholeWord?: boolean;
  steps: number;
  maxLen: number;
  evalEvery: number;
  /** Save a generation `checkpoint-<step>/` of `out`, with the optimizer state, every N steps (0: at the end only). */
  checkpointEvery: number;
  /** Generations of `out` kept (the latest and the ones before it); default 2. */
  saveTotalLimit?: number;
  /**
   * Continue the run saved in `out`: its model (whose shape and tokenizer win over the options), optimizer
   * state and step. The options that decide the batches and the schedule must be the run's own.
   */
  resume?: boolean;
  onStep?: (r: StepResult) => void;
  onEval?: (r: BertEval) => void;
}

export interface BertEval {
  step: number;
  /** Held-out loss: MLM, plus NSP when pre-training with NSP. */
  loss: number;
  /** Mean training loss since the previous evaluation. */
  trainLoss: number;
  seconds: number;
  /** Held-out MLM loss alone: the mean over every masked token of the held-out sequences, in nats. */
  mlmLoss: number;
  mlmAccuracy: number;
  nspAccuracy?: number;
}

export const BERT_PRETRAIN_DEFAULTS: Omit<BertPretrainOptions, 'data' | 'out'> = {
  vocabSize: 8000,
  nsp: true,
  steps: 1000,
  batch: 16,
  maxLen: 128,
  lr: 5e-4,
  warmup: 100,
  layers: 4,
  dModel: 128,
  heads: 4,
  ffn: 512,
  seed: 0,
  evalEvery: 200,
  checkpointEvery: 500,
};

/** RoBERTa's: BERT's, without NSP. */
export const ROBERTA_PRETRAIN_DEFAULTS: Omit<BertPretrainOptions, 'data' | 'out'> = {
  ...BERT_PRETRAIN_DEFAULTS,
  family: 'roberta',
  nsp: false,
};

export type Packing = 'doc-sentences' | 'full-sentences';

type Instance = { inputIds: Int32Array; tokenTypeIds: Int32Array; nextSentenceLabel?: 0 | 1 };

/** Pre-trains (or resumes) a BERT on the engine as the options say. A crash leaves the last checkpoint written. */
export async function pretrainBert(engine: Engine, opts: BertPretrainOptions) {
  const family = opts.family ?? 'bert';
  if (family === 'roberta' && (opts.nsp || opts.wholeWord))
    throw new ArgumentError(
      `RoBERTa pre-training has ${opts.nsp ? 'no next-sentence prediction' : 'no whole-word masking (a WordPiece option)'}`,
    );
  if (opts.nsp && opts.packing !== undefined)
    throw new ArgumentError(
      `packing ${opts.packing} is for pre-training without NSP (next-sentence prediction builds sentence pairs)`,
    );
  const packing: Packing = opts.packing ?? (family === 'roberta' ? 'full-sentences' : 'doc-sentences');
  const docs = await loadTextDocuments(opts.data);
  // the document split of the fine-tuning tasks on Brown (80/10/10 by a hash of the document id): the
  // test documents of the tagging task are never pre-trained on, and held-out MLM uses the validation ones
  const split = splitByKey(docs, (d) => d.id, BROWN_SPLIT);
  if (split.validation.length === 0) split.validation.push(split.train.pop()!);
  if (split.train.length < 2) throw new ArgumentError('BERT pre-training needs at least three documents');
  // the generation resumed from: its files are read together, and checked to be of one save
  const from = opts.resume ? await resumeFolder(opts.out) : undefined;
  const model = from
    ? await resumedModel(engine, from, family)
    : newModel(
        engine,
        opts,
        family,
        split.train.map((d) => d.text),
      );
  const tokenizer = model.tokenizer!;
  const { clsId, sepId } = tokenizer as Required<Pick<Tokenizer, 'clsId' | 'sepId'>>;
  const encodeDoc = (text: string) =>
    splitSentences(text)
      .map((s) => tokenizer.encode(s, undefined, { addSpecialTokens: false }).ids)
      .filter((s) => s.length > 0);
  const trainDocs = split.train.map((d) => encodeDoc(d.text));
  const valDocs = split.validation.map((d) => encodeDoc(d.text));
  const build = (ds: number[][][], rng: Rng): Instance[] =>
    opts.nsp
      ? buildNspInstances(ds, rng, { maxLen: opts.maxLen, clsId, sepId })
      : packing === 'full-sentences'
        ? packFullSentences(rng.shuffle([...ds]), { maxLen: opts.maxLen, clsId, sepId })
        : packSingleSegments(ds, { maxLen: opts.maxLen, clsId, sepId });
  const batchOf = maskedBatches(tokenizer, { wholeWord: opts.wholeWord ?? false, nsp: opts.nsp });

  const trainer = new Trainer(model, {
    lr: opts.lr,
    totalSteps: opts.steps,
    warmup: opts.warmup,
    schedule: 'linear',
    weightDecay: 0.01,
    clip: 1,
    seed: opts.seed,
    gradientCheckpointing: opts.gradientCheckpointing,
  });
  const runOptions = {
    family,
    seed: opts.seed,
    batch: opts.batch,
    maxLen: opts.maxLen,
    nsp: opts.nsp,
    packing: opts.nsp ? 'pairs' : packing,
    wholeWord: opts.wholeWord ?? false,
    steps: opts.steps,
    lr: opts.lr,
    warmup: opts.warmup,
  };
  if (from !== undefined) await restoreTrainingState(from, trainer, runOptions);
  const valInstances = build(valDocs, new Rng(opts.seed).fork('validation')).slice(0, 256);
  const started = performance.now();
  let losses: number[] = [];

  const evaluate = (): BertEval => {
    model.train(false);
    const rng = new Rng(opts.seed).fork('validation-masks');
    let loss = 0,
      n = 0,
      nspHits = 0,
      nspN = 0;
    const mlm = { nats: 0, hits: 0, masked: 0 };
    for (let i = 0; i < valInstances.length; i += opts.batch) {
      const batch = batchOf(valInstances.slice(i, i + opts.batch), rng);
      engine.noGrad(() => {
        const r = model.run(batch);
        loss += r.loss!.item() * batch.B;
        n += batch.B;
        addMlmScores(mlm, r.logits.toArray(), batch.labels!, tokenizer.vocabSize);
        if (r.seqRelationshipLogits) {
          const s = r.seqRelationshipLogits.toArray();
          batch.nextSentenceLabel!.forEach((y, b) => {
            nspN++;
            if ((s[b * 2 + 1]! > s[b * 2]! ? 1 : 0) === y) nspHits++;
          });
        }
      });
      engine.endStep();
    }
    const trainLoss = losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : NaN;
    losses = [];
    const seconds = (performance.now() - started) / 1000;
    return {
      step: trainer.globalStep,
      loss: loss / n,
      trainLoss,
      seconds,
      mlmLoss: mlm.nats / mlm.masked,
      mlmAccuracy: mlm.hits / mlm.masked,
      nspAccuracy: nspN ? nspHits / nspN : undefined,
    };
  };

  // a run started afresh replaces the run saved in `out` (its generations), as it truncates metrics.jsonl
  if (from === undefined) await startAfresh(opts.out);
  const metrics = await MetricsLog.open(opts.out, opts.resume);
  let evalResult: BertEval | undefined;
  let epochs = 0;
  let tokens = 0;
  const next = batches(trainer.globalStep);
  while (trainer.globalStep < opts.steps) {
    const batch = batchOf(next.next().value!, new Rng(opts.seed).fork(`masks-${trainer.globalStep}`));
    for (const m of batch.attentionMask!) tokens += m;
    const r = trainer.step(batch);
    losses.push(r.loss);
    const last = trainer.globalStep === opts.steps;
    if (due(opts.evalEvery, trainer.globalStep, last)) {
      evalResult = evaluate();
      await metrics.write(evalResult);
    }
    if (due(opts.checkpointEvery, trainer.globalStep, last))
      await saveTrainingCheckpoint(opts.out, model, trainer, runOptions, opts.saveTotalLimit ?? SAVE_TOTAL_LIMIT);
    if (evalResult?.step === trainer.globalStep) opts.onEval?.(evalResult);
    opts.onStep?.(r);
  }
  // a run resumed at its end: the held-out figures of the saved model
  evalResult ??= evaluate();
  return {
    model,
    trainer,
    tokenizer,
    epochs,
    /** Tokens trained on by this call (padding left out; a resumed run counts from where it resumed). */
    tokens,
    lastEval: evalResult,
    seconds: (performance.now() - started) / 1000,
  };

  /**
   * The batches from `step` on. Epoch e draws its instances afresh (NSP pairs, or RoBERTa's order of the
   * documents; fork \`pairs-(e+1)\`, the numbering of the first runs) and shuffles them; its last partial batch is left out. A resumed run
   * replays the epochs before `step` to find where it was.
   */
  function* batches(step: number): Generator<Instance[]> {
    let before = 0;
    for (let epoch = 0; ; epoch++) {
      epochs = epoch + 1;
      const pool = new Rng(opts.seed)
        .fork(`epoch-${epoch}`)
        .shuffle(build(trainDocs, new Rng(opts.seed).fork(`pairs-${epoch + 1}`)));
      const n = Math.floor(pool.length / opts.batch);
      if (n === 0)
        throw new ArgumentError(
          `the training documents give ${pool.length} sequences, fewer than one batch of ${opts.batch}`,
        );
      for (let i = Math.max(0, step - before); i < n; i++) yield pool.slice(i * opts.batch, (i + 1) * opts.batch);
      before += n;
    }
  }
}

/**
 * Instances → masked batches: 15 % of each sequence's tokens (80/10/10) drawn from `rng`, whole words with
 * `wholeWord` (a word's `##` pieces with it), the NSP labels with `nsp`.
 */
function maskedBatches(tokenizer: Tokenizer, opts: { wholeWord: boolean; nsp: boolean }) {
  const { clsId, sepId, maskId, padId } = tokenizer as Required<
    Pick<Tokenizer, 'clsId' | 'sepId' | 'maskId' | 'padId'>
  >;
  const specialIds = [padId, tokenizer.unkId!, clsId, sepId, maskId];
  const continuation = Uint8Array.from({ length: tokenizer.vocabSize }, (_, id) =>
    tokenizer.idToToken(id)?.startsWith('##') ? 1 : 0,
  );
  return (instances: Instance[], rng: Rng): BertBatch => {
    const masked = instances.map((x) =>
      maskTokens(x.inputIds, rng, {
        maskProb: 0.15,
        maskId,
        vocabSize: tokenizer.vocabSize,
        specialIds,
        wholeWord: opts.wholeWord ? Uint8Array.from(x.inputIds, (id) => 1 - continuation[id]!) : undefined,
      }),
    );
    const ids = padBatch(
      masked.map((m) => m.inputIds),
      padId,
    );
    const T = ids.T;
    const labels = new Int32Array(ids.B * T).fill(-100);
    const types = new Int32Array(ids.B * T);
    masked.forEach((m, b) => {
      labels.set(m.labels, b * T);
      types.set(instances[b]!.tokenTypeIds, b * T);
    });
    const batch: BertBatch = {
      inputIds: ids.inputIds,
      attentionMask: ids.attentionMask,
      tokenTypeIds: types,
      labels,
      B: ids.B,
      T,
    };
    if (opts.nsp) batch.nextSentenceLabel = Int32Array.from(instances.map((x) => x.nextSentenceLabel!));
    return batch;
  };
}

/** Adds, in float64, the masked positions' cross-entropy (nats), argmax hits and count to `into`. */
function addMlmScores(
  into: { nats: number; hits: number; masked: number; tokenLosses?: number[] },
  logits: Float32Array,
  labels: Int32Array,
  V: number,
): void {
  labels.forEach((y, p) => {
    if (y < 0) return;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[p * V + v]! > logits[p * V + best]!) best = v;
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[p * V + v]! - logits[p * V + best]!);
    const nats = Math.log(z) + logits[p * V + best]! - logits[p * V + y]!;
    into.nats += nats;
    into.tokenLosses?.push(nats);
    into.masked++;
    if (best === y) into.hits++;
  });
}

export interface HeldOutMlmOptions {
  /** Tokens per sequence, special tokens included. */
  maxLen: number;
  batch: number;
  /** The masks are drawn from this seed alone: the same text, tokenizer and seed give the same masked batches. */
  maskSeed: number;
  /** Score the first N sequences (default all). */
  sequences?: number;
  /** Return each masked token's loss too (for paired comparisons of two models on the same masks). */
  tokenLosses?: boolean;
}

export interface HeldOutMlm {
  /** Mean cross-entropy over the masked tokens, in nats. */
  loss: number;
  accuracy: number;
  maskedTokens: number;
  sequences: number;
  /** Each masked token's loss in nats, in order, when asked for. */
  tokenLosses?: Float64Array;
}

/**
 * A masked LM's held-out figures measured one way for every pre-training recipe: each text's sentences
 * packed as single segments within the text (DOC-SENTENCES, token type 0), the first `sequences` of them,
 * 15 % masked (80/10/10) from `maskSeed` alone. Two models with one tokenizer are scored on identical
 * masked text; losses over different vocabularies are not comparable. Eval mode (no dropout).
 */
export function heldOutMlm(model: Bert, texts: readonly string[], opts: HeldOutMlmOptions): HeldOutMlm {
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new ArgumentError('heldOutMlm: the model has no tokenizer');
  if (!(Number.isInteger(opts.batch) && opts.batch >= 1))
    throw new ArgumentError(`heldOutMlm: batch must be a positive integer, got ${opts.batch}`);
  const { clsId, sepId } = tokenizer as Required<Pick<Tokenizer, 'clsId' | 'sepId'>>;
  const docs = texts.map((text) =>
    splitSentences(text)
      .map((s) => tokenizer.encode(s, undefined, { addSpecialTokens: false }).ids)
      .filter((s) => s.length > 0),
  );
  const instances = packSingleSegments(docs, { maxLen: opts.maxLen, clsId, sepId }).slice(0, opts.sequences);
  if (instances.length === 0) throw new ArgumentError('heldOutMlm: the texts give no sequence to score');
  const batchOf = maskedBatches(tokenizer, { wholeWord: false, nsp: false });
  const rng = new Rng(opts.maskSeed).fork('held-out-masks');
  const scores = { nats: 0, hits: 0, masked: 0, tokenLosses: opts.tokenLosses ? ([] as number[]) : undefined };
  model.train(false);
  for (let i = 0; i < instances.length; i += opts.batch) {
    const batch = batchOf(instances.slice(i, i + opts.batch), rng);
    const { labels, ...input } = batch;
    model.engine.noGrad(() => addMlmScores(scores, model.run(input).logits.toArray(), labels!, tokenizer.vocabSize));
    model.engine.endStep();
  }
  return {
    loss: scores.nats / scores.masked,
    accuracy: scores.hits / scores.masked,
    maskedTokens: scores.masked,
    sequences: instances.length,
    tokenLosses: scores.tokenLosses && Float64Array.from(scores.tokenLosses),
  };
}

function newModel(engine: Engine, opts: BertPretrainOptions, family: 'bert' | 'roberta', trainTexts: string[]): Bert {
  const shape = {
    hidden_size: opts.dModel,
    num_hidden_layers: opts.layers,
    num_attention_heads: opts.heads,
    intermediate_size: opts.ffn,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    pre_norm: opts.preNorm ?? false,
  };
  if (family === 'roberta') {
    // roberta-base's choices: one token type, eps 1e-5, positions from pad_token_id + 1
    const tokenizer = Tokenizer.fromJson(robertaBpe(trainTexts, { vocabSize: opts.vocabSize }));
    const config = parseConfig({
      model_type: 'roberta',
      architectures: ['RobertaForMaskedLM'],
      vocab_size: tokenizer.vocabSize,
      ...shape,
      max_position_embeddings: Math.max(opts.maxLen, 128) + tokenizer.padId! + 1,
      type_vocab_size: 1,
      layer_norm_eps: 1e-5,
      pad_token_id: tokenizer.padId,
      bos_token_id: tokenizer.bosId,
      eos_token_id: tokenizer.eosId,
    }) as RobertaConfig;
    const model = new Roberta(engine, config, opts.seed);
    model.tokenizer = tokenizer;
    return model;
  }
  const tokenizer = Tokenizer.fromJson(trainWordPiece(trainTexts, { vocabSize: opts.vocabSize }));
  const config = parseConfig({
    model_type: 'bert',
    architectures: [opts.nsp ? 'BertForPreTraining' : 'BertForMaskedLM'],
    vocab_size: tokenizer.vocabSize,
    ...shape,
    max_position_embeddings: Math.max(opts.maxLen, 128),
    pad_token_id: tokenizer.padId,
  }) as BertConfig;
  const model = new Bert(engine, config, opts.seed);
  model.tokenizer = tokenizer;
  return model;
}

async function resumedModel(engine: Engine, dir: string, family: 'bert' | 'roberta'): Promise<Bert> {
  const model = await loadModel(engine, dir);
  if (model.kind !== 'encoder' || model.config.model_type !== family)
    throw new CheckpointError(`--resume: ${dir} holds a ${model.config.model_type} model, not ${family}`);
  if (!model.tokenizer) throw new CheckpointError(`--resume: ${dir} has no tokenizer.json`);
  return model;
}
