// Before/after of a code change on a shared, loaded machine: the reference GPT's (or the d 512 model's) training
// step from two checkouts, alternately, each in its own process, on one thread: wall time and the process's
// CPU time per step (CPU time leaves out the time the thread waits for a core, which other agents' work inflates).
//
//   node --import ./bench/register.mjs bench/ab-step.ts <root A> <root B> [rounds 3] [steps 10] [model reference|d512] [tile auto]
// A tile name pins the matmul tile in both (each process's trial may pick differently and hide the change).
// A root is a checkout with its wasm built (npm run asbuild), e.g. `git archive <commit> | tar -x -C /tmp/base`.
import { spawnSync } from 'node:child_process';

const [rootA, rootB, rounds = '3', steps = '10', model = 'reference', tile = 'auto'] = process.argv.slice(2);

const CHILD = `
const root = process.argv[1], steps = Number(process.argv[2]), model = process.argv[3], kernels = process.argv[4];
const { GPT } = await import(root + '/src/models/gpt.ts');
const { Engine } = await import(root + '/src/tensor/engine.ts');
const { Trainer } = await import(root + '/src/train/trainer.ts');
const { randomBatch, referenceConfig } = await import(root + '/bench/engines/reference-gpt.ts');
const engine = await Engine.create({ threads: 1, kernels });
const config = referenceConfig();
if (model === 'd512') Object.assign(config, { n_embd: 512, n_layer: 6, n_head: 8, n_inner: 2048 });
const trainer = new Trainer(new GPT(engine, config, 0), { lr: 3e-4, totalSteps: 1000, warmup: 0, schedule: 'constant', weightDecay: 0.01, clip: 0 });
const wall = [], cpu = [], losses = [];
for (let s = 0; s < steps + 3; s++) {
  const t = performance.now(), c = process.cpuUsage();
  losses.push(trainer.step(randomBatch(s)).loss);
  const dc = process.cpuUsage(c);
  if (s >= 3) { wall.push(performance.now() - t); cpu.push((dc.user + dc.system) / 1e3); }
}
console.log(JSON.stringify({ wall, cpu, losses }));
process.exit(0);
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const runs: Record<string, { wall: number[]; cpu: number[]; losses: number[] }[]> = { A: [], B: [] };
for (let r = 0; r < Number(rounds); r++) {
  for (const [side, root] of [
    ['A', rootA!],
    ['B', rootB!],
  ] as const) {
    const p = spawnSync(
      process.execPath,
      [...process.execArgv, '--input-type=module', '-e', CHILD, root, steps, model, tile],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      },
    );
    if (p.status !== 0) throw new Error(`${root}: ${p.stderr}`);
    runs[side]!.push(JSON.parse(p.stdout.trim().split('\n').pop()!));
  }
}
const summary = (side: string) => {
  const all = runs[side]!;
  return {
    wallMs: median(all.flatMap((x) => x.wall)),
    cpuMs: median(all.flatMap((x) => x.cpu)),
    lossesIdentical: all.every((x) => x.losses.every((l, i) => l === all[0]!.losses[i])),
    lastLoss: all[0]!.losses.at(-1),
  };
};
const [a, b] = [summary('A'), summary('B')];
console.log(
  JSON.stringify(
    { model, rounds: Number(rounds), steps: Number(steps), A: { root: rootA, ...a }, B: { root: rootB, ...b } },
    null,
    1,
  ),
);
console.log(
  `B / A: wall ${(b.wallMs / a.wallMs).toFixed(3)}, CPU ${(b.cpuMs / a.cpuMs).toFixed(3)}; losses A = B bit for bit: ${runs.A!.every((x, i) => x.losses.every((l, j) => l === runs.B![i]!.losses[j]))}`,
);
