/**
 * Where the test fixtures are: tests/fixtures/ in the repository (see its README.md for what each is and
 * where it came from), so a fresh clone has them. A missing folder fails loudly rather than skipping.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function fixtureDir(name: string): string {
  const dir = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  if (!existsSync(dir))
    throw new Error(`fixture ${name} not found at ${dir}: expected in tests/fixtures/ of the repository`);
  return dir;
}
