// TensorFlow.js 4.22 with @tensorflow/tfjs-backend-wasm (XNNPACK): tf.matMul on 2-D tensors made once,
// dataSync() to wait for C and copy it out.
//
// Variants ('out-of-the-box': the non-threaded SIMD build Node users get; 'threads-forced': the
// threaded-simd build forced on): see tfjs-wasm-init.ts. The backend initialises once per process,
// so each variant runs in its own process.
import * as tf from '@tensorflow/tfjs';
import type { EngineConfig, MatmulEngine, MatmulEngineModule, PreparedMatmul } from './matmul-engine.js';
import { initTfjsWasm, type TfjsWasmVariant } from './tfjs-wasm-init.js';

const tfjsWasm: MatmulEngineModule = {
  name: 'tfjs-wasm',
  configs: (cores) => [
    { threads: 1, variant: 'out-of-the-box' },
    ...(cores > 1 ? [{ threads: cores, variant: 'threads-forced' }] : []),
  ],
  async create(config: EngineConfig): Promise<MatmulEngine> {
    const variant = config.variant ?? 'out-of-the-box';
    if (variant !== 'out-of-the-box' && variant !== 'threads-forced')
      throw new RangeError(`unknown tfjs-wasm variant "${variant}"`);
    const backend = await initTfjsWasm(config.threads, variant as TfjsWasmVariant);
    const threads = backend.threads;
    return {
      name: 'tfjs-wasm',
      threads,
      note: `${backend.description}; C copied out`,
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
        backend.dispose();
      },
    };
  },
};

export default tfjsWasm;
