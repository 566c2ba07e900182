/**
 * A disk that fails half-way through a save (here: the second temporary file cannot be opened) leaves the
 * previous checkpoint byte for byte as it was, and no temporary files behind.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Mock, describe, expect, it, vi } from 'vitest';
import { readCheckpoint, writeCheckpoint } from '../../src/io/checkpoint.js';
import { parseConfig } from '../../src/io/config.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, open: vi.fn(real.open), rename: vi.fn(real.rename) };
});

const config = parseConfig({ model_type: 'bert', hidden_size: 8, num_attention_heads: 2, vocab_size: 10 });
const tensors = (fill: number) => [
  { name: 'embeddings.word_embeddings.weight', shape: [10, 8], data: new Float32Array(80).fill(fill) },
];

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await readFile(path.join(dir, name))).toString('base64');
  return out;
}

describe('writeCheckpoint when the disk fails', () => {
  it.each(['open', 'rename'] as const)('keeps the last good checkpoint if %s fails on the second file', async (fn) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'simdformer-crash-'));
    try {
      await writeCheckpoint(dir, { config, tensors: tensors(1), tokenizer: { version: '1.0' } });
      const before = await snapshot(dir);
      // The first call goes through, the second fails; later calls reach the real function again.
      const real = (await vi.importActual<typeof fsp>('node:fs/promises'))[fn];
      const enospc = () =>
        Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      const mock = fsp[fn] as unknown as Mock<(...args: unknown[]) => Promise<unknown>>;
      mock.mockImplementationOnce(real as (...args: unknown[]) => Promise<unknown>).mockImplementationOnce(enospc);
      await expect(
        writeCheckpoint(dir, { config, tensors: tensors(2), tokenizer: { version: '2.0' } }),
      ).rejects.toThrow(/ENOSPC/);
      const after = await snapshot(dir);
      if (fn === 'open') {
        // Nothing renamed yet: every file is the old one.
        expect(after).toEqual(before);
      } else {
        // The weights were renamed before the failure: each file is whole (old or new), the config is the old
        // one, and no temporary file is left. (Per-file atomicity; see checkpoint.ts.)
        expect(Object.keys(after)).toEqual(Object.keys(before));
        expect(after['config.json']).toBe(before['config.json']);
        expect(after['tokenizer.json']).toBe(before['tokenizer.json']);
        const ckpt = await readCheckpoint(dir);
        expect(ckpt.tensors.tensors.get('embeddings.word_embeddings.weight')!.data[0]).toBe(2);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
