import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KERNELS, KERNEL_NAMES, NON_KERNEL_EXPORTS } from '../../src/runtime/kernels.js';
import { compileKernels, enableRelaxedSimd } from '../../src/runtime/module.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('the kernel table', () => {
  it.each(['single', 'threads', 'relaxed'] as const)('lists every export of the %s build and nothing else', async (build) => {
    if (build === 'relaxed') expect(await enableRelaxedSimd()).toBe(true);
    const module = await compileKernels(build);
    const exported = WebAssembly.Module.exports(module).map((x) => x.name);
    const kernels = exported.filter((n) => !(NON_KERNEL_EXPORTS as readonly string[]).includes(n));
    expect(kernels.sort()).toEqual([...KERNEL_NAMES].sort());
    // one import only: the memory
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
  });

  it('every kernel has a test and a benchmark that name it', () => {
    const tests = filesUnder(join(root, 'tests')).map((f) => readFileSync(f, 'utf8')).join('\n');
    const benches = filesUnder(join(root, 'bench')).map((f) => readFileSync(f, 'utf8')).join('\n');
    const untested = KERNEL_NAMES.filter((n) => !tests.includes(n));
    const unbenched = KERNEL_NAMES.filter((n) => !benches.includes(n));
    expect(untested, 'kernels with no test').toEqual([]);
    expect(unbenched, 'kernels with no benchmark').toEqual([]);
  });

  it('the two default builds together stay under 64 KiB', () => {
    const size = (f: string) => statSync(join(root, 'build', f)).size;
    expect(size('simdformer.wasm') + size('simdformer.threads.wasm')).toBeLessThan(64 * 1024);
  });

  it('names follow <op>_<fwd|bwd>_f32 or a documented exception', () => {
    for (const name of KERNEL_NAMES) {
      expect(name).toMatch(/^[a-z0-9_]+_f32(__[a-z0-9x]+)?$/);
      expect(KERNELS[name].args.length).toBeLessThanOrEqual(14);
    }
  });
});
