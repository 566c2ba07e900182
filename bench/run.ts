// Entry point of `npm run bench -- <suite> [args]`: runs bench/suites/<suite>.bench.ts.
// No suite → list the suites. A suite module default-exports a `Suite` (see harness.ts).
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Suite } from './harness.js';

const SUITES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'suites');
const SUFFIX = '.bench.ts';

function suiteNames(): string[] {
  return readdirSync(SUITES_DIR)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

async function loadSuite(name: string): Promise<Suite> {
  const mod = (await import(pathToFileURL(join(SUITES_DIR, name + SUFFIX)).href)) as { default: Suite };
  return mod.default;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  const names = suiteNames();
  if (name === undefined || name === '--help' || name === '-h') {
    console.log('usage: npm run bench -- <suite> [args]\n\nsuites:');
    for (const n of names) console.log(`  ${n.padEnd(10)} ${(await loadSuite(n)).description}`);
    return;
  }
  if (!names.includes(name)) {
    console.error(`unknown suite "${name}"; suites: ${names.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  await (await loadSuite(name)).run(args);
}

await main(process.argv.slice(2));
