// The same small script under Node, Deno and Bun: load a checkpoint written by simdformer, run a
// forward pass, greedy-generate 20 tokens; print JSON (threads used, tokens, a logits checksum).
import { Engine, loadModel } from '../../../dist/index.js';

const dir = (globalThis.Deno ? Deno.args : process.argv.slice(2))[0];
const threads = Number((globalThis.Deno ? Deno.args : process.argv.slice(2))[1] ?? 2);
const engine = await Engine.create({ threads });
const model = await loadModel(engine, dir);
const ids = model.tokenizer.encode('The jury said', undefined, { addSpecialTokens: false }).ids;
const logits = engine.noGrad(() => model.forward({ inputIds: [ids] }).logits.toArray());
let checksum = 0;
for (let i = 0; i < logits.length; i++) checksum = (checksum * 31 + new Int32Array(logits.buffer, i * 4, 1)[0]) | 0;
engine.endStep();
const tokens = [];
for await (const t of model.generate(ids, { maxNewTokens: 20 })) tokens.push(t);
console.log(JSON.stringify({ threads: engine.threads, build: engine.runtime.build, tokens, checksum }));
await engine.dispose();
