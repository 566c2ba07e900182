/**
 * The child process of the real disk-failure tests (tests/io/checkpoint-generations.test.ts): saves generation 1
 * of a run in `dir`, then makes the file system refuse the second save, and prints how the second save failed as
 * JSON. `fsize`: the parent runs it under `ulimit -f`, so writing the second save's larger weights fails (EFBIG, as
 * a full disk fails a write). `readonly`: the folder is made read-only (a root process first becomes `nobody`,
 * whom permissions bind) before the second save.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeGeneration } from '../../src/io/checkpoint.js';
import { encodeCheckpoint } from '../../src/io/checkpoint-format.js';
import { parseConfig } from '../../src/io/config.js';

const [mode, dir] = process.argv.slice(2) as ['fsize' | 'readonly', string];
const config = parseConfig({ model_type: 'bert', hidden_size: 8, num_attention_heads: 2, vocab_size: 10 });
const files = (rows: number, fill: number) =>
  encodeCheckpoint({
    config,
    tensors: [
      { name: 'embeddings.word_embeddings.weight', shape: [rows, 8], data: new Float32Array(rows * 8).fill(fill) },
    ],
  });

if (mode === 'readonly') {
  await chmod(dirname(dir), 0o777);
  if (process.getuid?.() === 0) process.setuid!(65534);
}
await mkdir(dir, { recursive: true });
await writeGeneration(dir, 1, files(10, 1), { keep: 2 });
if (mode === 'readonly') await chmod(dir, 0o555);
try {
  await writeGeneration(dir, 2, files(mode === 'fsize' ? 100_000 : 10, 2), { keep: 2 });
  process.stdout.write(JSON.stringify({ saved: true }));
} catch (e) {
  const err = e as Error & { cause?: { code?: string } };
  process.stdout.write(JSON.stringify({ name: err.name, message: err.message, cause: err.cause?.code }));
}
