// NSP or not (issue 19): BERT's pre-training recipe against RoBERTa's on the same data, compute and seeds.
//
// Arms (every one: the same encoder shape, steps × batch × max-len, learning-rate schedule and seeds):
//   bert-nsp    `pretrain bert`: WordPiece, masked LM + next-sentence prediction on sentence pairs
//   bert-full   the same WordPiece and BERT model with RoBERTa's data recipe: no NSP, FULL-SENTENCES
//               (`pretrain bert --no-nsp --packing full-sentences`): differs from bert-nsp in the recipe alone
//   roberta     `pretrain roberta`: byte-level BPE, RoBERTa's model (positions, one token type),
//               FULL-SENTENCES; its MLM loss is over another vocabulary, so only its POS accuracy compares
//   scratch     no pre-training: POS from random weights (the recipe's own WordPiece), for scale
// Masking is dynamic in every arm (fresh masks each step, as the recipes do).
// Held-out MLM: `heldOutMlm` on Brown's validation documents (the pre-training recipe's split): sentences
// packed within each document, the first 256 sequences, masks from one fixed seed, so the two WordPiece
// arms are scored on identical masked text (the suite checks that their vocabularies are identical).
// POS: `finetune tag` on brown-pos with 5 % of the training sentences from each checkpoint; the
// fine-tuning seed is the pre-training seed, so every arm of a seed sees the same 5 % in the same order.
// Test-split token accuracy. Each job runs in its own process on one thread, --parallel of them at a time.
//
//   npm run bench -- nsp [--arms bert-nsp,bert-full,roberta,scratch] [--seeds 0,1]
//     [--steps 300] [--layers 2] [--batch 16] [--max-len 64] [--vocab 4000] [--pos-epochs 2] [--parallel 2]
//     [--out runs/nsp]
// The results are rewritten as each job finishes (a run stopped early leaves the finished jobs' rows).
// Results: bench/results/nsp.json and docs/results/data/nsp-vs-roberta.md.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BROWN_SPLIT } from '../../src/data/brown.js';
import { splitByKey } from '../../src/data/split.js';
import { loadTextDocuments } from '../../src/data/text.js';
import { finetune } from '../../src/recipes/finetune-bert.js';
import {
  BERT_PRETRAIN_DEFAULTS,
  heldOutMlm,
  pretrainBert,
  ROBERTA_PRETRAIN_DEFAULTS,
  type BertPretrainOptions,
} from '../../src/recipes/pretrain-bert.js';
import { Engine } from '../../src/tensor/engine.js';
import { answerParent, BENCH_DIR, childJob, machine, runInChild, type Suite, writeResults } from '../harness.js';

type Arm = 'bert-nsp' | 'bert-full' | 'roberta' | 'scratch';
const ARMS: readonly Arm[] = ['bert-nsp', 'bert-full', 'roberta', 'scratch'];

interface Sizes {
  layers: number;
  steps: number;
  batch: number;
  maxLen: number;
  vocab: number;
  posEpochs: number;
  out: string;
}

/** The encoder every arm trains (its layers from --layers): pre-LN, which trains faster at this scale. */
const SHAPE = { dModel: 128, heads: 4, ffn: 512, preNorm: true };
const PRETRAIN_LR = 1e-3;
const POS = { fraction: 0.05, lr: 3e-4, batch: 16, maxLen: 128 };
const HELD_OUT = { sequences: 256, maskSeed: 1234 };

type PretrainJob = { kind: 'pretrain'; arm: Exclude<Arm, 'scratch'>; seed: number; sizes: Sizes };
type FinetuneJob = { kind: 'finetune'; arm: Arm; seed: number; sizes: Sizes };

interface PretrainRow {
  arm: Arm;
  seed: number;
  seconds: number;
  steps: number;
  epochs: number;
  /** Tokens trained on, padding left out. */
  tokens: number;
  /** The recipe's own held-out figures (its own sequence format). */
  ownMlmLoss: number;
  nspAccuracy?: number;
  /** The shared held-out measurement. */
  heldOutMlmLoss: number;
  heldOutMlmAccuracy: number;
  maskedTokens: number;
  vocabSize: number;
  /** sha256 of the tokenizer's vocabulary: equal for the arms that share one. */
  vocabHash: string;
}

interface FinetuneRow {
  arm: Arm;
  seed: number;
  seconds: number;
  trainSentences: number;
  testAccuracy: number;
  validationAccuracy: number;
  testMacroF1: number;
}

