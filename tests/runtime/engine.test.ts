import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OutOfMemoryError } from '../../src/errors.js';
import { liveWorkers } from '../../src/runtime/pool.js';
import { Engine } from '../../src/tensor/engine.js';
import { matmul } from '../../src/tensor/ops/matmul.js';
import { randn } from '../util/check.js';

describe('engine memory', () => {
  it('growing memory past its initial size keeps earlier tensors and re-makes views', async () => {
    const e = await Engine.create({ threads: 2, initialMemoryMiB: 1 });
    const before = e.runtime.memory.buffer.byteLength;
    const data = randn(1000, 1);
    const early = e.tensor(data, [10, 100]);
    const big = e.zeros([8 * 2 ** 20]); // 32 MiB: forces several grows
    expect(before).toBeLessThan(2 * 2 ** 20);
    expect(e.runtime.memory.buffer.byteLength).toBeGreaterThanOrEqual(32 * 2 ** 20);
    expect(early.toArray()).toEqual(data);
    // kernels running on every thread see the grown memory
    const b = e.tensor(randn(100 * 7, 2), [100, 7]);
    const c = e.noGrad(() => matmul(early, b));
    expect(c.toArray().every(Number.isFinite)).toBe(true);
    expect(big.view().length).toBe(8 * 2 ** 20);
    await e.dispose();
  });

  it('a request past the maximum is an OutOfMemoryError naming the bytes and the limit, and loses nothing', async () => {
    const e = await Engine.create({ threads: 1, maxMemoryMiB: 32 });
    const keep = e.tensor(randn(64, 3), [8, 8]);
    let err: unknown;
    try {
      e.empty([16 * 2 ** 20]); // 64 MiB
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    const oom = err as OutOfMemoryError;
    expect(oom.requestedBytes).toBe(64 * 2 ** 20);
    expect(oom.limitBytes).toBe(32 * 2 ** 20);
    expect(oom.message).toContain(String(64 * 2 ** 20));
    expect(oom.message).toContain(String(32 * 2 ** 20));
    expect(keep.toArray()).toEqual(randn(64, 3));
    const ok = e.empty([1024]); // the engine still works
    expect(ok.size).toBe(1024);
    await e.dispose();
  });

  it('rejects a maximum past what wasm32 addresses', async () => {
    await expect(Engine.create({ maxMemoryMiB: 8192 })).rejects.toThrow(/4096/);
    await expect(Engine.create({ threads: 0 })).rejects.toThrow(/threads/);
  });

  it('freed blocks are reused and coalesced', async () => {
    const e = await Engine.create({ threads: 1 });
    const arena = e.runtime.arena;
    const a = e.empty([1000]);
    const b = e.empty([1000]);
    const c = e.empty([1000]);
    const high = arena.highWater;
    a.dispose();
    b.dispose();
    const d = e.empty([2000]); // fits the coalesced hole of a + b
    expect(d.ptr).toBe(a.ptr);
    expect(arena.highWater).toBe(high);
    c.dispose();
    d.dispose();
    expect(arena.usedBytes).toBe(0);
    await e.dispose();
  });

  it('the step region is reused from step to step', async () => {
    const e = await Engine.create({ threads: 1 });
    const marks: number[] = [];
    for (let step = 0; step < 5; step++) {
      for (const n of [100, 5000, 3 * 2 ** 20, 17]) e.empty([n], 'step');
      e.endStep();
      marks.push(e.runtime.arena.highWater);
    }
    expect(new Set(marks.slice(1)).size).toBe(1);
    await e.dispose();
  });
});

describe('engine threads', () => {
  it('creates and disposes 50 engines in a row without leaking workers', async () => {
    const a = randn(64 * 64, 1);
    for (let i = 0; i < 50; i++) {
      const e = await Engine.create({ threads: 2 });
      const t = e.tensor(a, [64, 64]);
      e.noGrad(() => matmul(t, t));
      await e.dispose();
    }
    expect(liveWorkers()).toBe(0);
  });

  it('threads: 1 starts no workers; more threads than cores still work', async () => {
    const one = await Engine.create({ threads: 1 });
    expect(one.threads).toBe(1);
    expect(one.runtime.build).toBe('single');
    expect(liveWorkers()).toBe(0);
    await one.dispose();
    const many = await Engine.create({ threads: 5 });
    expect(liveWorkers()).toBe(4);
    const t = many.tensor(randn(300 * 300, 2), [300, 300]);
    expect(
      many
        .noGrad(() => matmul(t, t))
        .toArray()
        .every(Number.isFinite),
    ).toBe(true);
    await many.dispose();
    expect(liveWorkers()).toBe(0);
  });

  it('a Node process that forgets to dispose still exits', () => {
    const engine = fileURLToPath(new URL('../../src/tensor/engine.ts', import.meta.url));
    const ops = fileURLToPath(new URL('../../src/tensor/ops/matmul.ts', import.meta.url));
    const code = `const { Engine } = await import(${JSON.stringify(engine)});
      const { matmul } = await import(${JSON.stringify(ops)});
      const e = await Engine.create({ threads: 2 });
      const t = e.tensor(new Float32Array(4096).fill(1), [64, 64]);
      console.log('sum', e.noGrad(() => matmul(t, t)).toArray()[0], e.threads);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('sum 64 2');
    expect(r.status).toBe(0);
  });
});
