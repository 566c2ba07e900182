// simdformer's side of bench/suites/real-size.bench.ts: the published models with random weights, run
// through the public API (generate, beamSearch, forward), timed as bench/engines/pytorch-real-size.py
// times PyTorch: one warm-up call, then `runs` calls; per call, the wall time of each decoding step
// after the first token (causal greedy) or of the whole call (seq2seq: encoder + decoding; BERT), and the
// process CPU time of the same spans.
import { Engine } from '../../src/tensor/engine.js';
import { tileTrialOf } from '../../src/tensor/kernel-select.js';
import type { Bert } from '../../src/models/bert.js';
import type { GPT } from '../../src/models/gpt.js';
import { quantizeModel } from '../../src/models/quantize.js';
import type { EncoderDecoder } from '../../src/models/seq2seq.js';
import { causalStepWeightBytes, randomModel, tokenIds, type PublishedName } from './real-size-models.js';

/** What one row measures; the PyTorch script takes the same names. */
export const TASKS = {
  'gpt2-greedy': { model: 'gpt2', what: 'greedy, KV cache (tokens/s per step)' },
  'gpt2-medium-greedy': { model: 'gpt2-medium', what: 'greedy, KV cache (tokens/s per step)' },
  // weight-only int8 (loadModel's quantize: 'int8'); PyTorch runs its float32 task (FLOAT_TASK)
  'gpt2-int8-greedy': { model: 'gpt2', what: 'int8 weights: greedy, KV cache (tokens/s per step)' },
  't5-greedy': { model: 't5-small', what: 'greedy (tokens/s, whole call)' },
  't5-beam4': { model: 't5-small', what: 'beam 4 (steps/s, whole call)' },
  'bart-greedy': { model: 'bart-base', what: 'greedy (tokens/s, whole call)' },
  'bart-beam4': { model: 'bart-base', what: 'beam 4 (steps/s, whole call)' },
  // int8 at M = 4 (the beams): the int8 GEMV's two-row form, against PyTorch's float32 beam 4
  'bart-int8-beam4': { model: 'bart-base', what: 'int8 weights: beam 4 (steps/s, whole call)' },
  'bert-infer': { model: 'bert-base-uncased', what: 'inference 8 × 128 (tokens/s)' },
  // the relaxed build (fused multiply-add: Node 22+, Chromium; Node 20 after V8's flag); PyTorch runs bert-infer
  'bert-relaxed-infer': { model: 'bert-base-uncased', what: 'relaxed SIMD: inference 8 × 128 (tokens/s)' },
} as const satisfies Record<string, { model: PublishedName; what: string }>;

export type Task = keyof typeof TASKS;

/** The plain float32 task an int8 or relaxed task is compared with (PyTorch's side runs it). */
export const FLOAT_TASK: Partial<Record<Task, Task>> = {
  'gpt2-int8-greedy': 'gpt2-greedy',
  'bart-int8-beam4': 'bart-beam4',
  'bert-relaxed-infer': 'bert-infer',
};

export interface Sizes {
  /** Prompt (causal) or source (seq2seq) tokens. */
  prompt: number;
  /** New tokens per call (decoding positions). */
  new: number;
  batch: number;
  seq: number;
  runs: number;
}

export interface Measurement {
  task: Task;
  threads: number;
  build: string;
  /** Per-step ms of each run (causal greedy), or ms of each whole call. */
  runs: number[][] | number[];
  /** The same in process CPU time (user + system, every thread): at one thread, the time it ran. */
  cpu: number[][] | number[];
  /** Tokens (or beam steps) each call produced. */
  tokens: number[];
  /** Bytes of weights a causal decoding step reads. */
  stepWeightBytes?: number;
  setupMs: number;
  /** The matmul tile the timed runs used (engine.kernels after the warm-up). */
  matmulTile?: string;
}

export async function measureSimdformer(task: Task, threads: number, sizes: Sizes): Promise<Measurement> {
  const engine = await Engine.create({ threads, simd: task.includes('-relaxed-') ? 'relaxed' : 'plain' });
  const t0 = performance.now();
  const model = randomModel(engine, TASKS[task].model, 0, true);
  if (task.includes('-int8-')) quantizeModel(model, 'int8');
  const setupMs = performance.now() - t0;
  const out: Measurement = {
    task,
    threads: engine.threads,
    build: engine.runtime.build,
    runs: [],
    cpu: [],
    tokens: [],
    setupMs,
  };
  let call: () => Promise<{ time: number[] | number; cpu: number[] | number; tokens: number }>;
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e3;
  };
  if (model.kind === 'causal-lm') {
    const gpt = model as GPT;
    out.stepWeightBytes = causalStepWeightBytes(gpt);
    const prompt = tokenIds(sizes.prompt, gpt.vocabSize, 1);
    call = async () => {
      const steps: number[] = [];
      const cpu: number[] = [];
      let last = 0;
      let lastCpu = 0;
      let n = 0;
      for await (const _ of gpt.generate(prompt, { maxNewTokens: sizes.new })) {
        const now = performance.now();
        const nowCpu = cpuMs();
        if (n > 0) {
          steps.push(now - last);
          cpu.push(nowCpu - lastCpu);
        }
        last = now;
        lastCpu = nowCpu;
        n++;
      }
      return { time: steps, cpu, tokens: n };
    };
  } else if (model.kind === 'seq2seq') {
    const s2s = model as EncoderDecoder;
    const source = tokenIds(sizes.prompt, s2s.vocabSize, 2);
    const beams = task.endsWith('beam4') ? 4 : 1;
    call = async () => {
      const t = performance.now();
      const c = cpuMs();
      let tokens = 0;
      if (beams === 1) {
        for await (const _ of s2s.generate(source, { maxNewTokens: sizes.new })) tokens++;
      } else {
        const hyps = s2s.beamSearch([source], { numBeams: beams, maxNewTokens: sizes.new, numReturnSequences: beams });
        tokens = Math.max(...hyps[0]!.map((h) => h.tokens.length));
      }
      return { time: performance.now() - t, cpu: cpuMs() - c, tokens };
    };
  } else {
    const bert = model as Bert;
    const ids = tokenIds(sizes.batch * sizes.seq, bert.config.vocab_size, 3);
    const inputIds = Array.from({ length: sizes.batch }, (_, b) => ids.slice(b * sizes.seq, (b + 1) * sizes.seq));
    call = async () => {
      const t = performance.now();
      const c = cpuMs();
      engine.noGrad(() => bert.forward({ inputIds }).logits.toArray());
      engine.endStep();
      return { time: performance.now() - t, cpu: cpuMs() - c, tokens: sizes.batch * sizes.seq };
    };
  }
  // warm-up: one call, and more while the engine is still picking its matmul tile from large products (BERT-base
  // picks in its second forward pass); decoding's products are too small to take part
  await call();
  for (let w = 0; w < 3 && (tileTrialOf(engine.runtime)?.timings.size ?? 0) > 0; w++) await call();
  out.matmulTile = engine.kernels.matmul;
  for (let r = 0; r < sizes.runs; r++) {
    const { time, cpu, tokens } = await call();
    (out.runs as (number[] | number)[]).push(time);
    (out.cpu as (number[] | number)[]).push(cpu);
    out.tokens.push(tokens);
  }
  model.dispose();
  await engine.dispose();
  return out;
}