const runDir = (s: Sizes, arm: Arm, seed: number) => join(s.out, `${arm}-seed${seed}`);

async function pretrainJob(job: PretrainJob): Promise<PretrainRow> {
  const engine = await Engine.create({ threads: 1 });
  const s = job.sizes;
  const opts: BertPretrainOptions = {
    ...(job.arm === 'roberta' ? ROBERTA_PRETRAIN_DEFAULTS : BERT_PRETRAIN_DEFAULTS),
    ...SHAPE,
    layers: s.layers,
    data: 'brown',
    out: runDir(s, job.arm, job.seed),
    vocabSize: s.vocab,
    nsp: job.arm === 'bert-nsp',
    packing: job.arm === 'bert-nsp' ? undefined : 'full-sentences',
    steps: s.steps,
    batch: s.batch,
    maxLen: s.maxLen,
    lr: PRETRAIN_LR,
    warmup: Math.round(s.steps / 10),
    seed: job.seed,
    evalEvery: 0,
    checkpointEvery: 0,
  };
  const r = await pretrainBert(engine, opts);
  const docs = await loadTextDocuments('brown');
  const validation = splitByKey(docs, (d) => d.id, BROWN_SPLIT).validation.map((d) => d.text);
  const held = heldOutMlm(r.model, validation, { maxLen: s.maxLen, batch: s.batch, ...HELD_OUT });
  const vocab = JSON.stringify(r.tokenizer.toJson().model);
  await engine.dispose();
  return {
    arm: job.arm,
    seed: job.seed,
    seconds: r.seconds,
    steps: r.trainer.globalStep,
    epochs: r.epochs,
    tokens: r.tokens,
    ownMlmLoss: r.lastEval.mlmLoss,
    nspAccuracy: r.lastEval.nspAccuracy,
    heldOutMlmLoss: held.loss,
    heldOutMlmAccuracy: held.accuracy,
    maskedTokens: held.maskedTokens,
    vocabSize: r.tokenizer.vocabSize,
    vocabHash: createHash('sha256').update(vocab).digest('hex').slice(0, 16),
  };
}

async function finetuneJob(job: FinetuneJob): Promise<FinetuneRow> {
  const engine = await Engine.create({ threads: 1 });
  const s = job.sizes;
  const r = await finetune(engine, {
    task: 'tag',
    data: 'brown-pos',
    from: job.arm === 'scratch' ? 'none' : runDir(s, job.arm, job.seed),
    out: runDir(s, job.arm, job.seed) + '-pos5',
    epochs: s.posEpochs,
    fraction: POS.fraction,
    batch: POS.batch,
    maxLen: POS.maxLen,
    lr: POS.lr,
    freeze: false,
    seed: job.seed,
    scratch: { ...SHAPE, layers: s.layers, vocabSize: s.vocab },
  });
  await engine.dispose();
  return {
    arm: job.arm,
    seed: job.seed,
    seconds: r.seconds,
    trainSentences: r.trainExamples,
    testAccuracy: r.test.accuracy,
    validationAccuracy: r.validation.accuracy,
    testMacroF1: r.test.macroF1,
  };
}

/**
 * Runs the tasks, at most `parallel` at once: whenever a slot is free, the first task in list order whose
 * dependency has settled (so a seed's fine-tuning runs go before the next seed's pre-training).
 */
