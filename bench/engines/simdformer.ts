// simdformer's side of the matmul benchmark: A and B live in the engine's memory (as weights and
// activations do), C is written in place; timed: pack_a_f32 + pack_b_f32 + matmul_f32 over the pool.
// Configurations: the tile the engine picks ('auto', no variant), each tile pinned (variant '4x8', …), relaxed.
import { MATMUL_TILE_NAMES, type MatmulTile } from '../../src/runtime/kernels.js';
import { Engine } from '../../src/tensor/engine.js';
import { matmulInto } from '../../src/tensor/ops/matmul.js';
import type { EngineConfig, MatmulEngine, MatmulEngineModule, PreparedMatmul } from './matmul-engine.js';

const simdformer: MatmulEngineModule = {
  name: 'simdformer',
  configs: (cores) => [
    { threads: 1 },
    { threads: cores },
    ...MATMUL_TILE_NAMES.flatMap((variant) => [
      { threads: 1, variant },
      { threads: cores, variant },
    ]),
    { threads: 1, variant: 'relaxed' },
    { threads: cores, variant: 'relaxed' },
  ],
  async create(config: EngineConfig): Promise<MatmulEngine> {
    const relaxed = config.variant === 'relaxed';
    const tile = (MATMUL_TILE_NAMES as readonly string[]).includes(config.variant ?? '')
      ? (config.variant as MatmulTile)
      : 'auto';
    const engine = await Engine.create({
      threads: config.threads,
      simd: relaxed ? 'relaxed' : 'plain',
      kernels: tile,
    });
    return {
      name: 'simdformer',
      threads: engine.threads,
      note: `${engine.runtime.build} build, matmul tile ${tile === 'auto' ? 'auto (picked from its first large products)' : `${tile} (pinned)`}; A, B in engine memory; packs A and B each call`,
      async setup(M, K, N, a, b): Promise<PreparedMatmul> {
        const ta = engine.tensor(a, [M, K]);
        const tb = engine.tensor(b, [K, N]);
        const tc = engine.empty([M, N]);
        return {
          run: () => matmulInto(engine.runtime, tc.ptr, ta.ptr, tb.ptr, M, N, K),
          output: async () => tc.toArray(),
          release: () => {
            for (const t of [ta, tb, tc]) t.dispose();
          },
        };
      },
      dispose: () => engine.dispose(),
    };
  },
};

export default simdformer;
