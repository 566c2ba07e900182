// The reference GPT (bench/engines/simdformer-gpt.ts: 4 layers, d_model 128, 4 heads, FFN 512, context
// 128, 256 byte ids, batch 8, AdamW) trained and run by simdformer and by TensorFlow.js on its wasm
// backend, each configuration in a fresh process, at 1 and all threads.
//   training tokens/s   = 8·128 / median step (forward + backward + AdamW)
//   generation tokens/s = 128 new tokens / (16-token prompt + 128 greedy steps)
// PyTorch 1.13 trains the same model in the same run (bench/engines/torch-gpt.py: steps back to back after 3
// warm-up steps, as simdformer's are timed; OPENBLAS_NUM_THREADS = threads), skipped with a message where torch
// is absent. Generation against PyTorch (from the issue, not re-measured here): greedy with a KV cache ≈ 890
// tokens/s on one thread (≈ 1,860 for the cached step alone).
//
//   npm run bench -- gpt [--threads 1,2] [--engines simdformer,simdformer-relaxed,tfjs,pytorch]
import { existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REFERENCE } from '../engines/reference-gpt.js';
import { timeTorchGpt, torchPython } from '../engines/torch-gpt.js';
import { answerParent, BENCH_DIR, childJob, printTable, runInChild, type Suite, writeResults } from '../harness.js';

interface Job {
  engine: string;
  threads: number;
}

interface Row {
  engine: string;
  threads: number;
  trainTokensPerSecond: number;
  generateTokensPerSecond?: number;
  cachedStepTokensPerSecond?: number;
  initialLoss: number;
  finalLoss: number;
  note?: string;
}

const PYTORCH = { generateTokensPerSecond1: 890, cachedStep1: 1_860 };

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
  const engines = (values.engines ?? `simdformer,simdformer-relaxed${tfjsPresent ? ',tfjs' : ''},pytorch`).split(',');
  const rows: Row[] = [];
  const py = engines.includes('pytorch') ? torchPython() : undefined;
  if (py && 'error' in py) console.log(`PyTorch skipped: ${py.error}`);
  for (const engine of engines) {
    for (const t of threads) {
      if (engine === 'pytorch') {
        if (!py || 'error' in py) continue;
        const r = REFERENCE;
        const shape = { layers: r.layers, d: r.dModel, heads: r.heads, ffn: r.ffn, context: r.context, vocab: r.vocab };
        const m = timeTorchGpt(py, t, { ...shape, batch: r.batch });
        const [initialLoss, finalLoss] = [m.losses[0]!, m.losses[m.losses.length - 1]!];
        rows.push({
          engine: `pytorch ${m.torch}`,
          threads: t,
          trainTokensPerSecond: m.tokensPerSecond,
          initialLoss,
          finalLoss,
        });
        continue;
      }
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
    { title: 'generate tok/s', value: (r) => (r.generateTokensPerSecond ? Math.round(r.generateTokensPerSecond) : '') },
    {
      title: 'cached step tok/s',
      value: (r) => (r.cachedStepTokensPerSecond ? Math.round(r.cachedStepTokensPerSecond) : ''),
    },
    { title: 'loss first→last', value: (r) => `${r.initialLoss.toFixed(3)}→${r.finalLoss.toFixed(3)}` },
  ]);
  const ours = rows.filter((r) => r.engine === 'simdformer');
  const tf = rows.filter((r) => r.engine === 'tfjs-wasm');
  const torch = rows.filter((r) => r.engine.startsWith('pytorch'));
  const bestTorch = Math.max(...torch.map((r) => r.trainTokensPerSecond));
  const ratios = ours.map((r) => {
    const other = tf.find((x) => x.threads === r.threads);
    const pt = torch.find((x) => x.threads === r.threads);
    return {
      threads: r.threads,
      trainVsPyTorch: pt ? r.trainTokensPerSecond / pt.trainTokensPerSecond : undefined,
      trainVsPyTorchBest: torch.length ? r.trainTokensPerSecond / bestTorch : undefined,
      generateVsPyTorch1Thread: r.generateTokensPerSecond! / PYTORCH.generateTokensPerSecond1,
      trainVsTfjs: other ? r.trainTokensPerSecond / other.trainTokensPerSecond : undefined,
      generateVsTfjs: other ? r.generateTokensPerSecond! / other.generateTokensPerSecond! : undefined,
    };
  });
  console.log(
    "\nsimdformer / other (training: PyTorch at the same threads and at its best, measured above; generation: the issue's one-thread PyTorch figure):",
  );
  printTable(ratios, [
    { title: 'threads', value: (r) => r.threads },
    { title: 'train / PyTorch', value: (r) => r.trainVsPyTorch?.toFixed(2) },
    { title: 'train / PyTorch best', value: (r) => r.trainVsPyTorchBest?.toFixed(2) },
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
