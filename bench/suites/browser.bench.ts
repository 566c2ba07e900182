// The matmul and training-step benchmarks in Chromium (found or installed by tests/everywhere/chromium.ts, a cross-origin
// isolated page with the engine in a worker) beside the same code in Node, in one table.
//   npm run bench -- browser [--threads 1,2]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import os, { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { measureAll, type BrowserRow } from '../browser/measure.js';
import { printTable, type Suite, writeResults } from '../harness.js';
import { launchChromium } from '../../tests/everywhere/chromium.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

const suite: Suite = {
  description: 'matmul GFLOP/s and training tokens/s in Chromium (worker, isolated page) beside Node',
  async run(args) {
    const { values } = parseArgs({ args, options: { threads: { type: 'string' } }, strict: true });
    const threads = (values.threads ?? `1,${os.availableParallelism()}`).split(',').map(Number);
    const dir = await mkdtemp(join(tmpdir(), 'simdformer-bench-browser-'));
    await build({
      entryPoints: [join(root, 'bench', 'browser', 'worker.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'x', 'y', 'worker.js'),
      external: ['node:*'],
      logLevel: 'silent',
    });
    const page = `<!doctype html><script type="module">
      window.measure = (threads) => new Promise((resolve) => { const w = new Worker('/x/y/worker.js', { type: 'module' }); w.onmessage = (e) => resolve(e.data); w.postMessage({ threads }); });
    </script>`;
    // the handler answers every request itself, errors included: nothing for the server to await
    const server = createServer(
      (req, res) =>
        void (async () => {
          const path = new URL(req.url ?? '/', 'http://x').pathname;
          const headers = {
            'cross-origin-opener-policy': 'same-origin',
            'cross-origin-embedder-policy': 'require-corp',
          };
          try {
            if (path === '/') return res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(page);
            const file = path.startsWith('/build/') ? join(root, path) : join(dir, path);
            const body = await readFile(file);
            res
              .writeHead(200, {
                ...headers,
                'content-type': extname(file) === '.wasm' ? 'application/wasm' : 'text/javascript',
              })
              .end(body);
          } catch {
            res.writeHead(404).end();
          }
        })(),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const browser = await launchChromium();
    const rows: (BrowserRow & { where: string })[] = [];
    try {
      for (const t of threads) {
        const p = await browser.newPage();
        await p.goto(url);
        const r = (await p.evaluate(
          (n) => (window as unknown as { measure(n: number): Promise<unknown> }).measure(n),
          t,
        )) as { ok: boolean; rows?: BrowserRow[]; error?: string };
        if (!r.ok) throw new Error(r.error);
        rows.push(...r.rows!.map((x) => ({ ...x, where: `Chromium ${browser.version()}` })));
        await p.close();
        rows.push(...(await measureAll(t)).map((x) => ({ ...x, where: `Node ${process.version}` })));
      }
    } finally {
      await browser.close();
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
    rows.sort((a, b) => a.what.localeCompare(b.what) || a.threads - b.threads || a.where.localeCompare(b.where));
    printTable(rows, [
      { title: 'benchmark', value: (r) => r.what },
      { title: 'threads', value: (r) => r.threads, digits: 0 },
      { title: 'runtime', value: (r) => r.where },
      { title: 'value', value: (r) => r.value, digits: 1 },
      { title: 'unit', value: (r) => r.unit },
    ]);
    console.log(`wrote ${writeResults('browser', { rows })}`);
  },
};

export default suite;
