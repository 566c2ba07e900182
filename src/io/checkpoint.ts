/**
 * Checkpoint folders on a Node file system. The formats are in checkpoint-format.ts (no Node there).
 *
 * writeCheckpoint serialises every file in memory first (bad input throws before the disk is touched), then
 * writes each to a temporary name in the same folder, flushes it, and renames it over the old file. Renaming
 * within a folder is atomic, so each file is always either the old or the new one, whole; a failure while
 * writing removes the temporary files and leaves the previous checkpoint as it was. config.json is renamed
 * last. (Across files it is not one transaction: a crash between two renames leaves the new weights beside
 * the old config.json.) Files the new checkpoint does not have (an old tokenizer.json) are left in place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import {
  CONFIG_FILE,
  GENERATION_CONFIG_FILE,
  TOKENIZER_FILE,
  WEIGHTS_FILE,
  type Checkpoint,
  type CheckpointInput,
  decodeCheckpoint,
  encodeCheckpoint,
} from './checkpoint-format.js';

export type { Checkpoint, CheckpointInput } from './checkpoint-format.js';

export async function writeCheckpoint(dir: string, input: CheckpointInput): Promise<void> {
  const files = encodeCheckpoint(input);
  await mkdir(dir, { recursive: true });

  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const pending: { tmp: string; final: string }[] = [];
  try {
    for (const [name, bytes] of files) {
      const tmp = join(dir, `.${name}${suffix}`);
      pending.push({ tmp, final: join(dir, name) });
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    while (pending.length > 0) {
      const { tmp, final } = pending[0]!;
      await rename(tmp, final);
      pending.shift();
    }
  } catch (e) {
    await Promise.all(pending.map(({ tmp }) => unlink(tmp).catch(() => undefined)));
    throw e;
  }
  await syncFolder(dir);
}

/** Make the renames durable (a no-op where folders cannot be opened, e.g. Windows). */
async function syncFolder(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}

/** Files that do not make a checkpoint readable here, looked for only to say why model.safetensors is missing. */
const HINT_FILES = [`${WEIGHTS_FILE}.index.json`, 'pytorch_model.bin'];

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new CheckpointError(`checkpoint path ${dir} is not a folder`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CheckpointError(`checkpoint folder ${dir} does not exist`);
    throw e;
  }
  const files = new Map<string, Uint8Array>();
  for (const name of [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, GENERATION_CONFIG_FILE, ...HINT_FILES]) {
    try {
      if (HINT_FILES.includes(name)) {
        await stat(join(dir, name)); // only named in error hints: their presence is enough
        files.set(name, new Uint8Array(0));
      } else {
        const buf = await readFile(join(dir, name));
        files.set(name, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return decodeCheckpoint((name) => files.get(name), dir);
}
