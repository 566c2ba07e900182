// Bundles the edge worker into examples/edge/out/ with the single-thread kernels and a checkpoint:
//   npm run edge:build -- <checkpoint dir>     (node examples/edge/build.mjs <checkpoint dir>)
import { build } from 'esbuild';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'out');
const given = process.argv[2];
if (!given) throw new Error('usage: node examples/edge/build.mjs <checkpoint dir>');
// a training run's folder (pretrain … --out) holds generations: bundle the one its `latest` names
const latest = await readFile(join(given, 'latest'), 'utf8').then(
  (name) => name.trim(),
  () => undefined,
);
const checkpoint = latest && /^checkpoint-\d+$/.test(latest) ? join(given, latest) : given;
await mkdir(join(out, 'checkpoint'), { recursive: true });
await build({
  entryPoints: [join(here, 'worker.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  conditions: ['worker', 'browser'],
  outfile: join(out, 'worker.js'),
  external: ['./simdformer.wasm', './config.json', './tokenizer.json', './model.safetensors', 'node:*'],
  logLevel: 'warning',
});
await cp(join(here, '..', '..', 'build', 'simdformer.wasm'), join(out, 'simdformer.wasm'));
for (const f of ['config.json', 'tokenizer.json', 'model.safetensors'])
  await cp(join(checkpoint, f), join(out, 'checkpoint', f));
console.log(`bundled into ${out}`);
