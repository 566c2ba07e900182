// Node, Deno and Bun: `<runtime> cli.mjs <threads> [checkpoint folder] [--simd=relaxed]` runs the same
// script against the built package (dist/) and prints its result as one line of JSON.
import * as simdformer from '../../../dist/index.js';
import { sameScript } from './same-script.mjs';

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const simd = args.find((a) => a.startsWith('--simd='))?.slice('--simd='.length);
const [threads, checkpoint] = args.filter((a) => !a.startsWith('--'));
const result = await sameScript(simdformer, { threads: Number(threads), checkpoint, simd });
console.log(JSON.stringify(result));
