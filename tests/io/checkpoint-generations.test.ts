/**
 * A training run's folder of generations (io/checkpoint.ts): whole generations switched to in one rename, the
 * last K kept, what killed saves left removed by the next save, folders of earlier versions still read, and a
 * file system that fails (at any operation, injected; or for real: a file-size limit, a read-only folder) fails
 * the save with a CheckpointError and leaves the previous generation the latest, whole.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import {
  readCheckpoint,
  removeGenerations,
  resolveCheckpointDir,
  setCheckpointFileHook,
  writeCheckpoint,
  writeGeneration,
} from '../../src/io/checkpoint.js';
import { encodeCheckpoint } from '../../src/io/checkpoint-format.js';
import { parseConfig, type Gpt2Config } from '../../src/io/config.js';
import { getFloat32 } from '../../src/io/safetensors.js';
import { GPT } from '../../src/models/gpt.js';
import { loadModel } from '../../src/models/load.js';
import { Engine } from '../../src/tensor/engine.js';

const config = parseConfig({
  model_type: 'gpt2',
  n_embd: 8,
  n_head: 2,
  n_layer: 1,
  vocab_size: 11,
  n_positions: 5,
  bos_token_id: 0,
  eos_token_id: 0,
}) as Gpt2Config;
const NAME = 'transformer.wte.weight';
const files = (fill: number) =>
  encodeCheckpoint({ config, tensors: [{ name: NAME, shape: [11, 8], data: new Float32Array(88).fill(fill) }] });
const held = async (dir: string) => getFloat32((await readCheckpoint(dir)).tensors, NAME)[0];

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'simdformer-gen-'));
});
afterEach(async () => {
  setCheckpointFileHook(null);
  await rm(root, { recursive: true, force: true });
});

describe('generations of a run', () => {
  it('switches to each save whole, keeps the last K, and reads the latest', async () => {
    for (let step = 1; step <= 4; step++) {
      const gen = await writeGeneration(root, step * 10, files(step), { keep: 2 });
      expect(gen).toBe(path.join(root, `checkpoint-${step * 10}`));
      expect(await held(root)).toBe(step);
    }
    expect((await readdir(root)).sort()).toEqual(['checkpoint-30', 'checkpoint-40', 'latest']);
    expect(await readFile(path.join(root, 'latest'), 'utf8')).toBe('checkpoint-40\n');
    expect((await readdir(path.join(root, 'checkpoint-40'))).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(await held(path.join(root, 'checkpoint-30'))).toBe(3);
    await writeGeneration(root, 50, files(5), { keep: 1 });
    expect((await readdir(root)).sort()).toEqual(['checkpoint-50', 'latest']);
  });

  it('loadModel of a run folder loads its latest generation', async () => {
    const engine = await Engine.create({ threads: 1 });
    try {
      const model = new GPT(engine, config, 3);
      await writeGeneration(root, 1, encodeCheckpoint(model.checkpointInput()), { keep: 2 });
      const later = new GPT(engine, config, 4);
      await writeGeneration(root, 2, encodeCheckpoint(later.checkpointInput()), { keep: 2 });
      const loaded = await loadModel(engine, root);
      expect(loaded.hfTensors().map((t) => [...t.data])).toEqual(later.hfTensors().map((t) => [...t.data]));
    } finally {
      await engine.dispose();
    }
  });

  it('a folder written before generations loads as before; once the run saves a generation, that is read', async () => {
    await writeCheckpoint(root, {
      config,
      tensors: [{ name: NAME, shape: [11, 8], data: new Float32Array(88).fill(7) }],
    });
    expect(await resolveCheckpointDir(root)).toBe(root);
    expect(await held(root)).toBe(7);
    await writeGeneration(root, 3, files(3), { keep: 2 });
    expect(await held(root)).toBe(3);
  });

  it('a run whose first pointer was never written reads its highest generation; a bad pointer is a CheckpointError', async () => {
    await writeGeneration(root, 1, files(1), { keep: 2 });
    await cp(path.join(root, 'checkpoint-1'), path.join(root, 'checkpoint-12'), { recursive: true });
    await rm(path.join(root, 'latest'));
    expect(await resolveCheckpointDir(root)).toBe(path.join(root, 'checkpoint-12'));
    await writeFile(path.join(root, 'latest'), '../elsewhere\n');
    await expect(readCheckpoint(root)).rejects.toThrow(CheckpointError);
    await expect(readCheckpoint(root)).rejects.toThrow(/latest should name a generation such as "checkpoint-100"/);
    await writeFile(path.join(root, 'latest'), 'checkpoint-7\n');
    await expect(readCheckpoint(root)).rejects.toThrow(/latest names checkpoint-7, which is not a folder/);
    await rm(path.join(root, 'latest'));
    await mkdir(path.join(root, 'latest'));
    await expect(readCheckpoint(root)).rejects.toThrow(CheckpointError);
  });

  it('the next save removes what killed saves left (of this version and of earlier ones)', async () => {
    await writeGeneration(root, 1, files(1), { keep: 2 });
    await mkdir(path.join(root, '.tmp-checkpoint-2-123-0a1b2c3d'));
    await writeFile(path.join(root, '.tmp-checkpoint-2-123-0a1b2c3d', 'model.safetensors'), 'half');
    await writeFile(path.join(root, '.tmp-latest-123-0a1b2c3d'), 'checkpoint-2');
    await writeFile(path.join(root, '.model.safetensors.tmp-99-deadbeef'), 'half');
    await mkdir(path.join(root, 'checkpoint-2')); // renamed into place, pointer never moved
    await writeGeneration(root, 2, files(2), { keep: 2 });
    expect((await readdir(root)).sort()).toEqual(['checkpoint-1', 'checkpoint-2', 'latest']);
    expect(await held(root)).toBe(2);
    // a model folder's save too
    const model = path.join(root, 'model');
    await mkdir(model);
    await writeFile(path.join(model, '.config.json.tmp-99-deadbeef'), '{');
    await writeFile(path.join(model, '.tmp-model.safetensors-1-00aa00aa'), 'half');
    await writeCheckpoint(model, { config, tensors: [{ name: NAME, shape: [11, 8], data: new Float32Array(88) }] });
    expect((await readdir(model)).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('refuses to save the latest step again, and a run started afresh removes the earlier run', async () => {
    await writeGeneration(root, 5, files(5), { keep: 2 });
    await expect(writeGeneration(root, 5, files(6), { keep: 2 })).rejects.toThrow(
      /checkpoint-5 is the latest generation .* a save of the same step would replace it in place/,
    );
    expect(await held(root)).toBe(5);
    await writeFile(path.join(root, 'metrics.jsonl'), '');
    await removeGenerations(root);
    expect(await readdir(root)).toEqual(['metrics.jsonl']);
  });
});

describe('a file system that fails during a save', () => {
  /** The file operations of the second save of a run, as the hook sees them. */
  async function secondSaveOps(): Promise<number> {
    const dir = path.join(root, 'count');
    await writeGeneration(dir, 1, files(1), { keep: 1 });
    let n = 0;
    setCheckpointFileHook((when) => void (when === 'before' && n++));
    await writeGeneration(dir, 2, files(2), { keep: 1 });
    setCheckpointFileHook(null);
    return n;
  }

  it.each(['ENOSPC', 'EROFS'])(
    'fails with %s at each operation: a CheckpointError, the previous generation intact, and the next save clean',
    async (code) => {
      const ops = await secondSaveOps();
      expect(ops).toBeGreaterThan(20);
      for (let k = 1; k <= ops; k++) {
        const dir = path.join(root, `${code}-${k}`);
        await writeGeneration(dir, 1, files(1), { keep: 1 });
        let n = 0;
        let failedAt = '';
        setCheckpointFileHook((when, op, p) => {
          if (when === 'before' && ++n === k) {
            failedAt = `${op} ${path.relative(dir, p)}`;
            throw Object.assign(new Error(`${code}: injected failure, ${op}`), { code });
          }
        });
        const err = await writeGeneration(dir, 2, files(2), { keep: 1 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        setCheckpointFileHook(null);
        expect(err, failedAt).toBeInstanceOf(CheckpointError);
        expect((err as Error).message, failedAt).toMatch(new RegExp(`could not save the checkpoint in .*${code}`));
        // before the pointer moved, the first save is the latest; after it (removing the old one), the second
        const latest = await held(dir);
        if ((err as Error).message.includes('the latest generation is still checkpoint-1'))
          expect(latest, failedAt).toBe(1);
        else expect((err as Error).message, failedAt).toMatch(/checkpoint-2 was saved and is the latest/);
        await writeGeneration(dir, 3, files(3), { keep: 1 });
        expect(await readdir(dir), failedAt).toEqual(['checkpoint-3', 'latest']);
        expect(await held(dir)).toBe(3);
      }
    },
  );
});

