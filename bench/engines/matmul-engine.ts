// The interface every matmul engine in the benchmarks implements (plain JS, onnxruntime-web,
// tfjs-wasm, simdformer). One engine module = one file in bench/engines/ default-exporting a
// `MatmulEngineModule`; the suite runs each of its configurations in a fresh process, checks it
// against plain JS on a ragged shape, then times `run()` on every shape.
//
// The smallest engine file:
//   const mine: MatmulEngineModule = {
//     name: 'mine',
//     configs: (cores) => [{ threads: 1 }, { threads: cores }],
//     async create({ threads }) {
//       const ctx = await start(threads);
//       return {
//         name: 'mine', threads, note: 'what is timed',
//         async setup(M, K, N, a, b) {
//           const c = new Float32Array(M * N);
//           return { run: () => ctx.matmul(c, a, b, M, K, N), output: async () => c.slice(), release: () => {} };
//         },
//         dispose: () => ctx.close(),
//       };
//     },
//   };
//   export default mine;

/** One way to run an engine: a thread count, and a variant where an engine has several set-ups. */
export interface EngineConfig {
  threads: number;
  variant?: string;
}

export interface MatmulEngineModule {
  readonly name: string;
  /** The configurations worth measuring on a machine with `cores` logical cores. */
  configs(cores: number): EngineConfig[];
  /** Called once per process (engines may fix their thread count at first initialisation). */
  create(config: EngineConfig): Promise<MatmulEngine>;
}

export interface MatmulEngine {
  readonly name: string;
  /** Threads the engine really uses (read back from the engine where it can tell). */
  readonly threads: number;
  /** How it is set up, printed beside its numbers (build, what is copied per call, …). */
  readonly note?: string;
  /**
   * Prepares C (M×N) = A (M×K) · B (K×N), row-major float32. Everything a user would do once
   * (load weights, build a session, upload B) happens here; `a` and `b` are not changed afterwards.
   */
  setup(M: number, K: number, N: number, a: Float32Array, b: Float32Array): Promise<PreparedMatmul>;
  dispose(): Promise<void> | void;
}

export interface PreparedMatmul {
  /** One full multiply of the same A and B: C is complete when it returns (or resolves). */
  run(): Promise<void> | void;
  /** C (M×N) of the last run, copied out. Used for the correctness check, never timed. */
  output(): Promise<Float32Array>;
  /** Frees what `setup` allocated. */
  release(): Promise<void> | void;
}
