// The same script on an edge runtime (workerd): the kernels are bound as a wasm module (compiling bytes
// is refused there) and the checkpoint's files as data modules; there are no workers, so whatever
// `threads` asks for, the engine runs one. Bundled with the built package by edge.test.ts (esbuild).
// `wasm` says which builds the engine is given: the single-thread one (default), both it and the relaxed
// one ('both'), or none (false); `simd` is Engine.create's.
//
//   POST {"threads"?: number, "wasm"?: false | "single" | "both", "simd"?: "plain" | "relaxed"}
//   → 200 the same script's JSON | 400 {"error"} | 500 {"error", "code"}
import * as simdformer from '../../../dist/index.js';
import { sameScript } from '../scripts/same-script.mjs';
import config from './config.json';
import weights from './model.safetensors';
import relaxedKernels from './simdformer.relaxed.wasm';
import kernels from './simdformer.wasm';
import tokenizer from './tokenizer.json';

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export default {
  async fetch(request) {
    let body;
    try {
      body = await request.json();
    } catch {
      return json(400, { error: 'the body is not JSON: POST {"threads"?: number}' });
    }
    if (
      body === null ||
      typeof body !== 'object' ||
      Array.isArray(body) ||
      !(body.threads === undefined || Number.isInteger(body.threads)) ||
      ![undefined, false, 'single', 'both'].includes(body.wasm) ||
      ![undefined, 'plain', 'relaxed'].includes(body.simd)
    ) {
      return json(400, {
        error: 'expected {"threads"?: integer, "wasm"?: false | "single" | "both", "simd"?: "plain" | "relaxed"}',
      });
    }
    const files = new Map([
      ['config.json', new Uint8Array(config)],
      ['tokenizer.json', new Uint8Array(tokenizer)],
      ['model.safetensors', new Uint8Array(weights)],
    ]);
    try {
      const wasm =
        body.wasm === false
          ? undefined
          : body.wasm === 'both'
            ? { single: kernels, relaxed: relaxedKernels }
            : { single: kernels };
      return json(
        200,
        await sameScript(simdformer, { threads: body.threads, wasm, simd: body.simd, checkpoint: files }),
      );
    } catch (err) {
      return json(500, { error: String(err?.message ?? err), code: err?.code });
    }
  },
};
