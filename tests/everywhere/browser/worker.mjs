// The engine in a Web Worker (a page's main thread may not block in Atomics.wait) runs the same script as
// Node, Deno and Bun, against the built package, with the checkpoint fetched from the page's server.
// Bundled by browser.test.ts with esbuild; the kernels are found through new URL(…, import.meta.url).
import * as simdformer from '../../../dist/index.js';
import { sameScript } from '../scripts/same-script.mjs';

self.onmessage = async (e) => {
  try {
    const { threads, checkpoint, simd } = e.data;
    const result = await sameScript(simdformer, { threads, simd, checkpoint: new URL(checkpoint, self.location.href) });
    self.postMessage({ ok: true, result, isolated: self.crossOriginIsolated === true });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err?.stack ?? err) });
  }
};
