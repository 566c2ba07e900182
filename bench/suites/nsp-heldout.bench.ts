// The `nsp` suite's pre-trained checkpoints scored again with `heldOutMlm` on every held-out sequence (the
// suite itself scores the first 256): Brown's validation documents, sentences packed within each document,
// masks from the same fixed seed. More masked tokens, a smaller sampling error. Runs already scored are
// kept (the results file is merged into), so the suite can be run as checkpoints appear. For scale, the
// unigram model of the WordPiece arms' pieces (add-one, counted on the training documents): its loss on
// every held-out piece (the masked ones are a uniform 15 % of them) and that loss's standard deviation.
//
//   npm run bench -- nsp-heldout [--runs bert-nsp-seed0,bert-full-seed0,...] [--out runs/nsp] [--max-len 64]
// Results: bench/results/nsp-heldout.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BROWN_SPLIT } from '../../src/data/brown.js';
import { splitByKey } from '../../src/data/split.js';
import { loadTextDocuments, splitSentences } from '../../src/data/text.js';
import { loadModel } from '../../src/models/load.js';
import { heldOutMlm, type HeldOutMlm } from '../../src/recipes/pretrain-bert.js';
import { Engine } from '../../src/tensor/engine.js';
import { BENCH_DIR, RESULTS_DIR, type Suite, writeResults } from '../harness.js';

/** The `nsp` suite's fixed mask seed. */
const MASK_SEED = 1234;

const suite: Suite = {
  description: "the nsp suite's checkpoints: held-out MLM loss on every validation sequence",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { runs: { type: 'string' }, out: { type: 'string' }, 'max-len': { type: 'string' } },
      strict: true,
    });
    const out = values.out ?? join(BENCH_DIR, '..', 'runs', 'nsp');
    const maxLen = Number(values['max-len'] ?? 64);
    const runs = (values.runs ?? '').split(',').filter(Boolean);
    const path = join(RESULTS_DIR, 'nsp-heldout.json');
    const previous = existsSync(path)
      ? (JSON.parse(readFileSync(path, 'utf8')) as { rows: (HeldOutMlm & { run: string })[] }).rows
      : [];
    const rows = previous.filter((r) => !runs.includes(r.run));
    const docs = await loadTextDocuments('brown');
    const split = splitByKey(docs, (d) => d.id, BROWN_SPLIT);
    const validation = split.validation.map((d) => d.text);
    const engine = await Engine.create({ threads: 1 });
    for (const run of runs) {
      const model = await loadModel(engine, join(out, run));
      if (model.kind !== 'encoder') throw new Error(`${run}: not an encoder`);
      const { tokenLosses, ...r } = heldOutMlm(model, validation, {
        maxLen,
        batch: 32,
        maskSeed: MASK_SEED,
        tokenLosses: true,
      });
      // each masked token's loss, for paired comparisons (the WordPiece arms are scored on the same masks)
      writeFileSync(join(out, `${run}.token-losses.json`), JSON.stringify(Array.from(tokenLosses!)));
      console.log(
        `${run}: held-out MLM ${r.loss.toFixed(4)} nats, accuracy ${(r.accuracy * 100).toFixed(2)} %, ${r.maskedTokens} masked tokens`,
      );
      rows.push({ run, ...r });
      model.dispose();
    }
    await engine.dispose();
    // bert-nsp against bert-full, seed by seed: the mean per-token difference and its standard error
    const paired = [];
    for (const r of rows) {
      const m = /^bert-nsp-seed(\d+)$/.exec(r.run);
      const other = `bert-full-seed${m?.[1]}`;
      if (!m || !rows.some((x) => x.run === other)) continue;
      const read = (run: string) => JSON.parse(readFileSync(join(out, `${run}.token-losses.json`), 'utf8')) as number[];
      const a = read(r.run);
      const b = read(other);
      if (a.length !== b.length) throw new Error(`${r.run} and ${other} were not scored on the same masks`);
      const d = a.map((x, i) => x - b[i]!);
      const mean = d.reduce((x, y) => x + y, 0) / d.length;
      const sd = Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (d.length - 1));
      paired.push({
        seed: Number(m[1]),
        nspMinusFull: mean,
        standardError: sd / Math.sqrt(d.length),
        tokens: d.length,
      });
      console.log(
        `seed ${m[1]}: bert-nsp − bert-full ${mean.toFixed(4)} ± ${(sd / Math.sqrt(d.length)).toFixed(4)} nats`,
      );
    }
    const unigram = await unigramReference(join(out, 'bert-nsp-seed0'), split.train, validation);
    console.log(
      `unigram: ${unigram.nats.toFixed(4)} nats (sd ${unigram.sd.toFixed(3)}) over ${unigram.tokens} held-out pieces`,
    );
    console.log(
      `wrote ${writeResults('nsp-heldout', { maxLen, maskSeed: MASK_SEED, threads: 1, rows, paired, unigram })}`,
    );
  },
};

export default suite;

/** A unigram model of a checkpoint's tokenizer's pieces (add-one) on the training texts, scored on the held-out ones. */
async function unigramReference(dir: string, train: { text: string }[], heldOut: string[]) {
  const engine = await Engine.create({ threads: 1 });
  const model = await loadModel(engine, dir);
  const tokenizer = model.tokenizer!;
  model.dispose();
  await engine.dispose();
  const pieces = (text: string) =>
    splitSentences(text).flatMap((s) => tokenizer.encode(s, undefined, { addSpecialTokens: false }).ids);
  const counts = new Float64Array(tokenizer.vocabSize).fill(1);
  for (const d of train) for (const id of pieces(d.text)) counts[id]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  let sum = 0;
  let sq = 0;
  let tokens = 0;
  for (const text of heldOut)
    for (const id of pieces(text)) {
      const nats = -Math.log(counts[id]! / total);
      sum += nats;
      sq += nats * nats;
      tokens++;
    }
  const nats = sum / tokens;
  return { nats, sd: Math.sqrt(sq / tokens - nats * nats), tokens };
}
