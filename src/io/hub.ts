/**
 * Checkpoints by name or URL, as the Hugging Face hub lays them out: a repository's files at
 * `<hub>/<owner>/<name>/resolve/<revision>/<file>`. `hf://owner/name` (or `hf://name`, `hf://owner/name@rev`)
 * is shorthand for that folder on the hub, https://huggingface.co unless an option or SIMDFORMER_HUB says
 * otherwise. And the download that every URL load goes through: resumed with a Range request where a
 * connection broke, and checked against the size the server announced. No Node APIs here.
 */
import { ArgumentError, DownloadError } from '../errors.js';

export const DEFAULT_HUB = 'https://huggingface.co';

export interface HubOptions {
  /** The hub's base URL (default: SIMDFORMER_HUB, else https://huggingface.co). */
  hub?: string;
  /** Revision for `hf://` names without `@rev` (default 'main'). */
  revision?: string;
}

const env = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name] || undefined;

/** The hub base URL in force: the option, else SIMDFORMER_HUB, else the real hub. */
export function hubBase(options: HubOptions = {}): string {
  return (options.hub ?? env('SIMDFORMER_HUB') ?? DEFAULT_HUB).replace(/\/+$/, '');
}

/**
 * The folder URL (ending in '/') a source names: `hf://owner/name[@revision]` on the hub, an http(s)
 * URL as it is; null for anything else (a path on disk).
 */
export function folderUrl(source: string | URL, options: HubOptions = {}): URL | null {
  const text = source instanceof URL ? source.href : source;
  if (text.startsWith('hf://')) {
    const m = /^hf:\/\/((?:[\w.-]+\/)?[\w.-]+)(?:@([\w./-]+))?\/?$/.exec(text);
    if (!m || m[1]!.split('/').some((p) => p === '.' || p === '..')) {
      throw new ArgumentError(
        `${text}: expected hf://owner/name, hf://name or hf://owner/name@revision (letters, digits, - _ .)`,
      );
    }
    const revision = encodeURIComponent(m[2] ?? options.revision ?? 'main');
    return new URL(`${hubBase(options)}/${m[1]}/resolve/${revision}/`);
  }
  if (!/^https?:\/\//i.test(text)) return null;
  const url = new URL(text);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

// ---------------------------------------------------------------------------------------- download

/** Where a download's bytes go, and how far it already is (a partial file from an earlier try). */
export interface DownloadSink {
  /** Bytes already held: the download asks for the rest with a Range request. */
  readonly offset: number;
  /** Appends bytes. */
  write(chunk: Uint8Array): Promise<void> | void;
  /** Drops what is held (the server sent the whole file instead of the rest). */
  restart(): Promise<void> | void;
  /** A response's body is about to flow: its etag (to resume with If-Range later) and the file's size. */
  begin?(etag: string | undefined, total: number | undefined): Promise<void> | void;
}

export interface DownloadOptions {
  fetch?: typeof fetch;
  /** Times a broken transfer is taken up again from where it stopped (default 3). */
  retries?: number;
  /** The etag of the bytes the sink holds: sent as If-Range, so a changed file is sent whole. */
  etag?: string;
  onProgress?: (loaded: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

export interface Downloaded {
  size: number;
  etag?: string;
}

/**
 * Downloads `url` into `sink`, from `sink.offset` on. A transfer that breaks is taken up again with a
 * Range request from the byte where it stopped, `retries` times; the result must have exactly the size
 * the server announced (Content-Length, or Content-Range's total). Returns undefined on 404.
 */
export async function download(
  url: string,
  sink: DownloadSink,
  options: DownloadOptions = {},
): Promise<Downloaded | undefined> {
  const fetchFn = options.fetch ?? fetch;
  let retriesLeft = options.retries ?? 3;
  let etag = options.etag;
  let total: number | undefined;
  for (;;) {
    const start = sink.offset;
    const headers: Record<string, string> = {};
    if (start > 0) {
      headers['range'] = `bytes=${start}-`;
      if (etag) headers['if-range'] = etag;
    }
    let response: Response;
    try {
      response = await fetchFn(url, { headers, signal: options.signal });
    } catch (e) {
      if (retriesLeft-- > 0 && !options.signal?.aborted) continue;
      throw new DownloadError(`${url}: ${(e as Error).message}`, { cause: e });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (response.status === 416 && start > 0) {
      // nothing past `start`: what the sink holds may be the whole file, or stale; start afresh
      await response.body?.cancel();
      await sink.restart();
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new DownloadError(`${url}: HTTP ${response.status} ${response.statusText}`);
    }
    etag = response.headers.get('etag') ?? etag;
    if (response.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== start) {
        await response.body?.cancel();
        throw new DownloadError(
          `${url}: asked for bytes ${start}- and got Content-Range ${JSON.stringify(response.headers.get('content-range'))}`,
        );
      }
      if (range[3] !== '*') total = Number(range[3]);
    } else {
      if (start > 0) await sink.restart(); // the whole file came back (no Range support, or it changed)
      const length = response.headers.get('content-length');
      total = length !== null && response.headers.get('content-encoding') === null ? Number(length) : undefined;
    }
    await sink.begin?.(etag, total);
    options.onProgress?.(sink.offset, total);
    try {
      if (response.body) {
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await sink.write(value);
          options.onProgress?.(sink.offset, total);
        }
      }
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      if (retriesLeft-- > 0 && !options.signal?.aborted) continue;
      throw new DownloadError(
        `${url}: the transfer broke after ${sink.offset} of ${total ?? '?'} bytes (${(e as Error).message}); run again to resume`,
        { cause: e },
      );
    }
    if (total !== undefined && sink.offset < total) {
      if (retriesLeft-- > 0) continue;
      throw new DownloadError(`${url}: the transfer ended after ${sink.offset} of ${total} bytes; run again to resume`);
    }
    if (total !== undefined && sink.offset > total) {
      throw new DownloadError(`${url}: received ${sink.offset} bytes, more than the ${total} announced`);
    }
    return { size: sink.offset, etag };
  }
}
