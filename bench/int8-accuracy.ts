// The accuracy cost of weight-only int8 (docs/quantization.md): the held-out loss of the demo's model (a
// 4-layer byte-level GPT trained on the Brown corpus as `npm run demo` trains it, 1500 steps) with float32
// weights and with int8 weights (loadModel's quantize: 'int8'), on every window of the demo's held-out 5 %.
// Trains the model into <out> unless a checkpoint is already there.
//
//   nice -n 10 node --import ./bench/register.mjs bench/int8-accuracy.ts [--out runs/int8-demo] [--threads 2] [--steps 1500]
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTextDocuments } from '../src/data/text.js';
import { asCausalLM, loadModel } from '../src/models/load.js';
import { GPT_PRETRAIN_DEFAULTS, prepareLmData, pretrainGpt, validationBatches } from '../src/recipes/pretrain-gpt.js';
import { Engine } from '../src/tensor/engine.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/int8-demo' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '1500' },
  },
});
const out = values.out!;
const engine = await Engine.create({ threads: Number(values.threads) });
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `int8 accuracy: ${cpu}, ${engine.threads} threads, load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

if (!existsSync(join(out, 'latest'))) {
  const t = performance.now();
  // the demo's recipe (src/cli/commands/demo.ts)
  await pretrainGpt(engine, {
    ...GPT_PRETRAIN_DEFAULTS,
    data: 'brown',
    out,
    steps: Number(values.steps),
    warmup: 100,
    lr: 2e-3,
    evalEvery: 200,
    checkpointEvery: 0,
  });
  console.log(`trained ${values.steps} steps in ${((performance.now() - t) / 1e3).toFixed(0)} s`);
}
const dir = join(out, (await readFile(join(out, 'latest'), 'utf8')).trim());
const data = await prepareLmData(
  await loadTextDocuments('brown'),
  join(dir, 'tokenizer.json'),
  GPT_PRETRAIN_DEFAULTS.context,
);

/** Mean loss (nats per token) over every held-out window. */
async function heldOutLoss(quantize?: 'int8'): Promise<{ loss: number; bitsPerByte: number; arenaBytes: number }> {
  const before = engine.runtime.arena.usedBytes;
  const model = asCausalLM(await loadModel(engine, dir, quantize ? { quantize } : {}));
  const arenaBytes = engine.runtime.arena.usedBytes - before;
  let sum = 0;
  let n = 0;
  for (const b of validationBatches(data.validation, 8, Infinity)) {
    sum += engine.noGrad(() => model.loss(b).item()) * b.B;
    n += b.B;
    engine.endStep();
  }
  model.dispose();
  const loss = sum / n;
  return { loss, bitsPerByte: loss / Math.LN2 / data.bytesPerToken, arenaBytes };
}

const float = await heldOutLoss();
const int8 = await heldOutLoss('int8');
const increase = (int8.loss - float.loss) / float.loss;
const result = {
  checkpoint: dir,
  windows: data.validation.N,
  tokensPerWindow: data.validation.T,
  float32: float,
  int8,
  relativeIncrease: increase,
  cpu,
  threads: engine.threads,
  loadAfter: os.loadavg(),
};
console.log(JSON.stringify(result, null, 2));
console.log(
  `held-out loss: float32 ${float.loss.toFixed(5)}, int8 ${int8.loss.toFixed(5)} (${(100 * increase).toFixed(3)} %); ` +
    `bits per byte ${float.bitsPerByte.toFixed(4)} → ${int8.bitsPerByte.toFixed(4)}`,
);
await writeFile('bench/results/int8-accuracy.json', JSON.stringify(result, null, 2) + '\n');
await engine.dispose();
