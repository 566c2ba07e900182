/**
 * --resume across layouts: a run saved by versions before generations (its files directly in the folder,
 * trainer_state.json without hashes) resumes bit for bit, and its next save is a generation.
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pretrainGpt } from '../../src/recipes/pretrain-gpt.js';
import { Engine } from '../../src/tensor/engine.js';
import { KILL_RUN_STEPS, killRunOptions, writeKillRunText } from '../util/kill-run.js';

describe('resuming a run saved before generations', () => {
  let root: string;
  let engine: Engine;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'simdformer-legacy-'));
    engine = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await engine.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('continues bit for bit from the files in the folder, then saves generations', async () => {
    const data = join(root, 'text.txt');
    await writeKillRunText(data);
    const reference = join(root, 'reference');
    await pretrainGpt(engine, { ...killRunOptions(data, reference), saveTotalLimit: KILL_RUN_STEPS });
    // the folder as an earlier version left it after step 2: the files in it, no pointer, no hashes
    const legacy = join(root, 'legacy');
    await cp(join(reference, 'checkpoint-2'), legacy, { recursive: true });
    const state = JSON.parse(await readFile(join(legacy, 'trainer_state.json'), 'utf8')) as Record<string, unknown>;
    delete state.sha256;
    await writeFile(join(legacy, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
    await writeFile(join(legacy, 'metrics.jsonl'), '');

    await pretrainGpt(engine, { ...killRunOptions(data, legacy), resume: true });
    const last = `checkpoint-${KILL_RUN_STEPS}`;
    expect(await readFile(join(legacy, 'latest'), 'utf8')).toBe(`${last}\n`);
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const resumed = await readFile(join(legacy, last, file));
      expect(resumed.equals(await readFile(join(reference, last, file))), file).toBe(true);
    }
    // the earlier version's files stay where they were; the generations are what is read from now on
    expect((await readdir(legacy)).sort()).toEqual([
      'checkpoint-3',
      'checkpoint-4',
      'config.json',
      'latest',
      'metrics.jsonl',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
      'trainer_state.json',
    ]);
  });
});
