import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, extname, join, normalize } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';

// Every browser test and benchmark finds its Chromium here (playwright-core drives it; never a browser
// download of its own). In order:
//   1. CHROMIUM_PATH, when set (it must then be an executable file);
//   2. /usr/bin/chromium (Debian's package);
//   3. as root on a Debian-like system with apt-get: `apt-get update && apt-get install -y chromium`, once
//      per run however many test files ask at once (a lock file in os.tmpdir(); a failed install is not
//      tried again by the other files of the same vitest run, which repeat its error);
//   4. otherwise one error that says which command fixes it.

/** Debian's Chromium. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
/** What fixes a missing Chromium, for error messages. */
const FIX =
  '`apt-get install -y chromium` (as root, Debian or Ubuntu), or set CHROMIUM_PATH to a Chromium or Chrome binary';
/** apt-get update + install may take minutes: the longest a test that launches Chromium first may need. */
export const LAUNCH_TIMEOUT = 12 * 60_000;
const INSTALL_LIMIT = 10 * 60_000;
const LOCK = join(tmpdir(), 'simdformer-chromium-install.lock');
const FAILED = join(tmpdir(), 'simdformer-chromium-install.failed.json');
const LOG = join(tmpdir(), 'simdformer-chromium-install.log');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const onPath = (cmd: string) =>
  (process.env['PATH'] ?? '').split(delimiter).some((d) => d !== '' && executable(join(d, cmd)));

let found: Promise<string> | undefined;
/** The Chromium binary to launch (installs Debian's package when it may; see the top of this file). */
export function findChromium(): Promise<string> {
  return (found ??= (async () => {
    const asked = process.env['CHROMIUM_PATH'];
    if (asked) {
      if (!executable(asked))
        throw new Error(
          `CHROMIUM_PATH=${asked} is not an executable file: point it at a Chromium binary, or unset it to use ${DEBIAN_CHROMIUM}`,
        );
      return asked;
    }
    if (executable(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
    const root = process.getuid?.() === 0;
    const debian = process.platform === 'linux' && existsSync('/etc/debian_version') && onPath('apt-get');
    if (!root || !debian) {
      const why = !debian ? 'this is not a Debian-like system with apt-get' : 'this process is not root';
      throw new Error(
        `Chromium not found: CHROMIUM_PATH is not set and ${DEBIAN_CHROMIUM} is missing (${why}, so the tests cannot install it). Fix: ${FIX}`,
      );
    }
    await installOnce();
    if (!executable(DEBIAN_CHROMIUM))
      throw new Error(
        `apt-get installed chromium but ${DEBIAN_CHROMIUM} is still missing (log: ${LOG}). Fix: set CHROMIUM_PATH to its binary`,
      );
    return DEBIAN_CHROMIUM;
  })());
}

/** This run: the vitest process (test files run in its forks, or in its threads), or this process. */
function runId(): string {
  const pid = typeof process.send === 'function' ? process.ppid : process.pid;
  let started = '';
  try {
    // field 22 of /proc/<pid>/stat: the start time, so a reused pid is another run
    started = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
  } catch {
    // no /proc: the pid alone
  }
  return `${pid}:${started}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** `apt-get update && apt-get install -y chromium` by one process at a time, at most once per run. */
async function installOnce(): Promise<void> {
  const run = runId();
  const deadline = Date.now() + INSTALL_LIMIT + 60_000;
  for (;;) {
    if (executable(DEBIAN_CHROMIUM)) return;
    if (existsSync(FAILED)) {
      const failed = JSON.parse(readFileSync(FAILED, 'utf8')) as { run: string; error: string };
      if (failed.run === run) throw new Error(failed.error);
    }
    let fd: number;
    try {
      fd = openSync(LOCK, 'wx');
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      let holder: number;
      try {
        holder = Number(readFileSync(LOCK, 'utf8').trim() || NaN);
      } catch {
        continue; // released meanwhile
      }
      // a lock whose process is gone is stale (a holder still writing its pid is given the benefit)
      if (Number.isInteger(holder) && !alive(holder)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `another process (pid ${holder}) has held ${LOCK} for over ${INSTALL_LIMIT / 60_000} minutes while installing Chromium. Fix: ${FIX}`,
          { cause: err },
        );
      else await sleep(1000);
      continue;
    }
    try {
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      if (executable(DEBIAN_CHROMIUM)) return; // installed between our check and the lock
      console.warn(
        `${DEBIAN_CHROMIUM} is missing: installing Debian's chromium (apt-get update && apt-get install -y chromium, log ${LOG})`,
      );
      const status = await aptInstall();
      if (status !== 0) {
        const tail = readFileSync(LOG, 'utf8').trim().split('\n').slice(-5).join('\n');
        const error = `Chromium not found, and installing it failed (apt-get ${status}; log ${LOG}):\n${tail}\nFix: ${FIX}`;
        writeFileSync(FAILED, JSON.stringify({ run, error }));
        throw new Error(error);
      }
      return;
    } finally {
      rmSync(LOCK, { force: true });
    }
  }
}

/** apt-get update, then apt-get install -y chromium, output to LOG: 0, or the exit status (or signal) of the one that failed. */
async function aptInstall(): Promise<number | string> {
  const log = openSync(LOG, 'w');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    for (const args of [['update'], ['install', '-y', 'chromium']]) {
      const status = await new Promise<number | string>((resolve) => {
        const p = spawn('apt-get', args, { env, stdio: ['ignore', log, log], timeout: INSTALL_LIMIT });
        p.once('error', (err) => resolve(err.message));
        p.once('close', (code, signal) => resolve(code ?? signal ?? 'killed'));
      });
      if (status !== 0) return `${args[0]}: ${status}`;
    }
    return 0;
  } finally {
    closeSync(log);
  }
}

/** Launches headless Chromium for the tests (the closed network: no background connections, no QUIC). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await findChromium(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
};

/**
 * Serves folders on 127.0.0.1 (a free port): `routes` maps a URL prefix ending in '/' to a folder, or
 * an exact path to a file. With `isolated`, every response carries COOP/COEP (cross-origin isolation).
 */
export function serveStatic(
  routes: Record<string, string>,
  isolated: boolean,
): Promise<{ server: Server; url: string }> {
  // the handler answers every request itself, errors included: nothing for the server to await
  const server = createServer(
    (req, res) =>
      void (async () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        const prefix = Object.keys(routes)
          .sort((a, b) => b.length - a.length)
          .find((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
        if (!prefix) return res.writeHead(404).end();
        const file = prefix.endsWith('/')
          ? join(routes[prefix]!, normalize(path.slice(prefix.length) || 'index.html'))
          : routes[prefix]!;
        try {
          const body = await readFile(file);
          const headers: Record<string, string> = {
            'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          };
          if (isolated)
            Object.assign(headers, {
              'cross-origin-opener-policy': 'same-origin',
              'cross-origin-embedder-policy': 'require-corp',
            });
          res.writeHead(200, headers).end(body);
        } catch {
          res.writeHead(404).end();
        }
      })(),
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }),
    ),
  );
}
