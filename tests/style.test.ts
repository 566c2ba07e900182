/**
 * The code as `npm run format` leaves it (Prettier, .prettierrc.json) and as ESLint's TypeScript rules
 * want it (eslint.config.js: promises not left floating or misused, nothing unused): an unformatted
 * file or a lint error fails the suite, with the tool's own report.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(tool: string, args: string[]) {
  const r = spawnSync(bin(tool), args, { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('style', () => {
  it('every file is formatted (npm run format leaves no change)', () => {
    const r = run('prettier', ['--check', '.']);
    expect(r.output).toMatch(/All matched files use Prettier code style/);
    expect(r.status, r.output).toBe(0);
  });

  // type-aware linting of the whole tree takes ~15 s alone on 2 cores, minutes on a loaded machine
  it('ESLint finds nothing (floating promises, unused variables, …)', { timeout: 600_000 }, () => {
    const r = run('eslint', ['.', '--max-warnings', '0']);
    expect(r.status, r.output).toBe(0);
  });
});
