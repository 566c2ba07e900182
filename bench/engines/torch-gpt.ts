// Runs bench/engines/torch-gpt.py (PyTorch's GPT-2 training step) in its own process, with
// OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set to the thread count (torch.set_num_threads too). PyTorch is an
// anchor only: absent, the caller prints why and carries on.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from '../harness.js';

const SCRIPT = join(BENCH_DIR, 'engines', 'torch-gpt.py');
/**
 * Debian's OpenBLAS directory: where the package's `libblas.so.3` alternative is not set up (an unconfigured
 * install), torch fails to import with the library sitting here; added to LD_LIBRARY_PATH for the child only.
 */
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';

export interface GptShape {
  layers: number;
  d: number;
  heads: number;
  ffn: number;
  context: number;
  vocab: number;
  batch: number;
}

export interface TorchPython {
  python: string;
  torch: string;
  env: NodeJS.ProcessEnv;
}

/** The python that imports torch ($PYTORCH_PYTHON, /usr/bin/python3, python3), or why none does. */
export function torchPython(): TorchPython | { error: string } {
  const candidates = [process.env.PYTORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  const envs: NodeJS.ProcessEnv[] = [process.env];
  if (existsSync(join(OPENBLAS_DIR, 'libblas.so.3'))) {
    const path = [process.env.LD_LIBRARY_PATH, OPENBLAS_DIR].filter(Boolean).join(':');
    envs.push({ ...process.env, LD_LIBRARY_PATH: path });
  }
  let last = '';
  for (const python of candidates) {
    for (const env of envs) {
      const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env });
      if (r.status === 0) return { python, torch: r.stdout.trim(), env };
      last = (r.stderr ?? '').trim().split('\n').pop() ?? '';
    }
  }
  return { error: `no python with torch among ${candidates.join(', ')} (set PYTORCH_PYTHON); last error: ${last}` };
}

function runScript<T>(py: TorchPython, mode: 'time' | 'profile', threads: number, shape: GptShape, steps?: number): T {
  const args = [SCRIPT, '--mode', mode, '--threads', String(threads)];
  for (const [k, v] of Object.entries(shape)) args.push(`--${k}`, String(v));
  if (steps !== undefined) args.push('--steps', String(steps));
  const env = { ...py.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const r = spawnSync(py.python, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${py.python} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

export interface TorchTiming {
  torch: string;
  threads: number;
  stepsMs: number[];
  tokensPerSecond: number;
  losses: number[];
}

/** Training steps back to back after 3 warm-up steps: tokens/s = B·T / median step. */
export function timeTorchGpt(py: TorchPython, threads: number, shape: GptShape, steps = 12): TorchTiming {
  return runScript<TorchTiming>(py, 'time', threads, shape, steps);
}

export interface TorchOp {
  name: string;
  calls: number;
  selfMs: number;
  totalMs: number;
  flops: number;
}

export interface TorchProfile {
  torch: string;
  threads: number;
  stepMs: number;
  ops: TorchOp[];
}

/** torch.profiler over `steps` steps after 3 warm-up steps: per-step ops ranked by self time. */
export function profileTorchGpt(py: TorchPython, threads: number, shape: GptShape, steps = 3): TorchProfile {
  return runScript<TorchProfile>(py, 'profile', threads, shape, steps);
}
