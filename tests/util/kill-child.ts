/**
 * The child process of the checkpoint kill test: runs the training of kill-run.ts with a hook around every file
 * operation of its saves. `list` prints the operations as JSON lines; `kill <n>` sends itself SIGKILL at the
 * n-th (1-based; "before" and "after" each count); `signal` prints "saved" after each generation's pointer moved.
 * The test runs it bundled (esbuild), so it is handed the path of the kernels' wasm build.
 */
import { pathToFileURL } from 'node:url';
import { setCheckpointFileHook } from '../../src/io/checkpoint.js';
import { pretrainGpt } from '../../src/recipes/pretrain-gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { killRunOptions } from './kill-run.js';

const [wasm, data, out, mode, arg] = process.argv.slice(2) as [string, string, string, string, string | undefined];
let n = 0;
setCheckpointFileHook((when, op, path) => {
  n++;
  if (mode === 'list') process.stdout.write(JSON.stringify({ n, when, op, path: path.slice(out.length) }) + '\n');
  if (mode === 'kill' && n === Number(arg)) {
    process.kill(process.pid, 'SIGKILL');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never returns: the signal ends the process
  }
  if (mode === 'signal' && when === 'after' && op === 'rename' && path.includes('.tmp-latest-'))
    process.stdout.write('saved\n');
});
const engine = await Engine.create({ threads: 1, wasm: { single: pathToFileURL(wasm) } });
await pretrainGpt(engine, killRunOptions(data, out));
await engine.dispose();
