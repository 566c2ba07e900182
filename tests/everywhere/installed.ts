import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectBuilt, root } from './fixture.js';

// The npm package as a user gets it, for the tests that run it (package.test.ts, package-cli.test.ts):
// `npm pack` of the dist/ and build/ that `npm ci` built, installed from the tarball into a fresh folder
// with its runtime dependencies only (never the devDependencies, nor the optional peer dependencies),
// from npm's cache.

export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface Installed {
  /** The temporary folder (the caller removes it). */
  dir: string;
  /** The app folder the tarball is installed in: node_modules/simdformer, node_modules/.bin/simdformer. */
  app: string;
  /** The tarball. */
  tgz: string;
  size: number;
  /** The tarball's files (`package/…`). */
  listing: string[];
}

export async function packAndInstall(prefix: string): Promise<Installed> {
  expectBuilt();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // --ignore-scripts: `prepare` would only check what expectBuilt() just checked
  execFileSync(npm, ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], { cwd: root, stdio: 'pipe' });
  const tgz = join(
    dir,
    (await readdir(dir)).find((f) => f.endsWith('.tgz'))!,
  );
  const listing = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).trim().split('\n');
  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // a dependency's devDependencies are never installed: this folder has what a user's has
  execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tgz], {
    cwd: app,
    stdio: 'pipe',
  });
  return { dir, app, tgz, size: (await stat(tgz)).size, listing };
}
