// Node, Deno and Bun: `<runtime> cli.mjs <threads> [checkpoint folder]` runs the same script against the
// built package (dist/) and prints its result as one line of JSON.
import * as simdformer from '../../../dist/index.js';
import { sameScript } from './same-script.mjs';

const [threads, checkpoint] = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const result = await sameScript(simdformer, { threads: Number(threads), checkpoint });
console.log(JSON.stringify(result));
