/**
 * Pre-training BERT: documents → WordPiece (trained on the training documents) → sentences → pairs for
 * next-sentence prediction (or single segments with `nsp: false`, RoBERTa style) → masks drawn afresh
 * for every batch (dynamic masking: 15 %, 80/10/10). Documents split 80/10/10 by a hash of their id, as the
 * Brown tagging task splits them: validation documents give MLM loss, MLM accuracy and NSP accuracy, and
 * test documents are never used.
 */
import { padBatch } from '../data/batch.js';
import { BROWN_SPLIT } from '../data/brown.js';
import { maskTokens } from '../data/mlm.js';
import { buildNspInstances, packSingleSegments } from '../data/nsp.js';
import { Rng } from '../data/rng.js';
import { splitByKey } from '../data/split.js';
import { loadTextDocuments, splitSentences } from '../data/text.js';
import { ArgumentError } from '../errors.js';
import { parseConfig, type BertConfig } from '../io/config.js';
import { Bert, type BertBatch } from '../models/bert.js';
import { Engine, type Simd } from '../tensor/engine.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { trainWordPiece } from '../tokenizers/wordpiece.js';
import { Trainer, type StepResult } from './trainer.js';

export interface BertPretrainOptions {
  data: string;
  out: string;
  vocabSize: number;
  nsp: boolean;
  /** Pre-LN blocks and a final LayerNorm (config `pre_norm`): trains faster at small scale. */
  preNorm?: boolean;
  /** Whole-word masking: a word's `##` pieces are chosen with it. */
  wholeWord?: boolean;
  steps: number;
  batch: number;
  maxLen: number;
  lr: number;
  warmup: number;
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  threads: number | 'auto';
  /** The SIMD build, as Engine.create's `simd` (default 'plain'). */
  simd?: Simd;
  seed: number;
  evalEvery: number;
  onStep?: (r: StepResult) => void;
  onEval?: (r: BertEval) => void;
}

export interface BertEval {
  step: number;
  /** Held-out loss: MLM, plus NSP when pre-training with NSP. */
  loss: number;
  mlmAccuracy: number;
  nspAccuracy?: number;
}

export const BERT_PRETRAIN_DEFAULTS: Omit<BertPretrainOptions, 'data' | 'out'> = {
  vocabSize: 8000, nsp: true, steps: 1000, batch: 16, maxLen: 128, lr: 5e-4, warmup: 100,
  layers: 4, hidden: 128, heads: 4, ffn: 512, threads: 'auto', seed: 0, evalEvery: 200,
};

type Instance = { inputIds: Int32Array; tokenTypeIds: Int32Array; nextSentenceLabel?: 0 | 1 };

