// C (M×N) = A (M×K) · B (K×N), float32, for every engine in bench/engines/, each configuration in a
// fresh process. GFLOP/s = 2·M·K·N / seconds / 1e9 (seconds = median of one full call).
// The ratio column is simdformer at T threads / the best other engine using at most T threads; simdformer
// runs the tile it picks at start-up (engine.kernels) and, as variants, each tile pinned (MATMUL_TILES).
//
//   npm run bench -- matmul [--engines a,b] [--threads 1,2] [--shapes 256x256x256,512x768x3072] [--quick]
//                           [--plain-js-budget ms]
import { existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MATMUL_TILE_NAMES } from '../../src/runtime/kernels.js';
import type { EngineConfig, MatmulEngineModule } from '../engines/matmul-engine.js';
import { matmulIkj } from '../engines/plain-js.js';
import {
  answerParent,
  BENCH_DIR,
  childJob,
  machine,
  matmulGflops,
  maxRelativeError,
  printTable,
  randomMatrix,
  runInChild,
  type Suite,
  timeCall,
  type Timing,
  type TimingOptions,
  writeResults,
} from '../harness.js';

type Shape = readonly [M: number, K: number, N: number];

/** Every engine, in table order; a missing file (simdformer until it lands) is reported, not fatal. */
const ENGINES = ['plain-js', 'onnxruntime-web', 'tfjs-wasm', 'simdformer'] as const;
const OURS = 'simdformer';
const SHAPES: readonly Shape[] = [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [512, 768, 768], // BERT-base attention projection, 512 tokens
  [512, 768, 3072], // feed-forward up
  [512, 3072, 768], // feed-forward down
];
/** Checked against plain JS once per process: ragged in every dimension (not a multiple of 4, 8, 16). */
const CHECK_SHAPE: Shape = [67, 131, 45];
const CHECK_TOLERANCE = 1e-4; // max|C − ref| / max|ref|; float32 sums of 131 terms stay near 1e-6
const SEED = 20241128;
/** plain-js: a shape whose call is estimated (from the slowest rate so far) above this is skipped. */
const PLAIN_JS_BUDGET_MS = 2500;

interface Job {
  engine: string;
  config: EngineConfig;
  shapes: Shape[];
  timing: TimingOptions;
  plainJsBudgetMs: number;
}

interface Row {
  engine: string;
  variant?: string;
  threads: number;
  M: number;
  K: number;
  N: number;
  setupMs?: number;
  timing?: Timing;
  gflops?: number;
  /** Process CPU time / wall time while timing: ≈ threads busy (spinning counts); below = waiting or descheduled. */
  cpuPerWall?: number;
  /** 1-minute load average after the row: above the core count, other work competed for the cores. */
  load1?: number;
  skipped?: string;
}

interface Answer {
  engine: string;
  variant?: string;
  threads: number;
  note?: string;
  check: { shape: Shape; maxRelErr: number; ok: boolean };
  rows: Row[];
}

function enginePath(name: string): string {
  return join(BENCH_DIR, 'engines', `${name}.ts`);
}

async function loadEngine(name: string): Promise<MatmulEngineModule> {
  return ((await import(pathToFileURL(enginePath(name)).href)) as { default: MatmulEngineModule }).default;
}

function seedsFor([M, K, N]: Shape): [number, number] {
  return [SEED + M * 7 + K * 13 + N * 17, SEED + M * 19 + K * 23 + N * 29 + 1];
}

// ---------------------------------------------------------------------------------------------
// Child: one engine configuration

