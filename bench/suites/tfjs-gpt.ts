// Suite helper for the train and generate suites: the TF.js-wasm side of them (the reference GPT in
// bench/engines/tfjs-gpt.ts), each thread count in a fresh child process, because TF.js fixes its
// thread count when its wasm backend starts. Not a suite itself (no .bench.ts suffix).
//
//   // in bench/suites/train.bench.ts (the same in generate.bench.ts, with its own suite name):
//   async run(args) {
//     const job = tfjsGptChildJob(args);
//     if (job !== undefined) return answerTfjsGpt(job);            // child side: never returns
//     const rows = await measureTfjsGptInChildren('train', [1, 2], { steps: 10 });
//     ...
//   }
//
// The engine module (and with it TF.js) is imported in the child only.
import { answerParent, childJob, runInChild } from '../harness.js';
import type { TfjsGptOptions, TfjsGptResult } from '../engines/tfjs-gpt.js';

export type { TfjsGptOptions, TfjsGptResult } from '../engines/tfjs-gpt.js';

export interface TfjsGptJob {
  kind: 'tfjs-gpt';
  threads: number;
  opts: TfjsGptOptions;
}

/** The tfjs-gpt job this process was started for (by `measureTfjsGptInChild`), or undefined. */
export function tfjsGptChildJob(args: readonly string[]): TfjsGptJob | undefined {
  const job = childJob<{ kind?: unknown }>(args);
  return job !== undefined && job.kind === 'tfjs-gpt' ? (job as TfjsGptJob) : undefined;
}

/** Child side: measures, sends the result to the parent, exits. */
export function answerTfjsGpt(job: TfjsGptJob): Promise<never> {
  return answerParent(async () => {
    const { measureTfjsGpt } = await import('../engines/tfjs-gpt.js');
    return measureTfjsGpt(job.threads, job.opts);
  });
}

/** Parent side: `measureTfjsGpt(threads, opts)` in a fresh `run.ts <suite> --child …` process. */
export function measureTfjsGptInChild(
  suite: string,
  threads: number,
  opts: TfjsGptOptions = {},
): Promise<TfjsGptResult> {
  const job: TfjsGptJob = { kind: 'tfjs-gpt', threads, opts };
  return runInChild<TfjsGptResult>(suite, job);
}

/** One child per thread count, one after another (never side by side: they would share the cores). */
export async function measureTfjsGptInChildren(
  suite: string,
  threadCounts: readonly number[],
  opts: TfjsGptOptions = {},
): Promise<TfjsGptResult[]> {
  const out: TfjsGptResult[] = [];
  for (const threads of threadCounts) out.push(await measureTfjsGptInChild(suite, threads, opts));
  return out;
}
