// ONNX Runtime Web, wasm execution provider (the SIMD + threads build, ort-wasm-simd-threaded.wasm),
// running a one-node MatMul model built in memory. B is an initializer (a weight baked into the model,
// as a linear layer's weight is); A is fed on every run, so each run copies A into the wasm heap and
// C out of it: what a user calling `session.run` sees.
//
// Threads: `ort.env.wasm.numThreads` is read once, when the first session initialises the wasm module
// (a second `initializeWebAssembly` is refused), so one process measures one thread count; the suite
// runs each configuration in its own process. In Node the threaded build works without
// cross-origin isolation (workers are worker_threads).
import * as ort from 'onnxruntime-web';
import type { EngineConfig, MatmulEngine, MatmulEngineModule, PreparedMatmul } from './matmul-engine.js';
import { matmulModel } from './onnx-model.js';

let initialisedWith: number | undefined;

const onnxruntimeWeb: MatmulEngineModule = {
  name: 'onnxruntime-web',
  configs: (cores) => [...new Set([1, cores])].map((threads) => ({ threads })),
  async create(config: EngineConfig): Promise<MatmulEngine> {
    if (initialisedWith !== undefined && initialisedWith !== config.threads) {
      throw new Error(`onnxruntime-web already initialised with ${initialisedWith} threads in this process`);
    }
    initialisedWith = config.threads;
    const bAsInput = config.variant === 'b-input';
    ort.env.wasm.numThreads = config.threads;
    ort.env.logLevel = 'error';
    const engine: MatmulEngine = {
      name: 'onnxruntime-web',
      get threads() {
        return ort.env.wasm.numThreads ?? config.threads; // ORT lowers it to 1 where threads are unavailable
      },
      note: `ort ${ort.env.versions.web}, wasm EP simd-threaded; B ${bAsInput ? 'fed per run' : 'initializer'}, A fed per run, C copied out`,
      async setup(M, K, N, a, b): Promise<PreparedMatmul> {
        const model = matmulModel(M, K, N, bAsInput ? null : b);
        const session = await ort.InferenceSession.create(model, {
          executionProviders: ['wasm'],
          graphOptimizationLevel: 'all',
        });
        const feeds: Record<string, ort.Tensor> = { A: new ort.Tensor('float32', a, [M, K]) };
        if (bAsInput) feeds.B = new ort.Tensor('float32', b, [K, N]);
        let last: ort.Tensor | undefined;
        return {
          async run() {
            const out = await session.run(feeds);
            last = out.C;
          },
          async output() {
            if (last === undefined) throw new Error('output() before run()');
            return (last.data as Float32Array).slice();
          },
          async release() {
            await session.release();
          },
        };
      },
      dispose: () => undefined,
    };
    return engine;
  },
};

export default onnxruntimeWeb;