async function runJob(job: Job): Promise<Answer> {
  const mod = await loadEngine(job.engine);
  const engine = await mod.create(job.config);
  const label = `${engine.name}${job.config.variant ? ` (${job.config.variant})` : ''} ×${engine.threads}`;

  const [cM, cK, cN] = CHECK_SHAPE;
  const [sa, sb] = seedsFor(CHECK_SHAPE);
  const ca = randomMatrix(cM, cK, sa);
  const cb = randomMatrix(cK, cN, sb);
  const ref = new Float32Array(cM * cN);
  matmulIkj(ref, ca, cb, cM, cK, cN);
  const checked = await engine.setup(cM, cK, cN, ca, cb);
  await checked.run();
  await checked.run(); // twice: a second call must not accumulate into the first
  const maxRelErr = maxRelativeError(await checked.output(), ref);
  await checked.release();
  const ok = maxRelErr <= CHECK_TOLERANCE;
  console.log(`  ${label}: check ${cM}×${cK}×${cN} max rel err ${maxRelErr.toExponential(2)} ${ok ? 'ok' : 'FAILED'}`);
  const answer: Answer = {
    engine: engine.name,
    variant: job.config.variant,
    threads: engine.threads,
    note: engine.note,
    check: { shape: CHECK_SHAPE, maxRelErr, ok },
    rows: [],
  };
  if (!ok) {
    await engine.dispose();
    return answer;
  }

  let msPerFlop: number | undefined; // from the largest shape measured so far (plain-js budget)
  for (const shape of job.shapes) {
    const [M, K, N] = shape;
    const row: Row = { engine: engine.name, variant: job.config.variant, threads: engine.threads, M, K, N };
    answer.rows.push(row);
    const flops = 2 * M * K * N;
    if (engine.name === 'plain-js' && msPerFlop !== undefined && msPerFlop * flops > job.plainJsBudgetMs) {
      row.skipped = `estimated ${((msPerFlop * flops) / 1e3).toFixed(1)} s per call > ${job.plainJsBudgetMs / 1e3} s budget (--plain-js-budget)`;
      console.log(`  ${label} ${M}×${K}×${N}: skipped, ${row.skipped}`);
      continue;
    }
    const [seedA, seedB] = seedsFor(shape);
    const a = randomMatrix(M, K, seedA);
    const b = randomMatrix(K, N, seedB);
    const t0 = performance.now();
    const prepared = await engine.setup(M, K, N, a, b);
    row.setupMs = performance.now() - t0;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    row.timing = await timeCall(`${label} ${M}×${K}×${N}`, () => prepared.run(), job.timing);
    const cpu = process.cpuUsage(cpu0);
    row.cpuPerWall = (cpu.user + cpu.system) / 1e3 / (performance.now() - wall0);
    row.load1 = os.loadavg()[0];
    row.gflops = matmulGflops(M, K, N, row.timing.medianMs);
    await prepared.release();
    msPerFlop = Math.max(msPerFlop ?? 0, row.timing.medianMs / flops);
    console.log(
      `  ${label} ${M}×${K}×${N}: ${row.timing.medianMs.toFixed(2)} ms, ${row.gflops.toFixed(2)} GFLOP/s (${row.timing.method}, ${row.timing.runs} runs, cpu/wall ${row.cpuPerWall.toFixed(2)}, load ${row.load1.toFixed(2)})`,
    );
  }
  await engine.dispose();
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Parent: every engine configuration, then the tables

function parseShape(s: string): Shape {
  const dims = s.split('x').map(Number);
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0))
    throw new RangeError(`bad shape "${s}", expected MxKxN`);
  return [dims[0], dims[1], dims[2]];
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      engines: { type: 'string' },
      threads: { type: 'string' },
      shapes: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'plain-js-budget': { type: 'string', default: String(PLAIN_JS_BUDGET_MS) },
    },
  });
  const wanted = values.engines?.split(',') ?? [...ENGINES];
  const threadFilter = values.threads?.split(',').map(Number);
  const shapes = values.shapes?.split(',').map(parseShape) ?? [...SHAPES];
  const timing: TimingOptions = values.quick ? { warmupMs: 150, targetMs: 500, maxRuns: 5 } : {};
  const m = machine();
  console.log(`matmul: ${m.cpu}, ${m.cores} logical cores, Node ${m.node}, load average ${m.loadavg.join(' ')}`);
  console.log('GFLOP/s = 2·M·K·N / seconds / 1e9, seconds = median of one full call (inputs in, C out)');

  const absent: string[] = [];
  const jobs: Job[] = [];
  for (const name of wanted) {
    if (!existsSync(enginePath(name))) {
      absent.push(name);
      console.log(`engine ${name}: bench/engines/${name}.ts not found, not measured`);
      continue;
    }
    const mod = await loadEngine(name);
    for (const config of mod.configs(m.cores)) {
      if (threadFilter && !threadFilter.includes(config.threads)) continue;
      jobs.push({ engine: name, config, shapes, timing, plainJsBudgetMs: Number(values['plain-js-budget']) });
    }
  }

  const answers: Answer[] = [];
  const failures: { engine: string; config: EngineConfig; error: string }[] = [];
  for (const job of jobs) {
    console.log(
      `${job.engine}${job.config.variant ? ` (${job.config.variant})` : ''}, ${job.config.threads} thread(s):`,
    );
    try {
      answers.push(await runInChild<Answer>('matmul', job));
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      failures.push({ engine: job.engine, config: job.config, error });
      console.log(`  FAILED: ${error.split('\n')[0]}`);
    }
  }

  const rows = answers.flatMap((a) => a.rows);
  console.log('\nEngines:');
  for (const a of answers) {
    const check = `check ${a.check.maxRelErr.toExponential(1)}${a.check.ok ? '' : ' FAILED, not timed'}`;
    console.log(`  ${a.engine}${a.variant ? ` (${a.variant})` : ''} ×${a.threads}: ${a.note ?? ''} [${check}]`);
  }
  console.log('');
  printTable(rows, [
    { title: 'engine', value: (r) => r.engine + (r.variant ? ` (${r.variant})` : '') },
    { title: 'threads', value: (r) => String(r.threads) },
    { title: 'M×K×N', value: (r) => `${r.M}×${r.K}×${r.N}` },
    { title: 'median ms', value: (r) => r.timing?.medianMs },
    { title: 'min ms', value: (r) => r.timing?.minMs },
    { title: 'GFLOP/s', value: (r) => r.gflops },
    { title: 'cpu/wall', value: (r) => r.cpuPerWall },
    { title: 'load', value: (r) => r.load1 },
    { title: 'timing', value: (r) => (r.timing ? `${r.timing.method} ×${r.timing.runs}` : (r.skipped ?? '')) },
  ]);

  const threadCounts = [...new Set(rows.map((r) => r.threads))].sort((x, y) => x - y);
  const ratios = shapes.flatMap(([M, K, N]) =>
    threadCounts.map((threads) => {
      const here = rows.filter((r) => r.M === M && r.K === K && r.N === N && r.gflops !== undefined);
      const ours = here.find((r) => r.engine === OURS && !r.variant && r.threads === threads);
      const relaxed = here.find((r) => r.engine === OURS && r.variant === 'relaxed' && r.threads === threads);
      // The best other engine a user could run with at most this many threads.
      const others = here
        .filter((r) => r.engine !== OURS && r.threads <= threads)
        .sort((x, y) => y.gflops! - x.gflops!);
      const best = others[0];
      return {
        M,
        K,
        N,
        threads,
        simdformer: ours?.gflops,
        relaxed: relaxed?.gflops,
        bestOther: best ? `${best.engine}${best.variant ? ` (${best.variant})` : ''} ×${best.threads}` : undefined,
        bestOtherGflops: best?.gflops,
        ratio: ours && best ? ours.gflops! / best.gflops! : undefined,
        relaxedRatio: relaxed && best ? relaxed.gflops! / best.gflops! : undefined,
        tiles: Object.fromEntries(
          MATMUL_TILE_NAMES.map((t) => {
            const r = here.find((x) => x.engine === OURS && x.variant === t && x.threads === threads);
            return [t, r && best ? r.gflops! / best.gflops! : undefined];
          }),
        ) as Record<string, number | undefined>,
      };
    }),
  );
  console.log(
    `\nsimdformer at T threads / best other engine with at most T threads${absent.includes(OURS) ? ' (simdformer absent: bench/engines/simdformer.ts not found)' : ''}:`,
  );
  printTable(ratios, [
    { title: 'M×K×N', value: (r) => `${r.M}×${r.K}×${r.N}` },
    { title: 'T', value: (r) => String(r.threads) },
    { title: 'simdformer GFLOP/s', value: (r) => r.simdformer },
    { title: 'best other', value: (r) => r.bestOther },
    { title: 'its GFLOP/s', value: (r) => r.bestOtherGflops },
    { title: 'ratio', value: (r) => r.ratio },
    { title: 'relaxed GFLOP/s', value: (r) => r.relaxed },
    { title: 'relaxed ratio', value: (r) => r.relaxedRatio },
    ...MATMUL_TILE_NAMES.map((t) => ({ title: `${t} ratio`, value: (r: (typeof ratios)[number]) => r.tiles[t] })),
  ]);
  for (const f of failures) console.log(`FAILED ${f.engine} ${JSON.stringify(f.config)}: ${f.error.split('\n')[0]}`);
  for (const a of answers)
    if (!a.check.ok) console.log(`FAILED check: ${a.engine} ×${a.threads}, max rel err ${a.check.maxRelErr}`);

  const path = writeResults('matmul', {
    formula: 'GFLOP/s = 2·M·K·N / seconds / 1e9; seconds = median wall time of one full call',
    seed: SEED,
    check: { shape: CHECK_SHAPE, tolerance: CHECK_TOLERANCE, metric: 'max|C − ref| / max|ref|, ref = plain-js' },
    threadCounts,
    absent,
    engines: answers.map(({ rows: _rows, ...a }) => a),
    rows,
    ratios,
    failures,
  });
  console.log(`\nwrote ${path}`);
  if (failures.length > 0 || answers.some((a) => !a.check.ok)) process.exitCode = 1;
}

const suite: Suite = {
  description: 'C = A·B, float32: plain JS, onnxruntime-web, tfjs-wasm, simdformer; 1 and all threads',
  kernels: [
    'pack_a_f32',
    'pack_b_f32',
    'matmul_f32',
    'matmul_f32__4x8s',
    'pack_a_f32__4p',
    'matmul_f32__4x8p',
    'pack_a_f32__2',
    'pack_b_f32__16',
    'matmul_f32__2x16',
    'pack_a_f32__2p',
    'matmul_f32__2x16p',
    'pack_a_f32__3',
    'pack_b_f32__12',
    'matmul_f32__3x12',
  ],
  async run(args) {
    const job = childJob<Job>(args);
    if (job !== undefined) await answerParent(() => runJob(job));
    else await main(args);
  },
};

export default suite;
