// Runs bench/engines/pytorch-real-size.py (PyTorch, float32) for one task and thread count, in its own
// process with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set to the thread count (torch.set_num_threads too).
// PyTorch is a benchmark anchor only: absent, the rows say so and the suite carries on.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR } from '../harness.js';
import type { Sizes, Task } from './simdformer-real-size.js';

const SCRIPT = join(BENCH_DIR, 'engines', 'pytorch-real-size.py');

export interface PyTorchMeasurement {
  task: Task;
  threads: number;
  torch: string;
  runs: number[][] | number[];
  cpu: number[][] | number[];
}

/** The python that has torch: $PYTORCH_PYTHON, else /usr/bin/python3 (Debian's python3-torch), else python3. */
export function pythonWithTorch(): { python: string; torch: string } | { error: string } {
  const candidates = [process.env.PYTORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, torch: r.stdout.trim() };
  }
  return { error: `no python with torch among ${candidates.join(', ')} (set PYTORCH_PYTHON)` };
}

export function measurePyTorch(python: string, task: Task, threads: number, sizes: Sizes): PyTorchMeasurement {
  const args = [SCRIPT, '--task', task, '--threads', String(threads), '--runs', String(sizes.runs)];
  args.push('--prompt', String(sizes.prompt), '--new', String(sizes.new));
  args.push('--batch', String(sizes.batch), '--seq', String(sizes.seq));
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const r = spawnSync(python, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PyTorchMeasurement;
}
