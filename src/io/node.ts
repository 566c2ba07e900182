import type * as CheckpointFiles from './checkpoint.js';

/**
 * The Node file-system side of checkpoints (./checkpoint.js), loaded only when called, through a
 * specifier bundlers do not follow: a page or worker bundle never pulls in node:fs.
 */
export async function nodeCheckpointFiles(): Promise<typeof CheckpointFiles> {
  const specifier = './checkpoint.js';
  return (await import(/* @vite-ignore */ specifier)) as typeof CheckpointFiles;
}
