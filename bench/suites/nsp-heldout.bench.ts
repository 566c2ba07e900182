// The `nsp` suite's pre-trained checkpoints scored again with `heldOutMlm` on every held-out sequence (the
// suite itself scores the first 256): Brown's validation documents, sentences packed within each document,
// masks from the same fixed seed. More masked tokens, a smaller sampling error. Runs already scored are
// kept (the results file is merged into), so the suite can be run as checkpoints appear.
//
//   npm run bench -- nsp-heldout [--runs bert-nsp-seed0,bert-full-seed0,...] [--out runs/nsp] [--max-len 64]
// Results: bench/results/nsp-heldout.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BROWN_SPLIT } from '../../src/data/brown.js';
import { splitByKey } from '../../src/data/split.js';
import { loadTextDocuments } from '../../src/data/text.js';
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
    const validation = splitByKey(docs, (d) => d.id, BROWN_SPLIT).validation.map((d) => d.text);
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
    console.log(`wrote ${writeResults('nsp-heldout', { maxLen, maskSeed: MASK_SEED, threads: 1, rows, paired })}`);
  },
};

export default suite;
