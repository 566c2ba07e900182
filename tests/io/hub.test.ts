import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArgumentError, CheckpointError, DownloadError } from '../../src/errors.js';
import { cacheFolder, cacheRoot } from '../../src/io/hub-cache.js';
import { DEFAULT_HUB, folderUrl } from '../../src/io/hub.js';
import type { WebCache } from '../../src/io/web-source.js';
import { loadModel, type LoadProgress } from '../../src/models/load.js';
import type { PretrainedModel } from '../../src/models/registry.js';
import { Engine } from '../../src/tensor/engine.js';
import { expectBitIdentical } from '../util/check.js';
import { startHub, type HubServer } from '../util/hub-server.js';
import { fixtureDir } from './fixtures.js';

const FIXTURE = fixtureDir('hf-tiny-random-gpt2');
const WEIGHTS_SIZE = 453864;

describe('hub names and URLs', () => {
  it('hf://owner/name is <hub>/owner/name/resolve/<revision>/, the real hub unless an option or SIMDFORMER_HUB says', () => {
    const saved = process.env['SIMDFORMER_HUB'];
    delete process.env['SIMDFORMER_HUB'];
    try {
      expect(DEFAULT_HUB).toBe('https://huggingface.co');
      expect(folderUrl('hf://gpt2')!.href).toBe('https://huggingface.co/gpt2/resolve/main/');
      expect(folderUrl('hf://openai-community/gpt2@v1.0')!.href).toBe(
        'https://huggingface.co/openai-community/gpt2/resolve/v1.0/',
      );
      expect(folderUrl('hf://google-t5/t5-small', { revision: 'abc123' })!.href).toBe(
        'https://huggingface.co/google-t5/t5-small/resolve/abc123/',
      );
      expect(folderUrl('hf://facebook/bart-base', { hub: 'http://127.0.0.1:9/' })!.href).toBe(
        'http://127.0.0.1:9/facebook/bart-base/resolve/main/',
      );
      process.env['SIMDFORMER_HUB'] = 'http://127.0.0.1:8/mirror';
      expect(folderUrl('hf://bert-base-uncased')!.href).toBe(
        'http://127.0.0.1:8/mirror/bert-base-uncased/resolve/main/',
      );
    } finally {
      if (saved === undefined) delete process.env['SIMDFORMER_HUB'];
      else process.env['SIMDFORMER_HUB'] = saved;
    }
    expect(folderUrl('http://127.0.0.1:7/models/gpt2')!.href).toBe('http://127.0.0.1:7/models/gpt2/');
    expect(folderUrl('/some/folder')).toBeNull();
    for (const bad of ['hf://', 'hf://a/b/c', 'hf://../x', 'hf://a b'])
      expect(() => folderUrl(bad)).toThrow(ArgumentError);
  });

  it('the cache folder follows the URL: <root>/hub/<host>/<path>, root from SIMDFORMER_CACHE', () => {
    const url = new URL('https://huggingface.co/openai-community/gpt2/resolve/main/');
    expect(cacheFolder(url, '/c')).toBe('/c/hub/huggingface.co/openai-community/gpt2/resolve/main');
    expect(cacheFolder(new URL('http://127.0.0.1:8080/a/resolve/main/'), '/c')).toBe(
      '/c/hub/127.0.0.1_8080/a/resolve/main',
    );
    const saved = process.env['SIMDFORMER_CACHE'];
    process.env['SIMDFORMER_CACHE'] = '/tmp/x';
    expect(cacheRoot()).toBe('/tmp/x');
    expect(cacheRoot('/y')).toBe('/y');
    if (saved === undefined) delete process.env['SIMDFORMER_CACHE'];
    else process.env['SIMDFORMER_CACHE'] = saved;
  });
});

