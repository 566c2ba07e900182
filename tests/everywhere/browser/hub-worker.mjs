// In a Web Worker of Chromium, against the built package: loadModel('hf://tiny/gpt2') from a hub stand-in on
// the page's own server (127.0.0.1), twice (the second load must come from the Cache API: no fetch at all),
// then from File objects, as a dropped folder gives them, then a sharded copy twice (the second from the cache). Reports a checksum of the weights of each load.
import * as simdformer from '../../../dist/index.js';

const checksum = (model) => {
  let sum = 0;
  for (const t of model.namedParameters().values()) {
    const v = t.toArray();
    for (let i = 0; i < v.length; i += 7) sum += v[i] * ((i % 13) + 1);
  }
  return sum;
};

self.onmessage = async (e) => {
  try {
    const { hub } = e.data;
    const engine = await simdformer.Engine.create({ threads: 2 });
    const fetched = [];
    const counting = (url, init) => {
      fetched.push(String(url));
      return fetch(url, init);
    };
    await caches.delete('simdformer-hub');
    const progress = [];
    const first = await simdformer.loadModel(engine, 'hf://tiny/gpt2', {
      hub,
      fetch: counting,
      onProgress: (p) => progress.push(`${p.phase} ${p.file} ${p.loaded}/${p.total}`),
    });
    const firstFetches = fetched.length;
    const second = await simdformer.loadModel(engine, 'hf://tiny/gpt2', { hub, fetch: counting });
    const secondFetches = fetched.length - firstFetches;
    const cache = await caches.open('simdformer-hub');
    const cached = (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
    const folder = `${hub}/tiny/gpt2/resolve/main/`;
    const files = [];
    for (const name of ['config.json', 'model.safetensors', 'tokenizer.json']) {
      files.push(new File([await (await fetch(folder + name)).arrayBuffer()], name));
    }
    const third = await simdformer.loadModel(engine, files);
    // sharded: no model.safetensors (remembered as absent in the cache), an index and two shards
    const before = fetched.length;
    const sharded = await simdformer.loadModel(engine, 'hf://tiny/sharded', { hub, fetch: counting });
    const shardedFetches = fetched.length - before;
    const shardedAgain = await simdformer.loadModel(engine, 'hf://tiny/sharded', { hub, fetch: counting });
    const result = {
      checksums: [checksum(first), checksum(second), checksum(third), checksum(sharded), checksum(shardedAgain)],
      shardedFetches,
      shardedAgainFetches: fetched.length - before - shardedFetches,
      vocab: third.tokenizer?.vocabSize,
      firstFetches,
      secondFetches,
      cached,
      lastProgress: progress.at(-1),
      threads: engine.threads,
    };
    for (const m of [first, second, third, sharded, shardedAgain]) m.dispose();
    await engine.dispose();
    self.postMessage({ ok: true, result });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err?.stack ?? err) });
  }
};
