// TensorFlow.js 4.22 with @tensorflow/tfjs-backend-wasm (XNNPACK): tf.matMul on 2-D tensors made once,
// dataSync() to wait for C and copy it out.
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
import type { EngineConfig, MatmulEngine, MatmulEngineModule, PreparedMatmul } from './matmul-engine.js';

const require = createRequire(import.meta.url);
let initialised: string | undefined;

/** Applies the three shims of 'threads-forced'; returns the undo function (called once the backend is up). */
function forceThreads(threads: number): { undo: () => void; tempDir: string } {
  const tempDir = mkdtempSync(join(os.tmpdir(), 'simdformer-bench-tfjs-'));
  const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
    wasmWorkerContents: string;
  };
  const factory = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js') as { default?: unknown };
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
  URL.createObjectURL = ((obj: Blob) => (obj.type === 'application/javascript' ? workerPath : createObjectURL(obj))) as typeof URL.createObjectURL;
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
 * Starts TF.js's wasm backend once per process: 'out-of-the-box' (1 thread in Node) or 'threads-forced'.
 * Returns the thread count it runs and a clean-up for the temp files of the forced variant.
 */
export async function initTfjsWasm(threads: number, variant: 'out-of-the-box' | 'threads-forced'): Promise<{ threads: number; cleanup: () => void }> {
  if (initialised !== undefined) throw new Error(`tfjs wasm backend already initialised (${initialised}) in this process`);
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
  } else {
    if (threads !== 1) throw new RangeError('tfjs-wasm out of the box runs one thread in Node');
    await tf.setBackend('wasm');
    await tf.ready();
  }
  if (tf.getBackend() !== 'wasm') throw new Error(`tfjs backend is ${tf.getBackend()}, not wasm`);
  const running = tfwasm.getThreadsCount();
  if (running !== threads) throw new Error(`tfjs-wasm asked for ${threads} threads, runs ${running}`);
  return { threads: running, cleanup: () => tempDir !== undefined && rmSync(tempDir, { recursive: true, force: true }) };
}

const tfjsWasm: MatmulEngineModule = {
  name: 'tfjs-wasm',
  configs: (cores) => [
    { threads: 1, variant: 'out-of-the-box' },
    ...(cores > 1 ? [{ threads: cores, variant: 'threads-forced' }] : []),
  ],
  async create(config: EngineConfig): Promise<MatmulEngine> {
    const variant = config.variant ?? 'out-of-the-box';
    if (variant !== 'out-of-the-box' && variant !== 'threads-forced') throw new RangeError(`unknown tfjs-wasm variant "${variant}"`);
    const { threads, cleanup } = await initTfjsWasm(config.threads, variant);
    return {
      name: 'tfjs-wasm',
      threads,
      note: `tfjs ${tf.version_core}, ${variant === 'threads-forced' ? 'threaded-simd build, threads forced' : 'simd build (out of the box)'}; C copied out`,
      async setup(M, K, N, a, b): Promise<PreparedMatmul> {
        const ta = tf.tensor2d(a, [M, K]);
        const tb = tf.tensor2d(b, [K, N]);
        let last: Float32Array | undefined;
        return {
          run() {
            const c = tf.matMul(ta, tb);
            last = c.dataSync() as Float32Array;
            c.dispose();
          },
          async output() {
            if (last === undefined) throw new Error('output() before run()');
            return last.slice();
          },
          release() {
            ta.dispose();
            tb.dispose();
          },
        };
      },
      dispose() {
        cleanup();
      },
    };
  },
};

export default tfjsWasm;
