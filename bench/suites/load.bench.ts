// Loading a real-size checkpoint: GPT-2 small (124 M parameters) with random weights, written in
// Hugging Face's layout (config.json + model.safetensors, names as the hub's gpt2 file has them) as float32
// (498 MB), float16 and bfloat16 (249 MB) into a temp folder. Each measurement runs in a fresh child process:
//   read    the file's bytes through a FileHandle in 64 MiB reads into one buffer: the floor for any loader
//   readFile  fs.readFile: the file whole in a new buffer (its pages touched once, as a loader's memory is)
//   stream  loadModel(engine, dir): headers, model without initialisation, tensors streamed into engine memory
//           (halves converted by convert_f16_f32 / convert_bf16_f32 from a 4 MiB staging block)
//   whole   the previous loader: readCheckpoint (the file whole, float16 converted whole) + modelFromCheckpoint
// Time: wall time of the call and the process's CPU time (all threads, user + system: steadier on a busy
// machine), median of `--reps` children; the page cache is warm (`read` runs first).
// Memory: the process's peak RSS (resourceUsage().maxRSS) minus its RSS just before the call, against the
// float32 weights' bytes (4 · 124,439,808 = 498 MB): the engine's own copy of the weights is 1.0 of it.
// Run: npm run bench -- load [--reps 3] [--threads 2] [--dtypes F32,F16,BF16] [--modes readFile,stream,whole] [--keep]
// (writes bench/results/load.json; `read` always runs, first)
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCheckpointFiles } from '../../src/io/node.js';
import { loadModel, modelFromCheckpoint } from '../../src/models/load.js';
import { Engine } from '../../src/tensor/engine.js';
import {
  answerParent,
  childJob,
  machine,
  median,
  printTable,
  runInChild,
  writeResults,
  type Suite,
} from '../harness.js';

type Mode = 'read' | 'readFile' | 'stream' | 'whole';
type Dtype = 'F32' | 'F16' | 'BF16';
interface Job {
  dir: string;
  mode: Mode;
  threads: number;
}
interface Measured {
  ms: number;
  /** CPU time of the process (every thread: user + system), ms: steadier than wall time on a busy machine. */
  cpuMs: number;
  /** Peak RSS during the call minus RSS before it, bytes. */
  peakExtra: number;
  rssBefore: number;
}
interface Row {
  dtype: Dtype;
  mode: Mode;
  fileMB: number;
  ms: number;
  vsRead: number;
  cpuMs: number;
  cpuVsRead: number;
  peakExtraMB: number;
  vsWeights: number;
}

const GPT2 = { vocab: 50257, positions: 1024, C: 768, layers: 12, F: 3072 };

/** GPT-2 small's tensors as the hub's gpt2 model.safetensors names them (no `transformer.` prefix). */
function gpt2Tensors(): { name: string; shape: number[] }[] {
  const { vocab, positions, C, layers, F } = GPT2;
  const out = [
    { name: 'wte.weight', shape: [vocab, C] },
    { name: 'wpe.weight', shape: [positions, C] },
  ];
  for (let i = 0; i < layers; i++) {
    const h = `h.${i}`;
    out.push(
      { name: `${h}.ln_1.weight`, shape: [C] },
      { name: `${h}.ln_1.bias`, shape: [C] },
      { name: `${h}.attn.c_attn.weight`, shape: [C, 3 * C] },
      { name: `${h}.attn.c_attn.bias`, shape: [3 * C] },
      { name: `${h}.attn.c_proj.weight`, shape: [C, C] },
      { name: `${h}.attn.c_proj.bias`, shape: [C] },
      { name: `${h}.ln_2.weight`, shape: [C] },
      { name: `${h}.ln_2.bias`, shape: [C] },
      { name: `${h}.mlp.c_fc.weight`, shape: [C, F] },
      { name: `${h}.mlp.c_fc.bias`, shape: [F] },
      { name: `${h}.mlp.c_proj.weight`, shape: [F, C] },
      { name: `${h}.mlp.c_proj.bias`, shape: [C] },
    );
  }
  out.push({ name: 'ln_f.weight', shape: [C] }, { name: 'ln_f.bias', shape: [C] });
  return out;
}

/** Writes config.json + model.safetensors of random weights (N(0, 0.02)-ish, seeded) in `dtype`. */
async function writeGpt2(dir: string, dtype: Dtype): Promise<number> {
  const config = {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: GPT2.vocab,
    n_positions: GPT2.positions,
    n_embd: GPT2.C,
    n_layer: GPT2.layers,
    n_head: 12,
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const size = dtype === 'F32' ? 4 : 2;
  const tensors = gpt2Tensors();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1) * size;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  const fh = await open(join(dir, 'model.safetensors'), 'w');
  try {
    await fh.write(head);
    const chunk = new Uint8Array(16 * 2 ** 20);
    const f32 = new Float32Array(chunk.buffer);
    const u16 = new Uint16Array(chunk.buffer);
    const scratch = new Float32Array(1);
    const scratchBits = new Uint32Array(scratch.buffer);
    let s = 12345;
    for (let left = offset; left > 0;) {
      const n = Math.min(left, chunk.length);
      for (let i = 0; i < n / size; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const v = ((s >>> 8) / 2 ** 24 - 0.5) * 0.07; // uniform, std 0.02
        // float16 of v: sign, exponent and the top 10 mantissa bits of the float32 (truncated; |v| < 0.04)
        if (dtype === 'BF16') {
          scratch[0] = v;
          u16[i] = scratchBits[0]! >>> 16; // bfloat16: the top half (truncated)
        } else if (dtype === 'F16') {
          scratch[0] = v;
          const bits = scratchBits[0]!;
          const e = ((bits >>> 23) & 255) - 127 + 15;
          u16[i] = e <= 0 ? (bits >>> 16) & 0x8000 : ((bits >>> 16) & 0x8000) | (e << 10) | ((bits >>> 13) & 1023);
        } else f32[i] = v;
      }
      await fh.write(chunk.subarray(0, n));
      left -= n;
    }
  } finally {
    await fh.close();
  }
  return 8 + padded + offset;
}

