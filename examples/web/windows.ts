// The training windows of both page sessions: B windows of T tokens (and their next tokens) at places drawn
// from (seed, step) only, so a run is the same in every runtime and a test in Node reproduces the page's.
import type { LmBatch } from '../../src/index.js';

export function randomWindows(ids: readonly number[], B: number, T: number, seed: number, step: number): LmBatch {
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  let r = (Math.imul(seed, 2654435761) + Math.imul(step, 40503)) >>> 0;
  for (let b = 0; b < B; b++) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    const at = r % (ids.length - T - 1);
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = ids[at + t]!;
      labels[b * T + t] = ids[at + t + 1]!;
    }
  }
  return { inputIds, labels, B, T };
}
