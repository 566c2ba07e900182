import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the npm package', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('packs under 300 KiB with both wasm builds and types, installs in a fresh folder, and runs a forward pass', async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-pack-'));
    // npm pack runs `prepare` (the build), so the tarball holds what a fresh clone builds
    execFileSync(npm, ['pack', '--pack-destination', dir, '--silent'], { cwd: root, stdio: 'pipe' });
    const tgz = (await readdir(dir)).find((f) => f.endsWith('.tgz'))!;
    const size = (await stat(join(dir, tgz))).size;
    expect(size).toBeLessThan(300 * 1024);
    const listing = execFileSync('tar', ['-tzf', join(dir, tgz)], { encoding: 'utf8' });
    for (const f of ['package/build/simdformer.wasm', 'package/build/simdformer.threads.wasm', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/cli/main.js']) {
      expect(listing).toContain(f);
    }
    expect(listing).not.toMatch(/package\/(src|tests|bench|assembly)\//);

    const app = join(dir, 'app');
    await (await import('node:fs/promises')).mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // runtime dependencies only: devDependencies are never installed for a dependency
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(dir, tgz)], { cwd: app, stdio: 'pipe' });
    await writeFile(
      join(app, 'run.mjs'),
      `import { Engine, GPT, parseConfig, Tokenizer, trainBpe } from 'simdformer';
       const e = await Engine.create({ threads: 2 });
       const config = parseConfig({ model_type: 'gpt2', vocab_size: 256, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2, bos_token_id: null, eos_token_id: null });
       const m = new GPT(e, config, 1);
       m.tokenizer = Tokenizer.fromJson(trainBpe(['hello'], { vocabSize: 256 }));
       const ids = m.tokenizer.encode('hello').ids;
       const { logits } = e.noGrad(() => m.forward({ inputIds: [ids] }));
       const out = [];
       for await (const t of m.generate(ids, { maxNewTokens: 5 })) out.push(t);
       console.log(JSON.stringify({ shape: logits.shape, threads: e.threads, generated: out.length }));
       await e.dispose();`,
    );
    const r = spawnSync(process.execPath, ['run.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ shape: [1, 5, 256], threads: 2, generated: 5 });
    // the command line is installed too
    const help = spawnSync(process.execPath, [join(app, 'node_modules', '.bin', 'simdformer'), '--help'], { encoding: 'utf8' });
    expect(help.stdout).toMatch(/pretrain/);
  });
});
