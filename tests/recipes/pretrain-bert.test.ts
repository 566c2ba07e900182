import { copyFile, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, CheckpointError } from '../../src/errors.js';
import {
  BERT_PRETRAIN_DEFAULTS,
  heldOutMlm,
  pretrainBert,
  ROBERTA_PRETRAIN_DEFAULTS,
  type BertPretrainOptions,
} from '../../src/recipes/pretrain-bert.js';
import { Bert } from '../../src/models/bert.js';
import { Roberta } from '../../src/models/roberta.js';
import { Engine } from '../../src/tensor/engine.js';
import { expectBitIdentical } from '../util/check.js';

/** Runs the recipe on a 2-thread engine of its own (disposed after the tests, with what the runs left in it). */
const engines: Engine[] = [];
async function run(opts: Parameters<typeof pretrainBert>[1]) {
  const e = await Engine.create({ threads: 2 });
  engines.push(e);
  return pretrainBert(e, opts);
}
afterAll(async () => {
  for (const e of engines.splice(0)) await e.dispose();
});

describe('BERT pre-training: checkpoints and resume', () => {
  let dir: string;
  let base: BertPretrainOptions;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-bert-resume-'));
    const text = join(dir, 'text.txt');
    const animals = ['fox', 'dog', 'cat', 'owl', 'hen', 'elk', 'yak'];
    const para = (i: number) =>
      [0, 1, 2]
        .map(
          (k) => `The ${animals[(i + k) % 7]} number ${(i * 3 + k) % 11} runs past the ${animals[(i * k) % 7]} again.`,
        )
        .join(' ');
    await writeFile(text, Array.from({ length: 20 }, (_, i) => para(i)).join('\n\n'));
    base = {
      ...BERT_PRETRAIN_DEFAULTS,
      data: text,
      out: '',
      vocabSize: 80,
      layers: 1,
      dModel: 16,
      heads: 2,
      ffn: 32,
      batch: 4,
      maxLen: 16,
      steps: 24,
      lr: 3e-3,
      warmup: 4,
      evalEvery: 0,
      checkpointEvery: 0,
    };
  });
  afterAll(() => rm(dir, { recursive: true }));

  it('24 steps straight equal 18 steps, a crash, resume and 6 steps, bit for bit (NSP pairs redrawn each epoch)', async () => {
    const straight = await run({ ...base, out: join(dir, 'a') });
    // the held-out loss adds NSP's to the MLM loss, which is reported alone too
    expect(straight.lastEval.mlmLoss).toBeGreaterThan(0);
    expect(straight.lastEval.mlmLoss).toBeLessThan(straight.lastEval.loss);
    const wa = [...straight.model.namedParameters().values()].map((p) => p.toArray());
    // epochs of 8 or so batches: the resumed run replays two epochs' pairs to find its place
    expect(straight.epochs).toBeGreaterThanOrEqual(3);
    // a run that dies after its checkpoint at step 18
    await expect(
      run({
        ...base,
        out: join(dir, 'b'),
        checkpointEvery: 6,
        onStep: (r) => {
          if (r.step === 18) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    // generations of the last two saves, the latest named by the pointer
    expect((await readdir(join(dir, 'b'))).sort()).toEqual([
      'checkpoint-12',
      'checkpoint-18',
      'latest',
      'metrics.jsonl',
    ]);
    expect(await readFile(join(dir, 'b', 'latest'), 'utf8')).toBe('checkpoint-18\n');
    expect(JSON.parse(await readFile(join(dir, 'b', 'checkpoint-18', 'trainer_state.json'), 'utf8')).step).toBe(18);
    const second = await run({ ...base, out: join(dir, 'b'), resume: true });
    expect(second.trainer.globalStep).toBe(24);
    expect(second.epochs).toBe(straight.epochs);
    const wb = [...second.model.namedParameters().values()].map((p) => p.toArray());
    expect(wb.length).toBe(wa.length);
    wb.forEach((w, i) => expectBitIdentical(w, wa[i]!, `parameter ${i}`));
    // held-out evaluations went to metrics.jsonl, appended across the resume
    const lines = (await readFile(join(dir, 'b', 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ step: 24 });
    expect(lines.at(-1).loss).toBeGreaterThan(0);
  });

  it('resuming with another batch size, a corrupt training state, or none, is a typed error', async () => {
    await expect(run({ ...base, out: join(dir, 'b'), batch: 8, resume: true })).rejects.toThrow(ArgumentError);
    await expect(run({ ...base, out: join(dir, 'b'), batch: 8, resume: true })).rejects.toThrow(/batch 4 \(given 8\)/);
    // weights of another save beside this one's optimizer state and trainer_state.json
    const latest = join(dir, 'b', 'checkpoint-24');
    const weights = await readFile(join(latest, 'model.safetensors'));
    await copyFile(join(dir, 'b', 'checkpoint-18', 'model.safetensors'), join(latest, 'model.safetensors'));
    await expect(run({ ...base, out: join(dir, 'b'), resume: true })).rejects.toThrow(CheckpointError);
    await expect(run({ ...base, out: join(dir, 'b'), resume: true })).rejects.toThrow(
      /checkpoint-24\/model.safetensors is not the file trainer_state.json was saved with .*files of different saves/,
    );
    await writeFile(join(latest, 'model.safetensors'), weights);
    await writeFile(join(latest, 'trainer_state.json'), '{"seed": 0, "batch": 4');
    await expect(run({ ...base, out: join(dir, 'b'), resume: true })).rejects.toThrow(/not a training state/);
    await unlink(join(latest, 'trainer_state.json'));
    await expect(run({ ...base, out: join(dir, 'b'), resume: true })).rejects.toThrow(CheckpointError);
  });

  it('RoBERTa: 24 steps straight equal 12, a crash, resume and 12, bit for bit (documents repacked each epoch)', async () => {
    const rb = { ...base, family: ROBERTA_PRETRAIN_DEFAULTS.family, nsp: false, vocabSize: 300, maxLen: 24 };
    const straight = await run({ ...rb, out: join(dir, 'r1') });
    expect(straight.model).toBeInstanceOf(Roberta);
    expect(straight.epochs).toBeGreaterThanOrEqual(2);
    // MLM alone: the two held-out figures differ only in how batches are weighted (by rows, by masked tokens)
    expect(Math.abs(straight.lastEval.mlmLoss - straight.lastEval.loss)).toBeLessThan(0.05 * straight.lastEval.loss);
    await expect(
      run({
        ...rb,
        out: join(dir, 'r2'),
        checkpointEvery: 12,
        onStep: (r) => {
          if (r.step === 14) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    const second = await run({ ...rb, out: join(dir, 'r2'), resume: true });
    const wa = [...straight.model.namedParameters().values()].map((p) => p.toArray());
    const wb = [...second.model.namedParameters().values()].map((p) => p.toArray());
    wb.forEach((w, i) => expectBitIdentical(w, wa[i]!, `parameter ${i}`));
    // a BERT run is not resumed as RoBERTa; NSP is BERT's
    await expect(run({ ...base, out: join(dir, 'r2'), resume: true })).rejects.toThrow(
      /holds a roberta model, not bert/,
    );
    await expect(run({ ...rb, nsp: true, out: join(dir, 'r3') })).rejects.toThrow(ArgumentError);
  });
});

describe('BERT pre-training: packing without NSP, and the held-out MLM measurement shared by the recipes', () => {
  let dir: string;
  let base: BertPretrainOptions;
  const texts: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-bert-packing-'));
    const text = join(dir, 'text.txt');
    const animals = ['fox', 'dog', 'cat', 'owl', 'hen', 'elk', 'yak'];
    // short documents (three sentences, about 30 tokens): within a document a 64-token sequence is half
    // empty, across documents it fills up
    for (let i = 0; i < 40; i++)
      texts.push(
        [0, 1, 2]
          .map((k) => `The ${animals[(i + k) % 7]} saw ${(i * 3 + k) % 13} ${animals[(i * k + 1) % 7]}s by the river.`)
          .join(' '),
      );
    await writeFile(text, texts.join('\n\n'));
    base = {
      ...BERT_PRETRAIN_DEFAULTS,
      data: text,
      out: '',
      nsp: false,
      vocabSize: 90,
      layers: 1,
      dModel: 16,
      heads: 2,
      ffn: 32,
      batch: 4,
      maxLen: 64,
      steps: 6,
      lr: 3e-3,
      warmup: 1,
      evalEvery: 0,
      checkpointEvery: 0,
    };
  });
  afterAll(() => rm(dir, { recursive: true }));

  it("packing 'full-sentences' runs BERT's sequences across documents: fuller batches, same tokenizer and model", async () => {
    const within = await run({ ...base, out: join(dir, 'doc') });
    const across = await run({ ...base, out: join(dir, 'full'), packing: 'full-sentences' });
    expect(across.model).toBeInstanceOf(Bert);
    expect(across.model).not.toBeInstanceOf(Roberta);
    expect(across.model.config.type_vocab_size).toBe(2);
    expect(across.tokenizer.toJson()).toEqual(within.tokenizer.toJson());
    // a document's sentences fill about half of a sequence; packed across documents, all but the last
    // sentence's worth of it: 6 steps of 4 sequences see well over 1.5× the tokens
    expect(across.tokens).toBeGreaterThan(1.5 * within.tokens);
    expect(within.tokens).toBeGreaterThan(6 * 4 * 20);
    // the default without NSP is 'doc-sentences'
    const explicit = await run({ ...base, out: join(dir, 'doc2'), packing: 'doc-sentences' });
    expect(explicit.tokens).toBe(within.tokens);
    // a packing is for runs without NSP; a run is resumed with its own packing
    await expect(run({ ...base, nsp: true, packing: 'full-sentences', out: join(dir, 'x') })).rejects.toThrow(
      ArgumentError,
    );
    await expect(run({ ...base, nsp: true, packing: 'doc-sentences', out: join(dir, 'x') })).rejects.toThrow(
      /without NSP/,
    );
    await expect(run({ ...base, steps: 8, out: join(dir, 'full'), resume: true })).rejects.toThrow(
      /packing "full-sentences" \(given "doc-sentences"\)/,
    );
  });

  it('heldOutMlm: the same masks for a seed whatever the batch size, other masks for another seed; ln V at random weights; lower after training', async () => {
    const trained = await run({ ...base, out: join(dir, 'mlm'), steps: 40, lr: 1e-2, warmup: 4 });
    const model = trained.model;
    const held = texts.slice(30);
    const a = heldOutMlm(model, held, { maxLen: 64, batch: 4, maskSeed: 7 });
    const b = heldOutMlm(model, held, { maxLen: 64, batch: 1, maskSeed: 7 });
    const c = heldOutMlm(model, held, { maxLen: 64, batch: 4, maskSeed: 8 });
    // one sequence per document here; 15 % of each sequence's 20-odd word pieces masked
    expect(a.sequences).toBe(10);
    expect(a.maskedTokens).toBeGreaterThanOrEqual(10 * 3);
    // padding in a batch of 4 changes nothing: the same masked tokens and the same scores (to float32 rounding)
    expect(b.maskedTokens).toBe(a.maskedTokens);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-4 * a.loss);
    expect(b.accuracy).toBe(a.accuracy);
    expect(c.loss).not.toBe(a.loss);
    expect(heldOutMlm(model, held, { maxLen: 64, batch: 4, maskSeed: 7, sequences: 3 }).sequences).toBe(3);
    // the per-token losses, when asked for: one per masked token, their mean the loss
    const perToken = heldOutMlm(model, held, { maxLen: 64, batch: 4, maskSeed: 7, tokenLosses: true }).tokenLosses!;
    expect(perToken.length).toBe(a.maskedTokens);
    expect(perToken.every((x) => x >= 0)).toBe(true);
    expect(Math.abs(perToken.reduce((x, y) => x + y, 0) / perToken.length - a.loss)).toBeLessThan(1e-9);
    expect(a.tokenLosses).toBeUndefined();
    // a model from its initial weights (small logits) scores about ln V; the trained one far lower
    const e = await Engine.create({ threads: 1 });
    engines.push(e);
    const fresh = new Bert(e, model.config, base.seed);
    fresh.tokenizer = model.tokenizer;
    const initial = heldOutMlm(fresh, held, { maxLen: 64, batch: 4, maskSeed: 7 });
    expect(Math.abs(initial.loss - Math.log(model.config.vocab_size))).toBeLessThan(0.3);
    expect(a.loss).toBeLessThan(initial.loss - 1);
    expect(a.accuracy).toBeGreaterThan(initial.accuracy);
    // bad input: typed errors
    expect(() => heldOutMlm(model, [], { maxLen: 64, batch: 4, maskSeed: 7 })).toThrow(ArgumentError);
    expect(() => heldOutMlm(model, held, { maxLen: 64, batch: 0, maskSeed: 7 })).toThrow(ArgumentError);
    fresh.tokenizer = undefined;
    expect(() => heldOutMlm(fresh, held, { maxLen: 64, batch: 4, maskSeed: 7 })).toThrow(/no tokenizer/);
  });
});
