// simdformer on an edge runtime (Cloudflare's workerd): serves greedy or sampled completions over HTTP
// from a checkpoint bundled with the worker. Edge runtimes refuse to compile wasm from bytes at run
// time, so the kernels come in as a module binding (`import kernels from './simdformer.wasm'`), and
// there are no workers: one thread, the single-thread build.
//
//   POST / {"prompt": "The jury said", "maxNewTokens": 20, "doSample": false, "temperature": 1,
//           "topK": 0, "topP": 1, "seed": 0, "contextFull": "stop" | "slide"}
//   → 200 {"completion": "…", "tokens": [..], "finishReason": "length" | "eos" | "context"}
//   | 400 {"error": "…"}  |  500 {"error": "…"}
import configText from './config.json';
import weights from './model.safetensors';
import kernels from './simdformer.wasm';
import tokenizerText from './tokenizer.json';
import {
  asCausalLM,
  decodeCheckpoint,
  Engine,
  modelFromCheckpoint,
  SimdformerError,
  type CausalModel,
} from '../../src/index.js';

let ready: Promise<CausalModel> | undefined;

function model(): Promise<CausalModel> {
  ready ??= (async () => {
    const engine = await Engine.create({ threads: 1, wasm: { single: kernels } });
    const enc = new TextEncoder();
    const files = new Map<string, Uint8Array>([
      ['config.json', enc.encode(configText)],
      ['tokenizer.json', enc.encode(tokenizerText)],
      ['model.safetensors', new Uint8Array(weights)],
    ]);
    return asCausalLM(
      modelFromCheckpoint(
        engine,
        decodeCheckpoint((n) => files.get(n), 'bundled checkpoint'),
      ),
    );
  })();
  return ready;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

interface CompletionRequest {
  prompt: string;
  maxNewTokens?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  contextFull?: 'stop' | 'slide';
}

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method !== 'POST') return json(405, { error: 'POST a JSON body {"prompt": "…"}' });
    let body: CompletionRequest;
    try {
      body = (await request.json()) as CompletionRequest;
    } catch {
      return json(400, { error: 'the body is not JSON' });
    }
    if (!body || typeof body.prompt !== 'string' || body.prompt.length === 0) {
      return json(400, { error: 'expected {"prompt": "<non-empty text>", "maxNewTokens"?: number, …}' });
    }
    const maxNewTokens = body.maxNewTokens ?? 20;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0 || maxNewTokens > 512) {
      return json(400, { error: 'maxNewTokens must be an integer from 0 to 512' });
    }
    try {
      const m = await model();
      const tok = m.tokenizer!;
      const ids = tok.encode(body.prompt, undefined, { addSpecialTokens: false }).ids;
      const tokens: number[] = [];
      const stream = m.generate(ids, { ...body, maxNewTokens });
      let next = await stream.next();
      for (; !next.done; next = await stream.next()) tokens.push(next.value);
      return json(200, { completion: tok.decode(tokens), tokens, finishReason: next.value.finishReason });
    } catch (err) {
      // bad input (too long a prompt, bad sampling options) is the client's; anything else is ours
      if (err instanceof SimdformerError) return json(400, { error: err.message, code: err.code });
      return json(500, { error: String(err) });
    }
  },
};
