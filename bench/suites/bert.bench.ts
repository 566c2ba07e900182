// BERT pre-training speed (MLM + NSP): a small BERT (4 layers, hidden 128, 4 heads, FFN 512, WordPiece
// vocabulary 8,000, sequences of 128, batch 16, 15 % masked) on seeded random batches, each thread
// count in its own process. tokens/s = 16·128 / median step (forward + backward + AdamW).
//   npm run bench -- bert [--threads 1,2]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Rng } from '../../src/rng.js';
import { parseConfig } from '../../src/io/config.js';
import { type BertConfig } from '../../src/io/hf/index.js';
import { Bert, type BertBatch } from '../../src/models/bert.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { answerParent, childJob, median, printTable, runInChild, type Suite, writeResults } from '../harness.js';

const B = 16;
const T = 128;
const V = 8000;

function batch(step: number): BertBatch {
  const rng = new Rng(step);
  const inputIds = Int32Array.from({ length: B * T }, () => 5 + rng.int(V - 5));
  const labels = new Int32Array(B * T).fill(-100);
  for (let i = 0; i < B * T; i++) if (rng.float() < 0.15) labels[i] = inputIds[i]!;
  const tokenTypeIds = Int32Array.from({ length: B * T }, (_, i) => (i % T < T / 2 ? 0 : 1));
  return { inputIds, tokenTypeIds, labels, nextSentenceLabel: Int32Array.from({ length: B }, () => rng.int(2)), B, T };
}

async function measure(threads: number) {
  const engine = await Engine.create({ threads });
  const config = parseConfig({
    model_type: 'bert',
    architectures: ['BertForPreTraining'],
    vocab_size: V,
    hidden_size: 128,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    intermediate_size: 512,
    max_position_embeddings: T,
    hidden_dropout_prob: 0.1,
  }) as BertConfig;
  const model = new Bert(engine, config, 0);
  const trainer = new Trainer(model, { lr: 1e-4, totalSteps: 100 });
  const times: number[] = [];
  for (let s = 0; s < 10; s++) {
    const t0 = performance.now();
    trainer.step(batch(s));
    if (s >= 2) times.push(performance.now() - t0);
  }
  await engine.dispose();
  return { threads, tokensPerSecond: (B * T) / (median(times) / 1000) };
}

const suite: Suite = {
  description: 'BERT pre-training (MLM + NSP) tokens/s at 1 and all threads',
  async run(args) {
    const job = childJob<{ threads: number }>(args);
    if (job) return answerParent(() => measure(job.threads));
    const { values } = parseArgs({ args, options: { threads: { type: 'string' } }, strict: true });
    const rows = [];
    for (const t of (values.threads ?? `1,${os.availableParallelism()}`).split(',').map(Number))
      rows.push(await runInChild<{ threads: number; tokensPerSecond: number }>('bert', { threads: t }));
    printTable(rows, [
      { title: 'threads', value: (r) => r.threads, digits: 0 },
      { title: 'pre-training tokens/s', value: (r) => r.tokensPerSecond, digits: 0 },
    ]);
    console.log(
      `wrote ${writeResults('bert', { model: '4 layers, hidden 128, 4 heads, FFN 512, vocabulary 8,000, T 128, batch 16', rows })}`,
    );
  },
};

export default suite;