export async function pretrainBert(opts: BertPretrainOptions) {
  const docs = await loadTextDocuments(opts.data);
  // the document split of the fine-tuning tasks on Brown (80/10/10 by a hash of the document id): the
  // test documents of the tagging task are never pre-trained on, and held-out MLM uses the validation ones
  const split = splitByKey(docs, (d) => d.id, BROWN_SPLIT);
  if (split.validation.length === 0) split.validation.push(split.train.pop()!);
  if (split.train.length < 2) throw new ArgumentError('BERT pre-training needs at least three documents');
  const tokenizer = Tokenizer.fromJson(trainWordPiece(split.train.map((d) => d.text), { vocabSize: opts.vocabSize }));
  const { clsId, sepId, maskId, padId } = tokenizer as Required<Pick<Tokenizer, 'clsId' | 'sepId' | 'maskId' | 'padId'>>;
  const encodeDoc = (text: string) => splitSentences(text).map((s) => tokenizer.encode(s, undefined, { addSpecialTokens: false }).ids).filter((s) => s.length > 0);
  const trainDocs = split.train.map((d) => encodeDoc(d.text));
  const valDocs = split.validation.map((d) => encodeDoc(d.text));
  const build = (ds: number[][][], rng: Rng): Instance[] =>
    opts.nsp ? buildNspInstances(ds, rng, { maxLen: opts.maxLen, clsId, sepId }) : packSingleSegments(ds, { maxLen: opts.maxLen, clsId, sepId });
  const specialIds = [padId, tokenizer.unkId!, clsId, sepId, maskId];
  const continuation = Uint8Array.from({ length: tokenizer.vocabSize }, (_, id) => (tokenizer.idToToken(id)?.startsWith('##') ? 1 : 0));
  const batchOf = (instances: Instance[], rng: Rng): BertBatch => {
    const masked = instances.map((x) =>
      maskTokens(x.inputIds, rng, {
        maskProb: 0.15, maskId, vocabSize: tokenizer.vocabSize, specialIds,
        wholeWord: opts.wholeWord ? Uint8Array.from(x.inputIds, (id) => 1 - continuation[id]!) : undefined,
      }),
    );
    const ids = padBatch(masked.map((m) => m.inputIds), padId);
    const T = ids.T;
    const labels = new Int32Array(ids.B * T).fill(-100);
    const types = new Int32Array(ids.B * T);
    masked.forEach((m, b) => {
      labels.set(m.labels, b * T);
      types.set(instances[b]!.tokenTypeIds, b * T);
    });
    const batch: BertBatch = { inputIds: ids.inputIds, attentionMask: ids.attentionMask, tokenTypeIds: types, labels, B: ids.B, T };
    if (opts.nsp) batch.nextSentenceLabel = Int32Array.from(instances.map((x) => x.nextSentenceLabel!));
    return batch;
  };

  const engine = await Engine.create({ threads: opts.threads, simd: opts.simd });
  const config = parseConfig({
    model_type: 'bert', architectures: [opts.nsp ? 'BertForPreTraining' : 'BertForMaskedLM'], vocab_size: tokenizer.vocabSize,
    hidden_size: opts.hidden, num_hidden_layers: opts.layers, num_attention_heads: opts.heads, intermediate_size: opts.ffn,
    max_position_embeddings: Math.max(opts.maxLen, 128), pad_token_id: padId, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, pre_norm: opts.preNorm ?? false,
  }) as BertConfig;
  const model = new Bert(engine, config, opts.seed);
  model.tokenizer = tokenizer;
  const trainer = new Trainer(model, { lr: opts.lr, totalSteps: opts.steps, warmup: opts.warmup, schedule: 'linear', weightDecay: 0.01, clip: 1, seed: opts.seed });
  const valInstances = build(valDocs, new Rng(opts.seed).fork('validation')).slice(0, 256);

  const evaluate = (): BertEval => {
    model.train(false);
    const rng = new Rng(opts.seed).fork('validation-masks');
    let loss = 0, n = 0, hits = 0, masked = 0, nspHits = 0, nspN = 0;
    for (let i = 0; i < valInstances.length; i += opts.batch) {
      const batch = batchOf(valInstances.slice(i, i + opts.batch), rng);
      engine.noGrad(() => {
        const r = model.run(batch);
        loss += r.loss!.item() * batch.B;
        n += batch.B;
        const V = tokenizer.vocabSize;
        const logits = r.logits.toArray();
        batch.labels!.forEach((y, p) => {
          if (y < 0) return;
          let best = 0;
          for (let v = 1; v < V; v++) if (logits[p * V + v]! > logits[p * V + best]!) best = v;
          masked++;
          if (best === y) hits++;
        });
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
    return { step: trainer.globalStep, loss: loss / n, mlmAccuracy: hits / masked, nspAccuracy: nspN ? nspHits / nspN : undefined };
  };

  let epoch = 0;
  let pool: Instance[] = [];
  let evalResult: BertEval | undefined;
  const started = performance.now();
  try {
    while (trainer.globalStep < opts.steps) {
      if (pool.length < opts.batch) pool = new Rng(opts.seed).fork(`epoch-${epoch++}`).shuffle(build(trainDocs, new Rng(opts.seed).fork(`pairs-${epoch}`)));
      const batch = batchOf(pool.splice(0, opts.batch), new Rng(opts.seed).fork(`masks-${trainer.globalStep}`));
      const r = trainer.step(batch);
      opts.onStep?.(r);
      if ((opts.evalEvery > 0 && trainer.globalStep % opts.evalEvery === 0) || trainer.globalStep === opts.steps) {
        evalResult = evaluate();
        opts.onEval?.(evalResult);
      }
    }
    await model.save(opts.out);
  } catch (err) {
    await engine.dispose();
    throw err;
  }
  return { model, engine, trainer, tokenizer, lastEval: evalResult, seconds: (performance.now() - started) / 1000 };
}
