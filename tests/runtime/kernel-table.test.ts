import { transformSync } from 'esbuild';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KERNELS, KERNEL_NAMES, NON_KERNEL_EXPORTS, type ArgsOf } from '../../src/runtime/kernels.js';
import { compileKernels, enableRelaxedSimd } from '../../src/runtime/module.js';
import type { Runtime } from '../../src/runtime/runtime.js';

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

/** What TypeScript source runs: esbuild strips its comments, types and type-only (or unused) imports. */
const strip = (ts: string) => transformSync(ts, { loader: 'ts' }).code;
const codeCache = new Map<string, string>();
function code(file: string): string {
  let js = codeCache.get(file);
  if (js === undefined) codeCache.set(file, (js = strip(readFileSync(file, 'utf8'))));
  return js;
}

/** The .ts files the given ones import at run time, transitively, themselves included (relative imports). */
function reachedFrom(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of code(file).matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts');
      if (target.endsWith('.ts') && existsSync(target)) todo.push(target);
    }
  }
  return seen;
}

/** Kernel names in `run('<name>', …)` calls of a file's code. */
const runCalls = (js: string) => [...js.matchAll(/\.run\(\s*["']([a-z0-9_]+)["']/g)].map((m) => m[1]!);

/** Kernel names in `kernels:` fields (a string or an array of strings) of a file's code. */
const kernelsFields = (js: string) =>
  [...js.matchAll(/\bkernels:\s*("[^"]*"|'[^']*'|\[[^\]]*\])/g)].flatMap(
    (m) => m[1]!.match(/[a-z0-9_]+_f32(?:__[a-z0-9x]+)?/g) ?? [],
  );

describe('the kernel table', () => {
  it.each(['single', 'threads', 'relaxed'] as const)(
    'lists every export of the %s build and nothing else',
    async (build) => {
      if (build === 'relaxed') expect(await enableRelaxedSimd()).toBe(true);
      const module = await compileKernels(build);
      const exported = WebAssembly.Module.exports(module).map((x) => x.name);
      const kernels = exported.filter((n) => !(NON_KERNEL_EXPORTS as readonly string[]).includes(n));
      expect(kernels.sort()).toEqual([...KERNEL_NAMES].sort());
      // one import only: the memory
      expect(WebAssembly.Module.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    },
  );

  it("every kernel is run by a run('<name>', …) call in src/ that a test reaches, and named in a benchmark's kernels field", () => {
    // comments do not count: the code is esbuild's output, and a test reaches a file by importing it, transitively
    expect(runCalls(strip("// rt.run('matmul_f32', [])\nrt.run('mul_fwd_f32', [y, a, b], n);"))).toEqual([
      'mul_fwd_f32',
    ]);
    expect(
      kernelsFields(strip("/* kernels: 'relu_fwd_f32' */ const s = { kernels: ['tanh_fwd_f32', 'tanh_bwd_f32'] };")),
    ).toEqual(['tanh_fwd_f32', 'tanh_bwd_f32']);
    const tests = filesUnder(join(root, 'tests')).filter((f) => f.endsWith('.test.ts'));
    const src = [...reachedFrom(tests)].filter((f) => f.startsWith(join(root, 'src') + sep));
    const run = new Set(src.flatMap((f) => runCalls(code(f))));
    const benched = new Set(filesUnder(join(root, 'bench')).flatMap((f) => kernelsFields(code(f))));
    expect(
      KERNEL_NAMES.filter((n) => !run.has(n)),
      'kernels that no tested src/ code runs',
    ).toEqual([]);
    expect(
      KERNEL_NAMES.filter((n) => !benched.has(n)),
      'kernels in no benchmark kernels field',
    ).toEqual([]);
  });

  it('a kernel call takes exactly its arguments (checked by the compiler: tsc -p tsconfig.json)', () => {
    const calls = (rt: Runtime) => {
      rt.run('layernorm_fwd_f32', [0, 0, 0, 0, 0, 0, 0, 0, 0], 1);
      // @ts-expect-error: layernorm_fwd_f32 takes 9 arguments, not 10
      rt.run('layernorm_fwd_f32', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1);
      // @ts-expect-error: nor 8
      rt.run('layernorm_fwd_f32', [0, 0, 0, 0, 0, 0, 0, 0], 1);
    };
    const nine: ArgsOf<'layernorm_fwd_f32'>['length'] = 9;
    expect(typeof calls).toBe('function');
    expect(nine).toBe(KERNELS.layernorm_fwd_f32.args.length);
  });

  // The budget keeps the runtime package small (the wasm ships inside it). It was 64 KiB while the engine
  // served GPT, BERT, T5 and BART (63,056 bytes on 2026-12-06); the next families' math (RoPE, SwiGLU,
  // grouped-query attention) and kernels chosen per CPU (several matmul tiles, a decoding GEMV) needed room,
  // so it became 96 KiB. The int8 GEMV's two-row form (int8 beam search 1.32× → 1.09–1.22× float's time;
  // +944 bytes a build) took the two builds to 99,210 bytes, so it was 104 KiB. The tiles on splatted A panels
  // (4×8p, 2×16p: on Node 20 a BERT-base forward 6–11 % faster; on Node 22 and 24 the trial keeps the others)
  // took them to 106,692 bytes, so it was 112 KiB (110,672 with the erf GELU's two-vector body, 114,234 with the
  // packing by cache lines and the causal attention band, 114,554 with GELU's derivative in its forward). The
  // decoding GEMV's k-block split (two threads stream rows of W apart: GPT-2's FFN down-projection at 4 rows
  // 1.41 → 0.62 ms on Zen 5; +86 bytes a build) took them to 114,726, so it was 114 KiB. The attention forward
  // reading q, k, v in place for a few query rows (GPT-2 decoding after 900 tokens, one thread: 33.6 → 27.3 ms a
  // step; +1,365 bytes a build) took them to 117,456, so it is 116 KiB: still under a third of the package's
  // 360 KiB (tests/everywhere/package.test.ts).
  it('the two default builds together stay under 116 KiB', () => {
    const size = (f: string) => statSync(join(root, 'build', f)).size;
    expect(size('simdformer.wasm') + size('simdformer.threads.wasm')).toBeLessThan(116 * 1024);
  });

  it('names follow <op>_<fwd|bwd>_f32 or a documented exception', () => {
    for (const name of KERNEL_NAMES) {
      expect(name).toMatch(/^[a-z0-9_]+_f32(__[a-z0-9x]+)?$/);
      expect(KERNELS[name].args.length).toBeLessThanOrEqual(14);
    }
  });
});
