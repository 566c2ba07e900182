// A worker of `npm run fuzz` (bench/fuzz/run.ts): one engine, one scratch folder, cases as the parent hands them
// out; each case's result goes back before the next starts, so the parent knows which case a hang or crash is.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { Engine } from '../../src/tensor/engine.js';
import { makeContext, runCase } from './cases.js';

const { seed, fixture, maxMemoryMiB } = workerData as { seed: number; fixture: string; maxMemoryMiB: number };
const dir = await mkdtemp(join(tmpdir(), 'simdformer-fuzz-'));
const engine = await Engine.create({ threads: 1, maxMemoryMiB });
const ctx = await makeContext(engine, dir, fixture);
const port = parentPort!;
port.on('message', (msg: { case?: number; stop?: true }) => {
  if (msg.stop) {
    void rm(dir, { recursive: true, force: true }).then(() => process.exit(0));
    return;
  }
  void runCase(ctx, seed, msg.case!).then((r) => port.postMessage(r));
});
port.postMessage({ ready: true });
