import type * as CheckpointFiles from './checkpoint.js';
import type * as Folder from './folder.js';
import type * as HubCache from './hub-cache.js';

/**
 * The Node file-system side of checkpoints (./checkpoint.js), loaded only when called, through a
 * specifier bundlers do not follow: a page or worker bundle never pulls in node:fs.
 */
export async function nodeCheckpointFiles(): Promise<typeof CheckpointFiles> {
  const specifier = './checkpoint.js';
  return (await import(/* @vite-ignore */ specifier)) as typeof CheckpointFiles;
}

/** Checkpoint folders as streaming sources (./folder.js), loaded the same way. */
export async function nodeFolder(): Promise<typeof Folder> {
  const specifier = './folder.js';
  return (await import(/* @vite-ignore */ specifier)) as typeof Folder;
}

/** The download cache folder (./hub-cache.js), loaded the same way. */
export async function nodeHubCache(): Promise<typeof HubCache> {
  const specifier = './hub-cache.js';
  return (await import(/* @vite-ignore */ specifier)) as typeof HubCache;
}

/** Whether this runtime has Node's file system (Node, Deno, Bun), judged without importing it. */
export function hasNodeFs(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}
