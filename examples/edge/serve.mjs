// Serves the bundled edge worker with workerd: `npm run edge` (after `npm run edge:build -- <checkpoint>`).
// workerd comes as the devDependency @cloudflare/workerd-linux-64, whose binary is not on the PATH: this
// finds it (or a `workerd` on the PATH elsewhere) and runs `workerd serve examples/edge/config.capnp`,
// passing on any further arguments (e.g. --socket-addr http=127.0.0.1:8788).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'out', 'worker.js'))) {
  console.error('examples/edge/out/ is not built: run `npm run edge:build -- <checkpoint folder>` first');
  process.exit(2);
}

function workerd() {
  try {
    const pkg = createRequire(import.meta.url).resolve('@cloudflare/workerd-linux-64/package.json');
    const bin = join(dirname(pkg), 'bin', 'workerd');
    if (existsSync(bin)) return bin;
  } catch {
    // not installed (another platform): try the PATH
  }
  return 'workerd';
}

const child = spawn(workerd(), ['serve', join(here, 'config.capnp'), ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('error', (err) => {
  console.error(
    `could not start workerd (${err.message}): on Linux x64, npm ci installs it (@cloudflare/workerd-linux-64); elsewhere install the npm package workerd`,
  );
  process.exit(2);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
// stopping this stops workerd
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
