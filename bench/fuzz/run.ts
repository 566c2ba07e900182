// `npm run fuzz -- [--cases N] [--seed S] [--timeout ms] [--workers W] [--from i] [--out file]`
//
// Runs fuzz cases (bench/fuzz/cases.ts) in worker threads and counts how each ended: success, a typed error
// (SimdformerError), an untyped error, a hang (no result within --timeout, default 10 s: the worker is ended and
// a new one takes the next case), a crash (the worker died), or a memory finding (the worker ran out of heap, or
// loading took more engine memory than twice the files' bytes). Writes bench/results/fuzz.json: the counts, by
// kind and by error class, the machine, and every finding with its case number (replay: --from i --cases 1).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { machine, RESULTS_DIR } from '../harness.js';
import { describeCase, type CaseResult } from './cases.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1' },
    from: { type: 'string', default: '0' },
    out: { type: 'string', default: join(RESULTS_DIR, 'fuzz.json') },
    'max-memory-mib': { type: 'string', default: '1024' },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const timeoutMs = Number(values.timeout);
const workers = Number(values.workers);
const from = Number(values.from);
const maxMemoryMiB = Number(values['max-memory-mib']);
const fixture = fileURLToPath(new URL('../../tests/fixtures/hf-tiny-random-gpt2', import.meta.url));

type Finding = { i: number; kind: 'untyped' | 'hang' | 'crash' | 'memory'; case?: string; detail: string };
const counts = { ok: 0, typed: 0, untyped: 0, hangs: 0, crashes: 0, memory: 0 };
const byKind: Record<string, Record<string, number>> = {};
const byError: Record<string, number> = {};
const findings: Finding[] = [];
let maxLoadRatio = 0;
let next = from;
const end = from + cases;
let done = 0;
const started = performance.now();

function record(r: CaseResult): void {
  done++;
  const k = (byKind[r.kind] ??= { ok: 0, typed: 0, untyped: 0, ms: 0, slowestMs: 0 });
  k[r.outcome] = (k[r.outcome] ?? 0) + 1;
  k.ms! += r.ms;
  k.slowestMs = Math.max(k.slowestMs!, Math.round(r.ms));
  counts[r.outcome]++;
  if (r.error) byError[r.error.name] = (byError[r.error.name] ?? 0) + 1;
  if (r.outcome === 'untyped')
    findings.push({
      i: r.i,
      kind: 'untyped',
      case: describeCase(r),
      detail: `${r.error!.name}: ${r.error!.message}\n${r.error!.stack ?? ''}`,
    });
  if (r.fileBytes > 0) {
    const ratio = r.loadBytes / r.fileBytes;
    maxLoadRatio = Math.max(maxLoadRatio, ratio);
    if (ratio > 2) {
      counts.memory++;
      findings.push({
        i: r.i,
        kind: 'memory',
        case: describeCase(r),
        detail: `loading held ${r.loadBytes} bytes for ${r.fileBytes} bytes of files`,
      });
    }
  }
  if (done % 1000 === 0) progress();
}

function progress(): void {
  const s = (performance.now() - started) / 1000;
  process.stderr.write(`${done}/${cases} cases in ${s.toFixed(0)} s: ${JSON.stringify(counts)}\n`);
}

/** One worker: takes the next case, watches it, and is replaced when it hangs or dies. */
function startWorker(): Promise<void> {
  return new Promise((resolve) => {
    const w = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: { seed, fixture, maxMemoryMiB },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    let current = -1;
    let since = 0;
    let finished = false;
    const finish = (restart: boolean) => {
      if (finished) return;
      finished = true;
      clearInterval(watch);
      if (restart) void startWorker().then(resolve);
      else resolve();
    };
    const give = () => {
      if (next >= end) {
        w.postMessage({ stop: true });
        return;
      }
      current = next++;
      since = performance.now();
      w.postMessage({ case: current });
    };
    const watch = setInterval(() => {
      if (current >= 0 && performance.now() - since > timeoutMs) {
        counts.hangs++;
        done++;
        findings.push({ i: current, kind: 'hang', detail: `no result after ${timeoutMs} ms` });
        current = -1;
        void w.terminate();
        finish(true);
      }
    }, 250);
    w.on('message', (m: CaseResult | { ready: true }) => {
      if ('ready' in m) return give();
      current = -1;
      record(m);
      give();
    });
    w.on('error', (e: Error & { code?: string }) => {
      if (current >= 0) {
        const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
        if (memory) counts.memory++;
        else counts.crashes++;
        done++;
        findings.push({ i: current, kind: memory ? 'memory' : 'crash', detail: `${e.name}: ${e.message}` });
        current = -1;
      } else {
        process.stderr.write(`worker failed outside a case: ${e.stack}\n`);
      }
      finish(next < end);
    });
    w.on('exit', () => finish(false));
  });
}

await Promise.all(Array.from({ length: workers }, () => startWorker()));
const seconds = (performance.now() - started) / 1000;
progress();
for (const k of Object.values(byKind)) k.ms = Math.round(k.ms!);
const result = {
  date: new Date().toISOString(),
  machine: machine(),
  seed,
  from,
  cases,
  timeoutMs,
  workers,
  maxMemoryMiB,
  seconds: Math.round(seconds),
  counts,
  byKind,
  byError,
  maxLoadBytesPerFileByte: Math.round(maxLoadRatio * 1000) / 1000,
  findings,
};
writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n');
process.stdout.write(
  `${cases} cases (seed ${seed}) in ${seconds.toFixed(0)} s: ${counts.ok} loaded and ran, ${counts.typed} typed errors, ` +
    `${counts.untyped} untyped, ${counts.hangs} hangs over ${timeoutMs / 1000} s, ${counts.crashes} crashes, ` +
    `${counts.memory} memory; loading held at most ${maxLoadRatio.toFixed(2)}× the files' bytes\n` +
    `errors: ${JSON.stringify(byError)}\n` +
    findings
      .slice(0, 20)
      .map((f) => `  ${f.kind} #${f.i}${f.case ? ` ${f.case}` : ''}\n    ${f.detail.split('\n').join('\n    ')}`)
      .join('\n') +
    `\nresults: ${values.out}\n`,
);