describe('real file-system failures (a child process)', () => {
  const CHILD = fileURLToPath(new URL('../util/disk-child.ts', import.meta.url));
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'simdformer-disk-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const run = (mode: string, out: string, limit = '') =>
    spawnSync('sh', ['-c', `${limit}exec "$0" "$@"`, process.execPath, '--import', 'tsx', CHILD, mode, out], {
      encoding: 'utf8',
      timeout: 60_000,
    });

  it.each([
    ['a file-size limit (ulimit -f: EFBIG, as a full disk fails a write)', 'fsize', 'ulimit -f 256 && ', 'EFBIG'],
    ['a read-only folder', 'readonly', '', 'EACCES'],
  ])('%s fails the save with a CheckpointError and leaves the previous generation', async (_, mode, limit, code) => {
    const out = path.join(dir, mode);
    const r = run(mode, out, limit);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { name: string; message: string; cause: string };
    expect(result.name).toBe('CheckpointError');
    expect(result.cause).toBe(code);
    expect(result.message).toMatch(/the latest generation is still checkpoint-1, whole/);
    expect((await readdir(out)).sort()).toEqual(['checkpoint-1', 'latest']);
    const back = await readCheckpoint(out);
    expect(getFloat32(back.tensors, 'embeddings.word_embeddings.weight', [10, 8]).every((v) => v === 1)).toBe(true);
  });
});
