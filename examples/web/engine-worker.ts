// The engine lives here, in a worker: the page never blocks, and threads can wait on Atomics.
import { TuneSession, type TuneMode } from './finetune.js';
import { Session } from './session.js';

let session: Session | undefined;
let tuning: TuneSession | undefined;
type In =
  | { type: 'load'; from: string | File[]; threads: number; memoryMiB: number }
  | { type: 'tune'; text: string; steps: number; lr: number; seed: number; prompt: string; mode?: TuneMode }
  | { type: 'train'; text: string; steps: number; threads: number; seed: number }
  | {
      type: 'generate';
      prompt: string;
      maxNewTokens: number;
      greedy: boolean;
      temperature: number;
      topK: number;
      topP: number;
      seed: number;
    }
  | { type: 'save' };

const post = (m: unknown, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = async (e: MessageEvent<In>) => {
  const m = e.data;
  try {
    if (m.type === 'train') {
      await session?.dispose();
      session = await Session.start(m.text, { threads: m.threads, seed: m.seed, steps: m.steps });
      post({
        type: 'started',
        threads: session.engine.threads,
        build: session.engine.runtime.build,
        isolated: (self as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated,
      });
      const began = performance.now();
      let t0 = began;
      let last = { step: 0, loss: NaN };
      for (let i = 0; i < m.steps; i++) {
        const r = (last = session.step());
        const now = performance.now();
        post({ type: 'step', ...r, tokensPerSecond: (8 * 64) / ((now - t0) / 1000) });
        t0 = now;
        if (i % 4 === 3) await new Promise((res) => setTimeout(res, 0)); // let messages out
      }
      post({ type: 'trained', steps: m.steps, loss: last.loss, seconds: (performance.now() - began) / 1000 });
    } else if (m.type === 'generate') {
      if (!session) throw new Error('train first');
      const pieces = session.generate(m.prompt, m);
      let next = await pieces.next();
      for (; !next.done; next = await pieces.next()) post({ type: 'token', text: next.value });
      post({ type: 'generated', seed: m.seed, greedy: m.greedy, finish: next.value });
    } else if (m.type === 'load') {
      await tuning?.dispose();
      tuning = undefined;
      tuning = await TuneSession.load(m.from, {
        threads: m.threads,
        memoryMiB: m.memoryMiB,
        onProgress: (p) => post({ type: 'loading', ...p }),
      });
      const c = tuning.model.config;
      post({
        type: 'loaded',
        modelType: c.model_type,
        parameters: tuning.parameters,
        mode: tuning.chooseMode(),
        memory: tuning.memory(),
      });
    } else if (m.type === 'tune') {
      if (!tuning) throw new Error('load a checkpoint first');
      post({ type: 'before', text: await tuning.continueText(m.prompt, 40) });
      const mode = tuning.start(m.text, { steps: m.steps, lr: m.lr, seed: m.seed, mode: m.mode });
      const began = performance.now();
      let t0 = began;
      let last = { step: 0, loss: NaN };
      for (let i = 0; i < m.steps; i++) {
        const r = (last = tuning.step());
        const now = performance.now();
        post({
          type: 'tuneStep',
          ...r,
          mode,
          tokensPerSecond: tuning.tokensPerStep / ((now - t0) / 1000),
          memory: tuning.memory(),
        });
        t0 = now;
        if (i % 2 === 1) await new Promise((res) => setTimeout(res, 0)); // let messages out
      }
      post({ type: 'after', text: await tuning.continueText(m.prompt, 40) });
      post({ type: 'tuned', steps: m.steps, loss: last.loss, seconds: (performance.now() - began) / 1000 });
    } else if (m.type === 'save') {
      if (!session) throw new Error('train first');
      const files = [...session.files()].map(([name, bytes]) => ({ name, bytes }));
      post(
        { type: 'files', files },
        files.map((f) => f.bytes.buffer as ArrayBuffer),
      );
    }
  } catch (err) {
    post({ type: 'error', during: m.type, message: String((err as Error).message ?? err) });
  }
};
