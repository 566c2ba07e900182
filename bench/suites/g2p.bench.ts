// Grapheme-to-phoneme speed, each thread count in its own process:
//   - training tokens/s: the README's G2P model (BART, d 128, 3 + 3 layers, 4 heads, FFN 512) on real
//     CMUdict batches of 64 words (length-bucketed as in training); tokens = source + target tokens of
//     the batch (padding excluded) / median step (forward + backward + AdamW);
//   - beam-search words/s: 512 test words, 64 per batch, beam 5, with the checkpoint given by --from
//     (the README's trained model: an untrained one rarely ends its words, so each runs to 48 tokens);
//     greedy likewise, for the ratio.
//   npm run bench -- g2p [--threads 1,2] [--simd plain,relaxed] [--from runs/g2p-bart]
// The training step is the recipe's: AdamW and the moving average of the weights (EMA 0.999).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { cmudictDataset } from '../../src/data/cmudict.js';
import { encodeG2p, g2pTokenizer } from '../../src/recipes/g2p-data.js';
import { Rng } from '../../src/rng.js';
import { parseConfig } from '../../src/io/config.js';
import { type BartConfig } from '../../src/io/hf/index.js';
import { Bart } from '../../src/models/bart.js';
import { asSeq2Seq, loadModel } from '../../src/models/load.js';
import type { EncoderDecoder } from '../../src/models/seq2seq.js';
import { Engine, type Simd } from '../../src/tensor/engine.js';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { evaluateG2p } from '../../src/recipes/g2p.js';
import { Trainer } from '../../src/train/trainer.js';
import { answerParent, childJob, median, printTable, runInChild, type Suite, writeResults } from '../harness.js';

interface Row {
  threads: number;
  simd: Simd;
  trainTokensPerSecond: number;
  beamWordsPerSecond: number;
  greedyWordsPerSecond: number;
  beamWer?: number;
}

async function measure(threads: number, simd: Simd, from?: string): Promise<Row> {
  const data = cmudictDataset();
  const engine = await Engine.create({ threads, simd });
  const tokenizer = Tokenizer.fromJson(g2pTokenizer(data.train));
  const cfg = parseConfig({
    model_type: 'bart',
    vocab_size: tokenizer.vocabSize,
    d_model: 128,
    max_position_embeddings: 64,
    encoder_layers: 3,
    decoder_layers: 3,
    encoder_attention_heads: 4,
    decoder_attention_heads: 4,
    encoder_ffn_dim: 512,
    decoder_ffn_dim: 512,
    dropout: 0.1,
    pad_token_id: 0,
    eos_token_id: 1,
    bos_token_id: null,
    decoder_start_token_id: 0,
  }) as BartConfig;
  const model = new Bart(engine, cfg, 0);
  model.tokenizer = tokenizer;
  const rng = new Rng(1);
  // 12 batches of 64 words of similar length, as training forms them (a pool sorted by length, cut, shuffled)
  const pool = rng
    .shuffle([...data.train])
    .slice(0, 64 * 12)
    .map((e) => encodeG2p(tokenizer, e, 1))
    .sort((a, b) => a.source.length - b.source.length);
  const batches = rng.shuffle(Array.from({ length: 12 }, (_, i) => pool.slice(i * 64, (i + 1) * 64)));
  const trainer = new Trainer(model, { lr: 1e-3, totalSteps: 100, warmup: 10, ema: 0.999 });
  model.train(true);
  const rates: number[] = [];
  for (let s = 0; s < 12; s++) {
    const chunk = batches[s]!;
    const b = model.batch(chunk);
    const tokens = chunk.reduce((n, p) => n + p.source.length + p.target.length, 0);
    const t0 = performance.now();
    trainer.step(b);
    if (s >= 2) rates.push(tokens / ((performance.now() - t0) / 1000));
  }
  model.train(false);
  let decoder: EncoderDecoder = model;
  if (from) decoder = asSeq2Seq(await loadModel(engine, from));
  const words = data.test.slice(0, 600);
  const limit = 512;
  const beam = evaluateG2p(decoder, words, { beams: 5, limit });
  const greedy = evaluateG2p(decoder, words, { beams: 1, limit });
  await engine.dispose();
  return {
    threads,
    simd: engine.simd,
    trainTokensPerSecond: median(rates),
    beamWordsPerSecond: beam.words / beam.seconds,
    greedyWordsPerSecond: greedy.words / greedy.seconds,
    beamWer: from ? beam.wer : undefined,
  };
}

const suite: Suite = {
  description: 'G2P (BART d128, 3+3 layers): training tokens/s and beam-search words/s at 1 and all threads',
  async run(args) {
    const job = childJob<{ threads: number; simd: Simd; from?: string }>(args);
    if (job) return answerParent(() => measure(job.threads, job.simd, job.from));
    const { values } = parseArgs({
      args,
      options: { threads: { type: 'string' }, simd: { type: 'string' }, from: { type: 'string' } },
      strict: true,
    });
    const rows: Row[] = [];
    for (const simd of (values.simd ?? 'plain').split(',') as Simd[]) {
      for (const t of (values.threads ?? `1,${os.availableParallelism()}`).split(',').map(Number))
        rows.push(await runInChild<Row>('g2p', { threads: t, simd, from: values.from }));
    }
    printTable(rows, [
      { title: 'threads', value: (r) => r.threads, digits: 0 },
      { title: 'simd', value: (r) => r.simd },
      { title: 'training tokens/s', value: (r) => r.trainTokensPerSecond, digits: 0 },
      { title: 'beam-5 words/s', value: (r) => r.beamWordsPerSecond, digits: 0 },
      { title: 'greedy words/s', value: (r) => r.greedyWordsPerSecond, digits: 0 },
    ]);
    const decoding = values.from
      ? `the trained checkpoint ${values.from}`
      : 'the untrained model (words run to 48 tokens: pass --from)';
    console.log(
      `wrote ${writeResults('g2p', { model: 'BART d128, 3+3 layers, 4 heads, FFN 512; batches of 64 words; beam 5 over 512 test words, 64 per batch', decoding, rows })}`,
    );
  },
};

export default suite;
