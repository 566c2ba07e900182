// Per-call cost of running a kernel across the pool: a tiny kernel (pack_b_f32 on 2 panels of a 1×16
// matrix, ~0.05 µs of work) forced through the pool, back to back and with ~5 µs of host work between
// calls (as in a training step). Overhead = time per call − the same call on the caller alone.
//
//   npm run bench -- dispatch
import os from 'node:os';
import { Engine } from '../../src/tensor/engine.js';
import { printTable, type Suite, writeResults } from '../harness.js';

function perCall(fn: () => void, n: number): number {
  for (let i = 0; i < n / 10; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    times.push(((performance.now() - t0) / n) * 1000);
  }
  return times.sort((a, b) => a - b)[3]!;
}

const suite: Suite = {
  description: 'thread-pool dispatch overhead per kernel call (µs), back to back and between host work',
  async run() {
    const rows: { threads: number; backToBackUs: number; withHostWorkUs: number; hostWorkUs: number }[] = [];
    let sink = 0;
    const hostWork = () => {
      for (let j = 0; j < 2000; j++) sink += Math.sqrt(j);
    };
    const hostUs = perCall(hostWork, 20_000);
    for (const threads of [1, 2, 3].filter((t) => t <= os.availableParallelism() + 1)) {
      const e = await Engine.create({ threads });
      const b = e.tensor(new Float32Array(16).fill(1), [1, 16]);
      const bp = e.empty([16]);
      // items = 2 and cost = Infinity: always through the pool when threads > 1
      const call = () => e.runtime.run('pack_b_f32', [bp.ptr, b.ptr, 1, 16, 16, 1], 2, Infinity);
      // host work alone and host work + call, interleaved, so drifts in the machine's speed cancel
      const diffs: number[] = [];
      for (let r = 0; r < 5; r++) diffs.push(perCall(() => (hostWork(), call()), 5_000) - perCall(hostWork, 5_000));
      rows.push({
        threads,
        backToBackUs: perCall(call, 100_000),
        withHostWorkUs: diffs.sort((a, b) => a - b)[2]!,
        hostWorkUs: hostUs,
      });
      await e.dispose();
    }
    printTable(rows, [
      { title: 'threads', value: (r) => r.threads, digits: 0 },
      { title: 'µs per call, back to back', value: (r) => r.backToBackUs, digits: 2 },
      { title: 'µs per call between host work', value: (r) => r.withHostWorkUs, digits: 2 },
      { title: 'host work µs', value: (r) => r.hostWorkUs, digits: 1 },
    ]);
    console.log(`(${sink > 0 ? 'threads > cores: workers do not spin' : ''})`);
    console.log(`wrote ${writeResults('dispatch', { rows })}`);
  },
};

export default suite;
