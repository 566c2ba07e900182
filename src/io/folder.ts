/**
 * A checkpoint folder on a Node file system as a CheckpointSource: files are read through a FileHandle
 * at explicit positions, straight into the buffers a reader hands out (engine memory, for float32
 * weights), so no file is ever held whole.
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, SafetensorsError } from '../errors.js';
import { resolveCheckpointDir } from './checkpoint.js';
import type { CheckpointSource, SourceFile } from './checkpoint-source.js';
import type { ByteReader } from './tensor-stream.js';

/** At most this many bytes per read call (large reads into engine memory are split). */
const READ_BYTES = 64 * 2 ** 20;

export async function folderSource(dir: string): Promise<CheckpointSource> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new CheckpointError(`checkpoint path ${dir} is not a folder`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CheckpointError(`checkpoint folder ${dir} does not exist`);
    throw e;
  }
  dir = await resolveCheckpointDir(dir); // a run's folder: its latest generation
  return {
    where: dir,
    async file(name): Promise<SourceFile | undefined> {
      const path = join(dir, name);
      try {
        const s = await stat(path);
        if (!s.isFile()) return undefined;
        return { size: s.size, open: () => fileReader(path, s.size) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
  };
}

/** A reader over a file of `size` bytes (more bytes on disk are ignored: the size read at open counts). */
export async function fileReader(path: string, size: number): Promise<ByteReader> {
  const fh = await open(path, 'r');
  let pos = 0;
  let closed = false;
  return {
    async read(into) {
      let n = 0;
      const want = Math.min(into.length, size - pos);
      while (n < want) {
        const { bytesRead } = await fh.read(into, n, Math.min(READ_BYTES, want - n), pos);
        if (bytesRead === 0) break; // shrank since it was opened
        n += bytesRead;
        pos += bytesRead;
      }
      return n;
    },
    skip(n) {
      if (pos + n > size) return Promise.reject(new SafetensorsError(`${path} ended ${pos + n - size} bytes early`));
      pos += n;
      return Promise.resolve();
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}
