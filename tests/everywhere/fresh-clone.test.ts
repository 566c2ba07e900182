import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectBuilt, root } from './fixture.js';

// The README's `npm test` on a fresh clone with nothing beside it: the committed HEAD cloned into an
// empty temporary folder (so no shared/ or other folder beside it), given this checkout's node_modules (a
// symlink) and built wasm (a copy of build/), runs every test file that reads a fixture, and they pass.

const self = relative(root, fileURLToPath(import.meta.url));
/** A test file that reads a fixture: through fixtureDir() (tests/io/fixtures.ts), or by a path into fixtures/. */
const READS_FIXTURE = /\bfixtureDir\(|\bfixtures\//;
/** The path out of the repository to shared/, which sits beside it only on the project's own machines (spelled so this file has no such path). */
const OUTSIDE = ['..', 'shared'].join('/');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** vitest's JSON report, the fields read here. */
interface Report {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: { name: string; status: string; message: string }[];
}

describe('a fresh clone', () => {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has no file under src/ or tests/ that reads shared/ beside the repository', () => {
    const hits = ['src', 'tests']
      .flatMap((d) => files(join(root, d)))
      .filter((f) => readFileSync(f, 'latin1').includes(OUTSIDE))
      .map((f) => relative(root, f));
    expect(hits).toEqual([]);
  });

  it('passes the tests that read fixtures, with nothing beside it', () => {
    expectBuilt();
    const users = files(join(root, 'tests'))
      .filter(
        (f) => f.endsWith('.test.ts') && !f.includes('/everywhere/') && READS_FIXTURE.test(readFileSync(f, 'utf8')),
      ) // browsers and packages have suites of their own
      .map((f) => relative(root, f))
      .filter((f) => f !== self) // never itself: no clone inside a clone
      .sort();
    expect(users).toContain('tests/models/gpt.test.ts'); // the grep still finds the known users
    console.log(`fixture users: ${users.join(', ')}`);

    dir = mkdtempSync(join(tmpdir(), 'simdformer-fresh-'));
    const clone = join(dir, 'simdformer');
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    execFileSync('git', ['clone', '--quiet', '--no-checkout', root, clone], { stdio: 'pipe' });
    execFileSync('git', ['checkout', '--quiet', '--detach', head], { cwd: clone, stdio: 'pipe' });
    expect(readdirSync(dir)).toEqual(['simdformer']);
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    cpSync(join(root, 'build'), join(clone, 'build'), { recursive: true });
    cpSync(join(root, 'dist'), join(clone, 'dist'), { recursive: true }); // the command line's tests run dist/

    const report = join(dir, 'report.json');
    // the child is a vitest of its own, not a worker of this one
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    const vitest = join(clone, 'node_modules', 'vitest', 'vitest.mjs');
    const r = spawnSync(process.execPath, [vitest, 'run', ...users, '--reporter=json', `--outputFile=${report}`], {
      cwd: clone,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const out = `${r.stdout}\n${r.stderr}`.slice(-4000);
    expect(r.status, `vitest in the clone exited ${r.status ?? r.signal}:\n${out}`).toBe(0);
    const json = JSON.parse(readFileSync(report, 'utf8')) as Report;
    const ran = json.testResults.map((t) => relative(clone, t.name)).sort();
    console.log(
      `fresh clone of ${head.slice(0, 7)}: ${json.numPassedTests} passed, ${json.numFailedTests} failed in ${ran.length} files`,
    );
    expect(ran).toEqual(users);
    expect(json.numFailedTests).toBe(0);
    expect(json.numPassedTests).toBeGreaterThan(0);
    expect(json.numPassedTests).toBe(json.numTotalTests);
  });
});
