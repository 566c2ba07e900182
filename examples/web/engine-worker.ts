// The engine lives here, in a worker: the page never blocks, and threads can wait on Atomics.
import { Session } from './session.js';

let session: Session | undefined;
type In =
  | { type: 'train'; text: string; steps: number; threads: number; seed: number }
  | {
      type: 'generate';
      prompt: string;
      maxNewTokens: number;
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
      let t0 = performance.now();
      for (let i = 0; i < m.steps; i++) {
        const r = session.step();
        const now = performance.now();
        post({ type: 'step', ...r, tokensPerSecond: (8 * 64) / ((now - t0) / 1000) });
        t0 = now;
        if (i % 4 === 3) await new Promise((res) => setTimeout(res, 0)); // let messages out
      }
      post({ type: 'trained' });
    } else if (m.type === 'generate') {
      if (!session) throw new Error('train first');
      for await (const piece of session.generate(m.prompt, m)) post({ type: 'token', text: piece });
      post({ type: 'generated' });
    } else if (m.type === 'save') {
      if (!session) throw new Error('train first');
      const files = [...session.files()].map(([name, bytes]) => ({ name, bytes }));
      post(
        { type: 'files', files },
        files.map((f) => f.bytes.buffer as ArrayBuffer),
      );
    }
  } catch (err) {
    post({ type: 'error', message: String((err as Error).message ?? err) });
  }
};
