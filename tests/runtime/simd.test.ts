import { describe, expect, it } from 'vitest';
import { buildUrl, compileKernels, enableRelaxedSimd, maddIsFused } from '../../src/runtime/module.js';
import { Engine } from '../../src/tensor/engine.js';

// simd: 'relaxed' runs the relaxed build only where it can run and its multiply-add is fused, so that
// engine.simd names the bits a run gives; otherwise the plain build runs and engine.simdFallback says why.
// (Bun, whose relaxed multiply-add is not fused, and workerd are in tests/everywhere/.)

describe("simd: 'relaxed'", () => {
  it("the builds' madd_probe: fused in the relaxed build (V8 on x64), a multiply then an add in the plain ones", async () => {
    expect(await enableRelaxedSimd()).toBe(true);
    expect(await maddIsFused(await compileKernels('relaxed'), true)).toBe(true);
    expect(await maddIsFused(await compileKernels('threads'), true)).toBe(false);
    expect(await maddIsFused(await compileKernels('single'), false)).toBe(false);
  });

  it('runs the relaxed build here, at one thread and at two, and says nothing fell back', async () => {
    for (const threads of [1, 2]) {
      const e = await Engine.create({ threads, simd: 'relaxed' });
      expect(e.simd).toBe('relaxed');
      expect(e.runtime.build).toBe('relaxed');
      expect(e.simdFallback).toBeUndefined();
      await e.dispose();
    }
    const plain = await Engine.create({ threads: 1 });
    expect(plain.simd).toBe('plain');
    expect(plain.simdFallback).toBeUndefined();
    await plain.dispose();
  });

  it('falls back to the plain build, saying why, when the wasm option gives no relaxed build or it is missing', async () => {
    const e = await Engine.create({
      threads: 2,
      simd: 'relaxed',
      wasm: { single: buildUrl('single'), threads: buildUrl('threads') },
    });
    expect(e.simd).toBe('plain');
    expect(e.runtime.build).toBe('threads');
    expect(e.simdFallback).toMatch(/the wasm option gives no relaxed build/);
    await e.dispose();
    const missing = await Engine.create({
      threads: 1,
      simd: 'relaxed',
      wasm: { single: buildUrl('single'), relaxed: new URL('./no-such.relaxed.wasm', buildUrl('relaxed')) },
    });
    expect(missing.simd).toBe('plain');
    expect(missing.runtime.build).toBe('single');
    expect(missing.simdFallback).toMatch(/could not be loaded: no file at .*no-such\.relaxed\.wasm/);
    await missing.dispose();
  });
});
