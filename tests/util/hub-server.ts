/**
 * A stand-in for the Hugging Face hub on 127.0.0.1 (tests and benchmarks never reach the real one):
 * serves `<base>/<owner>/<name>/resolve/<revision>/<file>` from `repos[owner/name]` (a folder), with
 * Content-Length, ETag and Range requests (206), HEAD, and 404 for what is not there. Faults on purpose:
 * `cutAfter[file] = n` sends the first n bytes of the next response for that file, then destroys the
 * connection (once per setting); `ignoreRange` answers every Range request with the whole file (200).
 * Every request is logged (method, path, Range header).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

export interface HubServer {
  server: Server;
  /** Base URL, e.g. http://127.0.0.1:PORT (the hub's root). */
  url: string;
  log: { method: string; path: string; range?: string; ifRange?: string }[];
  cutAfter: Record<string, number>;
  ignoreRange: boolean;
  close(): Promise<void>;
}

export async function startHub(repos: Record<string, string>): Promise<HubServer> {
  const hub: Omit<HubServer, 'server' | 'url' | 'close'> = { log: [], cutAfter: {}, ignoreRange: false };
  const server = createServer(
    (req, res) =>
      void (async () => {
        const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
        hub.log.push({
          method: req.method ?? 'GET',
          path,
          range: req.headers.range,
          ifRange: req.headers['if-range'] as string | undefined,
        });
        const m = /^\/(.+)\/resolve\/([^/]+)\/([^/]+)$/.exec(path);
        const root = m ? repos[m[1]!] : undefined;
        if (!m || !root || m[3]!.includes('..')) return void res.writeHead(404).end();
        const file = join(root, normalize(m[3]!));
        let size: number;
        let mtime: number;
        try {
          const s = await stat(file);
          if (!s.isFile()) return void res.writeHead(404).end();
          size = s.size;
          mtime = s.mtimeMs;
        } catch {
          return void res.writeHead(404).end();
        }
        const etag = `"${size}-${Math.floor(mtime)}"`;
        let start = 0;
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        const ifRange = req.headers['if-range'];
        if (range && !hub.ignoreRange && (ifRange === undefined || ifRange === etag)) {
          start = Number(range[1]);
          if (start >= size) {
            return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
          }
          res.writeHead(206, {
            'content-length': String(size - start),
            'content-range': `bytes ${start}-${size - 1}/${size}`,
            etag,
            'accept-ranges': 'bytes',
          });
        } else {
          res.writeHead(200, { 'content-length': String(size), etag, 'accept-ranges': 'bytes' });
        }
        if (req.method === 'HEAD') return void res.end();
        const cut = hub.cutAfter[m[3]!];
        if (cut !== undefined) {
          delete hub.cutAfter[m[3]!];
          const stream = createReadStream(file, { start, end: Math.min(size, start + cut) - 1 });
          stream.on('data', (c) => res.write(c));
          stream.on('end', () => setTimeout(() => res.destroy(), 20)); // flush what was written, then break the connection
          return;
        }
        createReadStream(file, { start }).pipe(res);
      })(),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return Object.assign(hub, {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as HubServer;
}
