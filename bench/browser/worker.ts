import { measureAll } from './measure.js';

self.onmessage = async (e: MessageEvent<{ threads: number }>) => {
  try {
    (self as unknown as Worker).postMessage({ ok: true, rows: await measureAll(e.data.threads) });
  } catch (err) {
    (self as unknown as Worker).postMessage({ ok: false, error: String((err as Error).stack ?? err) });
  }
};
