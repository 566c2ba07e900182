/**
 * Where the shared fixtures are: `shared/` beside the repository (CI clones the repo with a copy of `shared/`
 * next to it), i.e. ../../../shared from tests/io/. A checkout that is not beside `shared/` (a git worktree)
 * can point at it with SIMDFORMER_SHARED; a missing folder fails loudly rather than skipping.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.join(here, '..', '..');
const shared = process.env['SIMDFORMER_SHARED'] ?? path.join(repoRoot, '..', 'shared');

export function fixtureDir(name: string): string {
  const dir = path.join(shared, 'fixtures', name);
  if (!existsSync(dir)) {
    throw new Error(
      `fixture ${name} not found at ${dir}: expected shared/fixtures beside the repository ` +
        `(or set SIMDFORMER_SHARED to the shared folder)`,
    );
  }
  return dir;
}