describe('loading from a hub (a server on 127.0.0.1 laid out as the hub)', () => {
  let e: Engine;
  let hub: HubServer;
  let root: string;
  let cache: string;
  let reference: PretrainedModel;
  beforeAll(async () => {
    e = await Engine.create({ threads: 1 });
    root = await mkdtemp(join(tmpdir(), 'simdformer-hub-'));
    // a sharded copy of the fixture, and one with only a PyTorch pickle
    const sharded = join(root, 'sharded');
    await cp(FIXTURE, sharded, { recursive: true });
    await rm(join(sharded, 'model.safetensors'));
    const { readSafetensors, writeSafetensors } = await import('../../src/io/safetensors.js');
    const file = readSafetensors(await readFile(join(FIXTURE, 'model.safetensors')));
    const all = [...file.tensors.values()].map((t) => ({ name: t.name, shape: t.shape, data: t.data as Float32Array }));
    const halves = [all.slice(0, 20), all.slice(20)];
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < 2; s++) {
      await writeFile(join(sharded, names[s]!), writeSafetensors(halves[s]!));
      for (const t of halves[s]!) weightMap[t.name] = names[s]!;
    }
    await writeFile(
      join(sharded, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const pickle = join(root, 'pickle');
    await cp(FIXTURE, pickle, { recursive: true });
    await rm(join(pickle, 'model.safetensors'));
    await writeFile(join(pickle, 'pytorch_model.bin'), new Uint8Array(100));
    hub = await startHub({ 'tiny/gpt2': FIXTURE, 'tiny/sharded': sharded, 'tiny/pickle': pickle });
    reference = await loadModel(e, FIXTURE);
  });
  beforeEach(async () => {
    cache = await mkdtemp(join(root, 'cache-'));
    hub.log.length = 0;
  });
  afterAll(async () => {
    reference.dispose();
    await hub.close();
    await e.dispose();
    await rm(root, { recursive: true });
  });

  const expectReference = (m: PretrainedModel) => {
    for (const [n, t] of reference.namedParameters())
      expectBitIdentical(m.namedParameters().get(n)!.toArray(), t.toArray(), n);
    expect(m.tokenizer?.vocabSize).toBe(reference.tokenizer!.vocabSize);
    m.dispose();
  };
  const gets = (file: string) => hub.log.filter((r) => r.method === 'GET' && r.path.endsWith(`/${file}`));

  it('hf://owner/name downloads into the cache once, with progress; the second load asks the server nothing', async () => {
    const progress: LoadProgress[] = [];
    expectReference(await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache, onProgress: (p) => progress.push(p) }));
    const dir = join(cache, 'hub', new URL(hub.url).host.replace(':', '_'), 'tiny/gpt2/resolve/main');
    expect((await readdir(dir)).sort()).toEqual(
      [
        '.simdformer-complete.json',
        'config.json',
        'generation_config.json',
        'model.safetensors',
        'tokenizer.json',
      ].sort(),
    );
    const downloads = progress.filter((p) => p.phase === 'download' && p.file === 'model.safetensors');
    expect(downloads.at(-1)).toEqual({
      phase: 'download',
      file: 'model.safetensors',
      loaded: WEIGHTS_SIZE,
      total: WEIGHTS_SIZE,
    });
    const loads = progress.filter((p) => p.phase === 'load');
    expect(loads.at(-1)!.loaded).toBe(loads.at(-1)!.total);
    expect(gets('model.safetensors')).toHaveLength(1);

    hub.log.length = 0;
    expectReference(await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache }));
    expect(hub.log).toEqual([]);
    // SIMDFORMER_HUB stands in for the option; `refresh` downloads again
    process.env['SIMDFORMER_HUB'] = hub.url;
    try {
      expectReference(await loadModel(e, 'hf://tiny/gpt2', { cache, refresh: true }));
    } finally {
      delete process.env['SIMDFORMER_HUB'];
    }
    expect(gets('model.safetensors')).toHaveLength(1);
  });

  it('an interrupted download leaves model.safetensors.part; the next load resumes it with a Range request', async () => {
    hub.cutAfter['model.safetensors'] = 100_000;
    const err = await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache, retries: 0 }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/broke after \d+ of 453864 bytes .* run again to resume/);
    const dir = join(cache, 'hub', new URL(hub.url).host.replace(':', '_'), 'tiny/gpt2/resolve/main');
    const part = (await stat(join(dir, 'model.safetensors.part'))).size;
    expect(part).toBeGreaterThan(0);
    expect(part).toBeLessThanOrEqual(100_000);
    const etag = await readFile(join(dir, 'model.safetensors.part.etag'), 'utf8');

    hub.log.length = 0;
    expectReference(await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache, retries: 0 }));
    expect(gets('model.safetensors')).toEqual([
      { method: 'GET', path: '/tiny/gpt2/resolve/main/model.safetensors', range: `bytes=${part}-`, ifRange: etag },
    ]);
    expect(await readdir(dir)).not.toContain('model.safetensors.part');
  });

  it('within one load, a broken transfer is taken up again from where it stopped', async () => {
    hub.cutAfter['model.safetensors'] = 200_000;
    expectReference(await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache }));
    const tries = gets('model.safetensors');
    expect(tries).toHaveLength(2);
    expect(tries[0]!.range).toBeUndefined();
    expect(tries[1]!.range).toMatch(/^bytes=\d+-$/);
  });

  it('a server that ignores Range sends the whole file again, and the partial bytes are dropped', async () => {
    hub.cutAfter['model.safetensors'] = 50_000;
    hub.ignoreRange = true;
    try {
      expectReference(await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache }));
    } finally {
      hub.ignoreRange = false;
    }
    expect(gets('model.safetensors')).toHaveLength(2);
  });

  it('a transfer that keeps breaking fails once its retries are spent; sizes are checked', async () => {
    let calls = 0;
    // every response claims 10 bytes more than it sends (as a truncating proxy would)
    const short: typeof fetch = async (input, init) => {
      calls++;
      const r = await fetch(input, init);
      if (!String(input).endsWith('model.safetensors') || !r.body) return r;
      const bytes = new Uint8Array(await r.arrayBuffer());
      const headers = new Headers(r.headers);
      headers.set('content-length', String(bytes.length + 10));
      if (r.status === 206) {
        const [, a, b, t] = /bytes (\d+)-(\d+)\/(\d+)/.exec(r.headers.get('content-range')!)!;
        headers.set('content-range', `bytes ${a}-${b}/${Number(t) + 10}`);
      }
      return new Response(bytes, { status: r.status, headers });
    };
    const err = await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache, fetch: short, retries: 2 }).catch(
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/ended after 453864 of 453874 bytes/);
    expect(calls).toBeGreaterThan(3);
  });

  it('a sharded checkpoint downloads its index and every shard', async () => {
    expectReference(await loadModel(e, 'hf://tiny/sharded', { hub: hub.url, cache }));
    expect(gets('model-00001-of-00002.safetensors')).toHaveLength(1);
    expect(gets('model-00002-of-00002.safetensors')).toHaveLength(1);
  });

  it('a repository with only pytorch_model.bin, or none at all, is refused before anything large is fetched', async () => {
    await expect(loadModel(e, 'hf://tiny/pickle', { hub: hub.url, cache })).rejects.toThrow(
      /pytorch_model\.bin .* Convert it to safetensors/,
    );
    expect(gets('pytorch_model.bin')).toEqual([]);
    await expect(loadModel(e, 'hf://tiny/absent', { hub: hub.url, cache })).rejects.toThrow(CheckpointError);
  });

  it('a plain folder URL loads the same way', async () => {
    expectReference(await loadModel(e, `${hub.url}/tiny/gpt2/resolve/main`, { cache }));
  });

  it('where there is no file system, downloads go through a Cache (the Cache API), resumed the same way', async () => {
    const store = new Map<string, { body: ArrayBuffer; headers: Headers }>();
    const fake: WebCache = {
      match: (url) => {
        const hit = store.get(url);
        return Promise.resolve(hit && new Response(hit.body.slice(0), { headers: hit.headers }));
      },
      put: async (url, response) => {
        store.set(url, { body: await response.arrayBuffer(), headers: new Headers(response.headers) });
      },
      delete: (url) => Promise.resolve(store.delete(url)),
    };
    hub.cutAfter['model.safetensors'] = 150_000;
    expectReference(await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache: fake }));
    expect(gets('model.safetensors').map((r) => r.range !== undefined)).toEqual([false, true]);
    const weights = `${hub.url}/tiny/gpt2/resolve/main/model.safetensors`;
    expect(store.get(weights)!.body.byteLength).toBe(WEIGHTS_SIZE);

    hub.log.length = 0;
    expectReference(await loadModel(e, 'hf://tiny/gpt2', { hub: hub.url, cache: fake }));
    expect(gets('model.safetensors')).toEqual([]);

    // a sharded checkpoint: the absent model.safetensors is remembered too, so the second load asks nothing
    await loadModel(e, 'hf://tiny/sharded', { hub: hub.url, cache: fake }).then((m) => m.dispose());
    hub.log.length = 0;
    expectReference(await loadModel(e, 'hf://tiny/sharded', { hub: hub.url, cache: fake }));
    expect(hub.log).toEqual([]);

    // no cache at all: every file streams from the network
    expectReference(await loadModel(e, 'hf://tiny/sharded', { hub: hub.url, cache: false }));
    expect(gets('model-00002-of-00002.safetensors')).toHaveLength(1);
  });
});
