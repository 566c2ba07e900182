// The reference GPT (bench/engines/simdformer-gpt.ts: 4 layers, d_model 128, 4 heads, FFN 512, context
// 128, 256 byte ids, batch 8, AdamW) trained and run by simdformer and by TensorFlow.js on its wasm
// backend, each configuration in a fresh process, at 1 and all threads.
//   training tokens/s   = 8·128 / median step (forward + backward + AdamW)
//   generation tokens/s = 128 new tokens / (16-token prompt + 128 greedy steps)
// PyTorch 1.13 reference on this kind of machine (from the issue, not re-measured here): training
// ≈ 10,800 tokens/s on one thread; greedy generation with a KV cache ≈ 890 tokens/s (≈ 1,860 for the
// cached step alone).
//
//   npm run bench -- gpt [--threads 1,2] [--engines simdformer,simdformer-relaxed,tfjs]
import { existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { answerParent, BENCH_DIR, childJob, printTable, runInChild, type Suite, writeResults } from '../harness.js';

interface Job {
  engine: string;
  threads: number;
}

interface Row {
  engine: string;
  threads: number;
  trainTokensPerSecond: number;
  generateTokensPerSecond: number;
  cachedStepTokensPerSecond?: number;
  initialLoss: number;
  finalLoss: number;
  note?: string;
}

const PYTORCH = { trainTokensPerSecond1: 10_800, generateTokensPerSecond1: 890, cachedStep1: 1_860 };

async function runJob(job: Job): Promise<Row> {
  if (job.engine === 'tfjs') {
    // written by the TF.js side (bench/engines/tfjs-gpt.ts); loaded by path, as it may be absent
    const path = '../engines/tfjs-gpt.js';
    const { measureTfjsGpt } = (await import(path)) as {
      measureTfjsGpt(threads: number, opts: object): Promise<Omit<Row, 'engine' | 'threads'>>;
    };
    const r = await measureTfjsGpt(job.threads, {});
    return { engine: 'tfjs-wasm', threads: job.threads, ...r };
  }
  const { measureSimdformerGpt } = await import('../engines/simdformer-gpt.js');
  const r = await measureSimdformerGpt(job.threads, job.engine === 'simdformer-relaxed' ? 'relaxed' : 'plain');
  return { engine: job.engine, ...r };
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { threads: { type: 'string' }, engines: { type: 'string' } },
    strict: true,
  });
  const threads = (values.threads ?? `1,${os.availableParallelism()}`).split(',').map(Number);
  const tfjsPresent = existsSync(join(BENCH_DIR, 'engines', 'tfjs-gpt.ts'));
  const engines = (values.engines ?? `simdformer,simdformer-relaxed${tfjsPresent ? ',tfjs' : ''}`).split(',');
  const rows: Row[] = [];
  for (const engine of engines) {
    for (const t of threads) {
      try {
        rows.push(await runInChild<Row>('gpt', { engine, threads: t } satisfies Job));
      } catch (err) {
        console.error(`${engine} ×${t} failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  printTable(rows, [
    { title: 'engine', value: (r) => r.engine },
    { title: 'threads', value: (r) => r.threads },
    { title: 'train tok/s', value: (r) => Math.round(r.trainTokensPerSecond) },
    { title: 'generate tok/s', value: (r) => Math.round(r.generateTokensPerSecond) },
    {
      title: 'cached step tok/s',
      value: (r) => (r.cachedStepTokensPerSecond ? Math.round(r.cachedStepTokensPerSecond) : ''),
    },
    { title: 'loss first→last', value: (r) => `${r.initialLoss.toFixed(3)}→${r.finalLoss.toFixed(3)}` },
  ]);
  const ours = rows.filter((r) => r.engine === 'simdformer');
  const tf = rows.filter((r) => r.engine === 'tfjs-wasm');
  const ratios = ours.map((r) => {
    const other = tf.find((x) => x.threads === r.threads);
    return {
      threads: r.threads,
      trainVsPyTorch1Thread: r.trainTokensPerSecond / PYTORCH.trainTokensPerSecond1,
      generateVsPyTorch1Thread: r.generateTokensPerSecond / PYTORCH.generateTokensPerSecond1,
      trainVsTfjs: other ? r.trainTokensPerSecond / other.trainTokensPerSecond : undefined,
      generateVsTfjs: other ? r.generateTokensPerSecond / other.generateTokensPerSecond : undefined,
    };
  });
  console.log("\nsimdformer / other (PyTorch: the issue's one-thread figures, not measured here):");
  printTable(ratios, [
    { title: 'threads', value: (r) => r.threads },
    { title: 'train / PyTorch ×1', value: (r) => r.trainVsPyTorch1Thread.toFixed(2) },
    { title: 'generate / PyTorch ×1', value: (r) => r.generateVsPyTorch1Thread.toFixed(2) },
    { title: 'train / tfjs', value: (r) => (r.trainVsTfjs ? r.trainVsTfjs.toFixed(1) : '') },
    { title: 'generate / tfjs', value: (r) => (r.generateVsTfjs ? r.generateVsTfjs.toFixed(1) : '') },
  ]);
  console.log(`wrote ${writeResults('gpt', { pytorchReference: PYTORCH, rows, ratios })}`);
}

const suite: Suite = {
  description: 'reference GPT: training and greedy-generation tokens/s, simdformer vs TensorFlow.js (wasm)',
  async run(args) {
    const job = childJob<Job>(args);
    if (job !== undefined) await answerParent(() => runJob(job));
    else await main(args);
  },
};

export default suite;
