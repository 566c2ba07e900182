// The baseline a JavaScript user would write: an i-k-j triple loop over Float32Arrays
// (row-major; the inner loop walks B and C contiguously, so V8 keeps it in registers and cache).
import type { EngineConfig, MatmulEngine, MatmulEngineModule, PreparedMatmul } from './matmul-engine.js';

/** c (M×N) = a (M×K) · b (K×N). Accumulates in float32, as the engines do. */
export function matmulIkj(c: Float32Array, a: Float32Array, b: Float32Array, M: number, K: number, N: number): void {
  c.fill(0);
  for (let i = 0; i < M; i++) {
    const ci = i * N;
    for (let k = 0; k < K; k++) {
      const aik = a[i * K + k];
      const bk = k * N;
      for (let j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

const plainJs: MatmulEngineModule = {
  name: 'plain-js',
  configs: () => [{ threads: 1 }],
  async create(config: EngineConfig): Promise<MatmulEngine> {
    if (config.threads !== 1) throw new RangeError(`plain-js runs on one thread, asked for ${config.threads}`);
    return {
      name: 'plain-js',
      threads: 1,
      note: 'i-k-j loop over Float32Array',
      async setup(M, K, N, a, b): Promise<PreparedMatmul> {
        const c = new Float32Array(M * N);
        return {
          run: () => matmulIkj(c, a, b, M, K, N),
          output: async () => c.slice(),
          release: () => undefined,
        };
      },
      dispose: () => undefined,
    };
  },
};

export default plainJs;