async function measure(job: Job): Promise<Measured> {
  const path = join(job.dir, 'model.safetensors');
  if (job.mode === 'readFile') {
    const rssBefore = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const bytes = await readFile(path);
    const ms = performance.now() - t0;
    if (bytes.length === 0) throw new Error('empty file');
    return { ms, cpuMs: cpuMs(cpu0), peakExtra: process.resourceUsage().maxRSS * 1024 - rssBefore, rssBefore };
  }
  if (job.mode === 'read') {
    const rssBefore = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const fh = await open(path, 'r');
    const buf = new Uint8Array(64 * 2 ** 20);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
    await fh.close();
    const ms = performance.now() - t0;
    return { ms, cpuMs: cpuMs(cpu0), peakExtra: process.resourceUsage().maxRSS * 1024 - rssBefore, rssBefore };
  }
  const engine = await Engine.create({ threads: job.threads, maxMemoryMiB: 4096 });
  const rssBefore = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let model;
  if (job.mode === 'stream') model = await loadModel(engine, job.dir);
  else model = modelFromCheckpoint(engine, await (await nodeCheckpointFiles()).readCheckpoint(job.dir));
  const ms = performance.now() - t0;
  const cpu = cpuMs(cpu0);
  const peakExtra = process.resourceUsage().maxRSS * 1024 - rssBefore;
  // wte, wpe, 12 per block (q|k|v fused as in the file), ln_f
  if (model.namedParameters().size !== 2 + 12 * GPT2.layers + 2) throw new Error('unexpected parameter count');
  model.dispose();
  await engine.dispose();
  return { ms, cpuMs: cpu, peakExtra, rssBefore };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

const suite: Suite = {
  description:
    'loading GPT-2 small (124 M, random weights) from float32, float16 and bfloat16 safetensors: time vs reading the file, peak memory',
  kernels: ['convert_f16_f32', 'convert_bf16_f32'],
  async run(args) {
    const job = childJob<Job>(args);
    if (job) await answerParent(() => measure(job));
    const flag = (name: string, def: number) => {
      const i = args.indexOf(`--${name}`);
      return i < 0 ? def : Number(args[i + 1]);
    };
    const reps = flag('reps', 3);
    const list = (name: string, all: readonly string[]) => {
      const i = args.indexOf(`--${name}`);
      return i < 0 ? all : args[i + 1]!.split(',').filter((x) => all.includes(x));
    };
    const dtypes = list('dtypes', ['F32', 'F16', 'BF16']) as Dtype[];
    const modes = ['read', ...list('modes', ['readFile', 'stream', 'whole']).filter((m) => m !== 'read')] as Mode[];
    const threads = flag('threads', 2);
    const weightsBytes = 4 * gpt2Tensors().reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    const root = await mkdtemp(join(tmpdir(), 'simdformer-load-bench-'));
    const rows: Row[] = [];
    try {
      for (const dtype of dtypes) {
        const dir = join(root, dtype);
        await mkdir(dir);
        const fileBytes = await writeGpt2(dir, dtype);
        const results = new Map<Mode, Measured[]>();
        for (const mode of modes) {
          const runs: Measured[] = [];
          for (let r = 0; r < (mode === 'read' ? reps + 1 : reps); r++)
            runs.push(await runInChild<Measured>('load', { dir, mode, threads }));
          results.set(mode, mode === 'read' ? runs.slice(1) : runs); // the first read warms the page cache
        }
        const readMs = median(results.get('read')!.map((m) => m.ms));
        const readCpu = median(results.get('read')!.map((m) => m.cpuMs));
        for (const [mode, runs] of results) {
          const ms = median(runs.map((m) => m.ms));
          const cpu = median(runs.map((m) => m.cpuMs));
          const peak = median(runs.map((m) => m.peakExtra));
          rows.push({
            dtype,
            mode,
            fileMB: fileBytes / 1e6,
            ms,
            vsRead: ms / readMs,
            cpuMs: cpu,
            cpuVsRead: cpu / readCpu,
            peakExtraMB: peak / 1e6,
            vsWeights: peak / weightsBytes,
          });
        }
      }
    } finally {
      if (!args.includes('--keep')) await rm(root, { recursive: true, force: true });
      else console.log(`files kept in ${root}`);
    }
    printTable(rows, [
      { title: 'dtype', value: (r) => r.dtype },
      { title: 'how', value: (r) => r.mode },
      { title: 'file MB', value: (r) => r.fileMB, digits: 0 },
      { title: 'ms', value: (r) => r.ms, digits: 0 },
      { title: '× read', value: (r) => r.vsRead },
      { title: 'cpu ms', value: (r) => r.cpuMs, digits: 0 },
      { title: 'cpu × read', value: (r) => r.cpuVsRead },
      { title: 'peak +MB', value: (r) => r.peakExtraMB, digits: 0 },
      { title: '× f32 weights', value: (r) => r.vsWeights },
    ]);
    console.log(`float32 weights: ${(weightsBytes / 1e6).toFixed(0)} MB; engine threads ${threads}; reps ${reps}`);
    const file = writeResults('load', { machine: machine(), threads, reps, weightsBytes, rows });
    console.log(`wrote ${file}`);
  },
};

export default suite;
