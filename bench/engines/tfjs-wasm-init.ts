// Starting TensorFlow.js 4.22 on its wasm backend (@tensorflow/tfjs-backend-wasm, XNNPACK) in Node at a
// chosen thread count; shared by the tfjs-wasm matmul engine and the tfjs-gpt model engine.
//
// Two variants:
// - 'out-of-the-box': what Node users get. The backend's WASM_HAS_MULTITHREAD_SUPPORT flag is false
//   under IS_NODE, so the non-threaded SIMD build loads: one thread.
// - 'threads-forced': three shims, all applied before tf.setBackend('wasm') and undone after:
//   1. tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true) → the threaded-simd build loads;
//   2. Emscripten's pthread workers are created from blob: URLs (URL.createObjectURL), which Node's
//      worker_threads cannot load: the worker script is written to a temp .cjs file and
//      createObjectURL answers its path; inside the worker the same trick serves the main script;
//   3. the C++ side caps threads at emscripten_num_logical_cores()/2 (= os.cpus().length/2 in Node,
//      "hyper-threading"), 1 here, whatever setThreadsCount asks: os.cpus() is doubled during start-up,
//      then setThreadsCount(n) gives n.
// The backend initialises once per process, so each variant runs in its own process.
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';

export type TfjsWasmVariant = 'out-of-the-box' | 'threads-forced';

export interface TfjsWasm {
  readonly threads: number; // tfwasm.getThreadsCount() once up
  readonly variant: TfjsWasmVariant;
  /** e.g. "tfjs 4.22.0, simd build (out of the box)". */
  readonly description: string;
  /** Removes the temp worker files (threads-forced); the backend itself stays up until the process ends. */
  dispose(): void;
}

const require = createRequire(import.meta.url);
let initialised: string | undefined;

/** Applies the three shims of 'threads-forced'; returns the undo function (called once the backend is up). */
function forceThreads(threads: number): { undo: () => void; tempDir: string } {
  const tempDir = mkdtempSync(join(os.tmpdir(), 'simdformer-bench-tfjs-'));
  const { wasmWorkerContents } =
    require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
      wasmWorkerContents: string;
    };
  const factory = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js') as {
    default?: unknown;
  };
  const mainPath = join(tempDir, 'main.cjs');
  writeFileSync(mainPath, `var WasmBackendModuleThreadedSimd = ${String(factory.default ?? factory)}`);
  const workerPath = join(tempDir, 'worker.cjs');
  // tfjs escapes newlines the same way before making its Blob (the contents hold "\n" inside strings).
  writeFileSync(
    workerPath,
    `URL.createObjectURL = () => ${JSON.stringify(mainPath)}; URL.revokeObjectURL = () => {};\n` +
      wasmWorkerContents.replace(/\n/g, '\\n'),
  );

  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = ((obj: Blob) =>
    obj.type === 'application/javascript' ? workerPath : createObjectURL(obj)) as typeof URL.createObjectURL;
  const nodeOs = require('os') as typeof os; // the object Emscripten's require("os") sees
  const cpus = nodeOs.cpus;
  nodeOs.cpus = () => [...cpus(), ...cpus()];
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  tfwasm.setThreadsCount(threads);
  return {
    tempDir,
    undo: () => {
      URL.createObjectURL = createObjectURL;
      nodeOs.cpus = cpus;
    },
  };
}

/**
 * Sets the wasm backend up at `threads` threads: 'out-of-the-box' (1 thread only) or 'threads-forced'
 * (default: out of the box for 1 thread, forced otherwise). Once per process; throws on a second call
 * or when the backend does not come up with the asked thread count.
 */
export async function initTfjsWasm(
  threads: number,
  variant: TfjsWasmVariant = threads === 1 ? 'out-of-the-box' : 'threads-forced',
): Promise<TfjsWasm> {
  if (initialised !== undefined)
    throw new Error(`tfjs wasm backend already initialised (${initialised}) in this process`);
  initialised = `${variant}, ${threads} threads`;
  let tempDir: string | undefined;
  if (variant === 'threads-forced') {
    const forced = forceThreads(threads);
    tempDir = forced.tempDir;
    try {
      await tf.setBackend('wasm');
      await tf.ready();
    } finally {
      forced.undo();
    }
  } else if (variant === 'out-of-the-box') {
    if (threads !== 1) throw new RangeError('tfjs-wasm out of the box runs one thread in Node');
    await tf.setBackend('wasm');
    await tf.ready();
  } else {
    throw new RangeError(`unknown tfjs-wasm variant "${String(variant)}"`);
  }
  if (tf.getBackend() !== 'wasm') throw new Error(`tfjs backend is ${tf.getBackend()}, not wasm`);
  const running = tfwasm.getThreadsCount();
  if (running !== threads) throw new Error(`tfjs-wasm asked for ${threads} threads, runs ${running}`);
  return {
    threads: running,
    variant,
    description: `tfjs ${tf.version_core}, ${variant === 'threads-forced' ? 'threaded-simd build, threads forced' : 'simd build (out of the box)'}`,
    dispose() {
      if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
      tempDir = undefined;
    },
  };
}
