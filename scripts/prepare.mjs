// npm's `prepare` (npm install or npm ci in a clone, npm pack, npm publish): builds what is missing or
// older than its sources, and nothing else, so `npm pack` after a build packs without rebuilding.
//   the wasm (build/*.wasm) from assembly/ and asconfig.json: `npm run build` (asbuild, then tsc)
//   dist/ from src/ and tsconfig*.json: `tsc -p tsconfig.build.json`
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time under a file or folder (0 when it is missing). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}
/** The oldest modification time of these files (0 when one is missing). */
function oldest(paths) {
  return Math.min(...paths.map((p) => (existsSync(p) ? statSync(p).mtimeMs : 0)));
}
const at = (...p) => join(root, ...p);

const wasm = ['simdformer.wasm', 'simdformer.threads.wasm', 'simdformer.relaxed.wasm'].map((f) => at('build', f));
const wasmStale = oldest(wasm) < Math.max(newest(at('assembly')), newest(at('asconfig.json')));
const distStale =
  !existsSync(at('dist', 'index.js')) ||
  newest(at('dist')) < Math.max(newest(at('src')), newest(at('tsconfig.json')), newest(at('tsconfig.build.json')));

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (wasmStale) run(npm, ['run', 'build']);
else if (distStale)
  run(process.execPath, [at('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
else console.log('prepare: build/ and dist/ are newer than their sources (npm run build rebuilds them anyway)');
