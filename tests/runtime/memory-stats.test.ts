import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';

describe('engine memory: stats, peak, and rewinding the step region to a mark', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  it('counts persistent and step bytes, keeps the peak, and a rewind frees what came after the mark', () => {
    e.endStep();
    e.resetPeak();
    const s0 = e.memoryStats();
    expect(s0.currentBytes).toBe(s0.persistentBytes + s0.stepBytes);
    expect(s0.peakBytes).toBe(s0.currentBytes);
    const p = e.empty([1000]); // 4000 bytes, 4032 aligned
    expect(e.memoryStats().persistentBytes - s0.persistentBytes).toBe(4032);
    const a = e.empty([3, 7], 'step').set(Array.from({ length: 21 }, (_, i) => i + 0.5));
    const s1 = e.memoryStats();
    expect(s1.stepBytes - s0.stepBytes).toBe(128); // 84 bytes, 64-aligned
    const mark = e.runtime.arena.stepMark();
    e.empty([5_000_000], 'step'); // 20 MB: past the first 8 MiB chunk, a chunk of its own
    e.empty([17], 'step');
    const s2 = e.memoryStats();
    expect(s2.stepBytes).toBeGreaterThan(s1.stepBytes + 20_000_000);
    e.runtime.arena.rewindStep(mark);
    const s3 = e.memoryStats();
    expect(s3.stepBytes).toBe(s1.stepBytes);
    expect(s3.peakBytes).toBe(s2.currentBytes);
    // what came before the mark is untouched, and the next block starts at the mark again
    expect(Array.from(a.view())).toEqual(Array.from({ length: 21 }, (_, i) => i + 0.5));
    const b = e.empty([2], 'step');
    expect(b.ptr).toBe(a.ptr + 128);
    expect(() => e.runtime.arena.rewindStep({ chunk: 99, offset: 0 })).toThrow(/past the step region/);
    p.dispose();
    e.endStep();
    expect(e.memoryStats().stepBytes).toBe(0);
    expect(e.memoryStats().persistentBytes).toBe(s0.persistentBytes);
    e.resetPeak();
    expect(e.memoryStats().peakBytes).toBe(e.memoryStats().currentBytes);
    expect(e.memoryStats().memoryBytes).toBeGreaterThanOrEqual(e.memoryStats().reservedBytes);
    // releasing the step region gives its chunks (over 28 MB here) back to persistent blocks
    const held = e.memoryStats().reservedBytes;
    e.releaseStepMemory();
    expect(held - e.memoryStats().reservedBytes).toBeGreaterThan(28_000_000);
    expect(e.memoryStats().reservedBytes).toBe(e.memoryStats().persistentBytes);
    const top = e.runtime.arena.highWater;
    const big = e.empty([6_000_000]); // 24 MB: fits in the room the chunks left, the heap's top stays
    expect(e.runtime.arena.highWater).toBe(top);
    big.dispose();
  });
});
