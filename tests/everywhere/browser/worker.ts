// The engine in a Web Worker (a page's main thread may not block in Atomics.wait): loads a checkpoint
// over HTTP, runs the same forward + 20 greedy tokens as scripts/same-script.mjs, then a few training
// steps on one batch. Bundled by the test with esbuild (the wasm is found through import.meta.url).
import type { Gpt2Config } from '../../../src/io/config.js';
import type { LmBatch } from '../../../src/models/gpt.js';
import { loadModel } from '../../../src/models/load.js';
import { Engine } from '../../../src/tensor/engine.js';
import { Trainer } from '../../../src/train/trainer.js';

self.onmessage = async (e: MessageEvent<{ threads: number; checkpoint: string }>) => {
  try {
    const { threads, checkpoint } = e.data;
    const engine = await Engine.create({ threads });
    const model = await loadModel(engine, new URL(checkpoint, self.location.href));
    const ids = model.tokenizer!.encode('The jury said', undefined, { addSpecialTokens: false }).ids;
    const logits = engine.noGrad(() => model.forward({ inputIds: [ids] }).logits.toArray());
    let checksum = 0;
    const bits = new Int32Array(logits.buffer, logits.byteOffset, logits.length);
    for (let i = 0; i < bits.length; i++) checksum = (checksum * 31 + bits[i]!) | 0;
    engine.endStep();
    const tokens: number[] = [];
    for await (const t of model.generate(ids, { maxNewTokens: 20 })) tokens.push(t);
    // a few training steps on one batch: the loss must go down
    const T = 16;
    const text = model.tokenizer!.encode('the cat sat on the mat and the dog sat on the log', undefined, { addSpecialTokens: false }).ids;
    const batch: LmBatch = { inputIds: Int32Array.from(text.slice(0, T)), targets: Int32Array.from(text.slice(1, T + 1)), B: 1, T };
    const trainer = new Trainer(model, { lr: 1e-2, totalSteps: 20, schedule: 'constant' });
    const losses: number[] = [];
    for (let s = 0; s < 12; s++) losses.push(trainer.step(batch).loss);
    const config = model.config as Gpt2Config;
    (self as unknown as Worker).postMessage({
      ok: true,
      threads: engine.threads,
      build: engine.runtime.build,
      isolated: (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated ?? false,
      tokens,
      checksum,
      losses,
      layers: config.n_layer,
    });
    await engine.dispose();
  } catch (err) {
    (self as unknown as Worker).postMessage({ ok: false, error: String((err as Error).stack ?? err) });
  }
};
