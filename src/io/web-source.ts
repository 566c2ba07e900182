/**
 * A checkpoint folder URL as a CheckpointSource where there is no file system (browsers, workers): each
 * file is downloaded (resumed with Range requests where the connection breaks, checked by size) into the
 * Cache API, then read from the cache as a stream; a file already in the cache is not fetched again.
 * Without a cache (`cache: false`, or none in this runtime) files stream straight from the network.
 * No Node APIs here.
 */
import { DownloadError } from '../errors.js';
import type { CheckpointSource, SourceFile } from './checkpoint-source.js';
import { download, type DownloadOptions } from './hub.js';
import { streamReader } from './tensor-stream.js';

/** The Cache API name the downloads are kept under. */
export const CACHE_NAME = 'simdformer-hub';
/** The header a cached response keeps the file's size in (checked when it is read back). */
const SIZE_HEADER = 'x-simdformer-size';

/** What of the Cache API this uses (a test can hand in its own). */
export interface WebCache {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
}

export interface WebSourceOptions extends Omit<DownloadOptions, 'onProgress' | 'etag'> {
  /** A cache to keep downloads in; undefined: the Cache API's `simdformer-hub` when there is one; false: none. */
  cache?: WebCache | false;
  onProgress?: (file: string, loaded: number, total: number | undefined) => void;
}

export async function webSource(folder: URL, options: WebSourceOptions = {}): Promise<CheckpointSource> {
  const cache = options.cache === false ? undefined : (options.cache ?? (await openCache()));
  const fetchFn = options.fetch ?? fetch;
  const files = new Map<string, Promise<SourceFile | undefined>>();
  const get = async (name: string): Promise<SourceFile | undefined> => {
    const url = new URL(name, folder).href;
    if (!cache) {
      const r = await fetchFn(url, { signal: options.signal });
      if (r.status === 404) {
        await r.body?.cancel();
        return undefined;
      }
      if (!r.ok) throw new DownloadError(`${url}: HTTP ${r.status} ${r.statusText}`);
      let body: ReadableStream<Uint8Array> | null = r.body;
      const size = Number(r.headers.get('content-length') ?? NaN);
      if (!Number.isFinite(size)) {
        const bytes = new Uint8Array(await r.arrayBuffer()); // no length announced: small files only, in practice
        body = new Blob([bytes]).stream();
        return { size: bytes.length, open: () => Promise.resolve(streamReader(body!)) };
      }
      // the first open takes this response's body; later ones fetch again
      return {
        size,
        open: async () => {
          const taken = body;
          body = null;
          if (taken) return streamReader(taken);
          const again = await fetchFn(url, { signal: options.signal });
          if (!again.ok || !again.body) throw new DownloadError(`${url}: HTTP ${again.status} ${again.statusText}`);
          return streamReader(again.body);
        },
      };
    }
    let hit = await cache.match(url);
    if (!hit) {
      if (!(await downloadToCache(cache, url, name, options))) {
        // remembered as absent, so a later load asks the server nothing (a sharded checkpoint's model.safetensors)
        await cache.put(url, new Response(null, { status: 404, headers: { [SIZE_HEADER]: 'absent' } }));
        return undefined;
      }
      hit = await cache.match(url);
      if (!hit) throw new DownloadError(`${url}: downloaded, but the cache does not give it back`);
    }
    if (hit.headers.get(SIZE_HEADER) === 'absent') return undefined;
    const size = Number(hit.headers.get(SIZE_HEADER));
    await hit.body?.cancel();
    return {
      size,
      open: async () => {
        const r = await cache.match(url);
        if (!r?.body) throw new DownloadError(`${url}: gone from the cache while loading`);
        return streamReader(r.body);
      },
    };
  };
  return {
    where: folder.href.replace(/\/$/, ''),
    file(name) {
      if (!files.has(name)) files.set(name, get(name));
      return files.get(name)!;
    },
  };
}

async function openCache(): Promise<WebCache | undefined> {
  const storage = (globalThis as { caches?: { open(name: string): Promise<WebCache> } }).caches;
  if (!storage) return undefined;
  try {
    return await storage.open(CACHE_NAME);
  } catch {
    return undefined; // e.g. an opaque origin: go without
  }
}

/**
 * Downloads `url` into the cache: the bytes flow into a cache entry as they come (Range requests take a
 * broken transfer up again), and the entry is kept only when the size matches what the server announced.
 */
async function downloadToCache(
  cache: WebCache,
  url: string,
  name: string,
  options: WebSourceOptions,
): Promise<boolean> {
  let offset = 0;
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let put: Promise<void> | undefined;
  const abandon = async () => {
    controller?.error(new DownloadError(`${url}: download abandoned`));
    await put?.catch(() => undefined);
    controller = undefined;
    put = undefined;
  };
  try {
    const result = await download(
      url,
      {
        get offset() {
          return offset;
        },
        begin(_etag, total) {
          if (put) return; // a resumed transfer goes on into the same entry
          const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
          const headers = new Headers({ 'content-type': 'application/octet-stream' });
          if (total !== undefined) headers.set(SIZE_HEADER, String(total));
          put = cache.put(url, new Response(body, { headers }));
        },
        write(chunk) {
          controller!.enqueue(chunk);
          offset += chunk.length;
        },
        async restart() {
          await abandon();
          offset = 0;
        },
      },
      { ...options, onProgress: (loaded, total) => options.onProgress?.(name, loaded, total) },
    );
    if (!result) {
      await abandon();
      return false;
    }
    if (!put) {
      // an empty body: begin was called, so this is unreachable; keep TypeScript and readers honest
      throw new DownloadError(`${url}: no response body`);
    }
    controller!.close();
    await put;
    const stored = await cache.match(url);
    if (stored && stored.headers.get(SIZE_HEADER) === null) {
      // the server announced no size: record what came (the entry is re-put with its size)
      const bytes = await stored.arrayBuffer();
      const headers = new Headers({ [SIZE_HEADER]: String(result.size) });
      await cache.put(url, new Response(bytes, { headers }));
    }
    return true;
  } catch (e) {
    await abandon();
    await cache.delete(url).catch(() => false);
    throw e;
  }
}
