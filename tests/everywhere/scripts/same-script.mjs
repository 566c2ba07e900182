// The same small script in every runtime. Node, Deno and Bun run it from the command line (cli.mjs),
// Chromium in a Web Worker (../browser/worker.mjs), workerd in a worker (../edge/probe-worker.mjs), and
// the package test from the installed package. It is handed the package's exports (the built dist/, a
// bundle of it, or node_modules/simdformer), so it never imports the engine itself.
//
// It returns plain JSON. Apart from `runtime`, `threads`, `build` and `simd`, every field must be
// bit-identical in every runtime and at every thread count for one `simd` (the plain builds: same kernels,
// fixed summation order; the relaxed build where the runtime fuses its multiply-add, else the plain one).
// Floats are compared through hashes of their bits, never through printed decimals.

/** FNV-1a over the bits of float32 values: 8 hex digits. */
export function bitsHash(values) {
  const words = new Uint32Array(Float32Array.from(values).buffer);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    for (let s = 0; s < 32; s += 8) h = Math.imul(h ^ ((words[i] >>> s) & 0xff), 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** n values in [-1, 1) from mulberry32: integer arithmetic, the same floats in every runtime. */
function values(n, seed) {
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

function runtimeName() {
  const g = globalThis;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.process?.versions?.node) return `node ${g.process.versions.node}`;
  return g.navigator?.userAgent ?? 'unknown';
}

/**
 * @param simdformer the package's exports
 * @param options.threads threads to ask for (the result says how many the runtime gave)
 * @param options.simd Engine.create's `simd` ('plain' by default; the result says which build runs)
 * @param options.wasm Engine.create's `wasm` (edge runtimes: compiled modules)
 * @param options.checkpoint a folder path or URL (loadModel), or a Map of its files' bytes by name;
 *   without it only the engine part runs
 */
export async function sameScript(simdformer, { threads, wasm, checkpoint, simd }) {
  const { Engine, ops } = simdformer;
  const engine = await Engine.create({ threads, wasm, simd });
  try {
    const out = { runtime: runtimeName(), threads: engine.threads, build: engine.runtime.build, simd: engine.simd };

    // 1. the engine: the three matmuls a linear layer needs, on ragged sizes that split over threads
    // (6 output tiles of 64×128), and a causal softmax
    const [M, K, N] = [67, 129, 259];
    const a = engine.tensor(values(M * K, 1), [M, K]); // [M, K]
    const b = engine.tensor(values(K * N, 2), [K, N]); // [K, N]
    const bt = engine.tensor(values(N * K, 3), [N, K]); // [N, K], read as Bᵀ
    const at = engine.tensor(values(K * M, 4), [K, M]); // [K, M], read as Aᵀ
    out.matmul = {
      ab: bitsHash(engine.noGrad(() => ops.matmul(a, b)).toArray()),
      abT: bitsHash(engine.noGrad(() => ops.matmul(a, bt, { transposeB: true })).toArray()),
      aTb: bitsHash(engine.noGrad(() => ops.matmul(at, b, { transposeA: true })).toArray()),
    };
    const scores = engine.tensor(
      values(4 * 67 * 67, 5).map((v) => 30 * v),
      [4, 67, 67],
    ); // [H, Tq, Tk]
    out.softmax = bitsHash(ops.softmax(scores, { causal: true, scale: 0.125 }).toArray());
    engine.endStep();
    if (checkpoint === undefined) return out;

    // 2. a checkpoint: the logits of a prompt, then 20 greedy tokens
    const model =
      checkpoint instanceof Map
        ? simdformer.modelFromCheckpoint(
            engine,
            simdformer.decodeCheckpoint((n) => checkpoint.get(n), 'files'),
            'files',
          )
        : await simdformer.loadModel(engine, checkpoint);
    const ids = model.tokenizer.encode('The jury said', undefined, { addSpecialTokens: false }).ids;
    out.logits = bitsHash(engine.noGrad(() => model.forward({ inputIds: [ids] }).logits.toArray()));
    engine.endStep();
    out.tokens = [];
    for await (const t of model.generate(ids, { maxNewTokens: 20 })) out.tokens.push(t);

    // 3. training: AdamW steps on one batch (dropout on, masks seeded by step): losses, then the weights
    const T = 16;
    const text = model.tokenizer.encode('the cat sat on the mat and the dog sat on the log', undefined, {
      addSpecialTokens: false,
    }).ids;
    const batch = {
      inputIds: Int32Array.from(text.slice(0, T)),
      labels: Int32Array.from(text.slice(1, T + 1)),
      B: 1,
      T,
    };
    const trainer = new simdformer.Trainer(model, { lr: 1e-2, totalSteps: 8, schedule: 'constant', seed: 3 });
    out.losses = [];
    for (let s = 0; s < 8; s++) out.losses.push(trainer.step(batch).loss);
    out.weights = bitsHash([...model.namedParameters().values()].flatMap((p) => Array.from(p.toArray())));
    return out;
  } finally {
    await engine.dispose();
  }
}