async function pool<T>(tasks: { after?: Promise<unknown>; run: () => Promise<T> }[], parallel: number): Promise<void> {
  const ready = tasks.map((t) => t.after === undefined);
  const started = tasks.map(() => false);
  let running = 0;
  let finished = 0;
  await new Promise<void>((resolve) => {
    const next = () => {
      if (finished === tasks.length) return resolve();
      for (let i = 0; i < tasks.length && running < parallel; i++) {
        if (started[i] || !ready[i]) continue;
        started[i] = true;
        running++;
        void tasks[i]!.run()
          .catch(() => undefined)
          .finally(() => {
            running--;
            finished++;
            next();
          });
      }
    };
    tasks.forEach((t, i) => {
      void t.after
        ?.catch(() => undefined)
        .finally(() => {
          ready[i] = true;
          next();
        });
    });
    next();
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (xs: number[], digits: number, scale = 1) =>
  `${(mean(xs) * scale).toFixed(digits)} (${xs.map((x) => (x * scale).toFixed(digits)).join(', ')})`;

function markdown(
  sizes: Sizes,
  seeds: number[],
  pre: PretrainRow[],
  fine: FinetuneRow[],
  started: string,
  m: ReturnType<typeof machine>,
): string {
  const lines = [
    `# NSP or not: BERT's recipe against RoBERTa's (\`npm run bench -- nsp\`)`,
    '',
    `Run ${started}; ${m.cpu}, ${m.cores} logical cores, ${m.node}; load average at the start ${m.loadavg.join(', ')}; ` +
      `one thread per job, two jobs at a time.`,
    '',
    `Encoder: ${sizes.layers} layers, hidden ${SHAPE.dModel}, ${SHAPE.heads} heads, FFN ${SHAPE.ffn}, pre-LN. ` +
      `Pre-training: Brown's training documents, ${sizes.steps} steps of ${sizes.batch} × ${sizes.maxLen}, lr ${PRETRAIN_LR} ` +
      `(warm-up ${Math.round(sizes.steps / 10)}, linear decay), vocabulary ${sizes.vocab}, seeds ${seeds.join(', ')}. ` +
      `POS: 5 % of the training sentences, ${sizes.posEpochs} epochs, lr ${POS.lr}, batch ${POS.batch}; test token accuracy.`,
    '',
    '| arm | held-out MLM loss (nats) | MLM accuracy % | POS test accuracy % (5 %) | tokens trained (no padding) | pre-training s |',
    '|---|---|---|---|---|---|',
  ];
  for (const arm of ARMS) {
    const p = pre.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
    const f = fine.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
    if (p.length === 0 && f.length === 0) continue;
    const comparable = arm !== 'roberta';
    lines.push(
      `| ${arm} | ${
        p.length
          ? fmt(
              p.map((r) => r.heldOutMlmLoss),
              3,
            ) + (comparable ? '' : ' (own BPE: not comparable)')
          : '—'
      } | ` +
        `${
          p.length
            ? fmt(
                p.map((r) => r.heldOutMlmAccuracy),
                1,
                100,
              )
            : '—'
        } | ` +
        `${
          f.length
            ? fmt(
                f.map((r) => r.testAccuracy),
                2,
                100,
              )
            : '—'
        } | ` +
        `${p.length ? Math.round(mean(p.map((r) => r.tokens))).toLocaleString('en') : '—'} | ` +
        `${p.length ? mean(p.map((r) => r.seconds)).toFixed(0) : '—'} |`,
    );
  }
  lines.push(
    '',
    'Means, then the seeds in order. Every row: [bench/results/nsp.json](../../../bench/results/nsp.json).',
    '',
  );
  return lines.join('\n');
}

const suite: Suite = {
  description: "BERT with NSP vs RoBERTa's recipe: held-out MLM loss and 5 % POS accuracy, same data, compute, seeds",
  async run(args) {
    const job = childJob<PretrainJob | FinetuneJob>(args);
    if (job) return answerParent(() => (job.kind === 'pretrain' ? pretrainJob(job) : finetuneJob(job)));
    const { values } = parseArgs({
      args,
      options: {
        arms: { type: 'string' },
        layers: { type: 'string' },
        seeds: { type: 'string' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        'max-len': { type: 'string' },
        vocab: { type: 'string' },
        'pos-epochs': { type: 'string' },
        parallel: { type: 'string' },
        out: { type: 'string' },
      },
      strict: true,
    });
    const arms = (values.arms ?? ARMS.join(',')).split(',') as Arm[];
    const unknown = arms.filter((a) => !ARMS.includes(a));
    if (unknown.length) throw new Error(`unknown arms ${unknown.join(', ')}; arms: ${ARMS.join(', ')}`);
    const seeds = (values.seeds ?? '0,1').split(',').map(Number);
    const sizes: Sizes = {
      layers: Number(values.layers ?? 2),
      steps: Number(values.steps ?? 300),
      batch: Number(values.batch ?? 16),
      maxLen: Number(values['max-len'] ?? 64),
      vocab: Number(values.vocab ?? 4000),
      posEpochs: Number(values['pos-epochs'] ?? 2),
      out: values.out ?? join(BENCH_DIR, '..', 'runs', 'nsp'),
    };
    const parallel = Number(values.parallel ?? 2);
    const started = new Date().toISOString();
    const startMachine = machine();
    const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
    // seed by seed; within a seed the WordPiece arms first, then scratch and RoBERTa; each fine-tuning
    // run as soon as its checkpoint is there (a run stopped early has whole seeds of the arms that matter most)
    const tasks: { after?: Promise<unknown>; run: () => Promise<PretrainRow | FinetuneRow> }[] = [];
    const order = ARMS.filter((a) => arms.includes(a));
    type Task = (typeof tasks)[number];
    for (const seed of seeds) {
      const pretrained = new Map<Arm, Promise<PretrainRow>>();
      const pre = new Map<Arm, Task>();
      const fine = new Map<Arm, Task>();
      for (const arm of order) {
        if (arm === 'scratch') continue;
        let resolve!: (r: PretrainRow) => void;
        let reject!: (e: unknown) => void;
        pretrained.set(arm, new Promise<PretrainRow>((res, rej) => ((resolve = res), (reject = rej))));
        pre.set(arm, {
          run: async () => {
            log(`pre-training ${arm}, seed ${seed}`);
            const r = await runInChild<PretrainRow>('nsp', {
              kind: 'pretrain',
              arm,
              seed,
              sizes,
            } satisfies PretrainJob).catch((e: unknown) => {
              reject(e);
              throw e;
            });
            log(
              `${arm} seed ${seed}: ${r.steps} steps in ${r.seconds.toFixed(0)} s, held-out MLM ${r.heldOutMlmLoss.toFixed(3)}`,
            );
            resolve(r);
            return r;
          },
        });
      }
      for (const arm of order)
        fine.set(arm, {
          // a failed pre-training run: the fine-tuning runs anyway and reports its own failure (no checkpoint)
          after: pretrained.get(arm),
          run: async () => {
            log(`POS 5 % from ${arm}, seed ${seed}`);
            const r = await runInChild<FinetuneRow>('nsp', {
              kind: 'finetune',
              arm,
              seed,
              sizes,
            } satisfies FinetuneJob);
            log(
              `${arm} seed ${seed}: POS test accuracy ${(r.testAccuracy * 100).toFixed(2)} % in ${r.seconds.toFixed(0)} s`,
            );
            return r;
          },
        });
      const tasksOf = (arms: Arm[], m: Map<Arm, Task>) => arms.flatMap((a) => (m.has(a) ? [m.get(a)!] : []));
      tasks.push(
        ...tasksOf(['bert-nsp', 'bert-full'], pre),
        ...tasksOf(['bert-nsp', 'bert-full', 'scratch'], fine),
        ...tasksOf(['roberta'], pre),
        ...tasksOf(['roberta'], fine),
      );
    }
    const pre: PretrainRow[] = [];
    const fine: FinetuneRow[] = [];
    const mdPath = join(BENCH_DIR, '..', 'docs', 'results', 'data', 'nsp-vs-roberta.md');
    const report = (complete: boolean) => {
      // the WordPiece arms must have scored the same masked text: one vocabulary for all of them
      const hashes = new Set(pre.filter((r) => r.arm !== 'roberta').map((r) => r.vocabHash));
      if (hashes.size > 1) throw new Error('the WordPiece arms trained different vocabularies');
      const md = markdown(sizes, seeds, pre, fine, started, startMachine);
      mkdirSync(join(mdPath, '..'), { recursive: true });
      writeFileSync(mdPath, md + (complete ? '' : '\n(run in progress: the rows so far)\n'));
      const json = writeResults('nsp', {
        complete,
        started,
        startMachine,
        threadsPerJob: 1,
        parallel,
        shape: { ...SHAPE, layers: sizes.layers },
        pretrainLr: PRETRAIN_LR,
        pos: POS,
        heldOut: HELD_OUT,
        sizes,
        seeds,
        pretrain: pre,
        finetune: fine,
      });
      if (complete) console.log('\n' + md + `\nwrote ${json} and ${mdPath}`);
    };
    const failures: string[] = [];
    for (const t of tasks) {
      const run = t.run;
      t.run = async () => {
        try {
          const r = await run();
          if ('heldOutMlmLoss' in r) pre.push(r);
          else fine.push(r);
          report(false);
          return r;
        } catch (e) {
          // one failed job leaves the others running; it is reported at the end
          failures.push((e as Error).message);
          log(`failed: ${(e as Error).message}`);
          return undefined as unknown as PretrainRow;
        }
      };
    }
    await pool(tasks, parallel);
    report(failures.length === 0);
    if (failures.length) throw new Error(`${failures.length} job(s) failed:\n${failures.join('\n')}`);
  },
};

export default suite;
