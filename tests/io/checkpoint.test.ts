import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArgumentError, CheckpointError, ConfigError, SafetensorsError } from '../../src/errors.js';
import { readCheckpoint, writeCheckpoint } from '../../src/io/checkpoint.js';
import { parseConfig } from '../../src/io/config.js';
import { type NamedTensor, getFloat32 } from '../../src/io/safetensors.js';

const config = parseConfig({
  model_type: 'gpt2',
  n_embd: 8,
  n_head: 2,
  n_layer: 1,
  vocab_size: 11,
  n_positions: 5,
  bos_token_id: 0,
  eos_token_id: 0,
});
const tensor = (name: string, shape: number[], fill: number): NamedTensor => ({
  name,
  shape,
  data: new Float32Array(shape.reduce((a, d) => a * d, 1)).fill(fill),
});
const tensors = [tensor('transformer.wte.weight', [11, 8], 0.5), tensor('transformer.wpe.weight', [5, 8], -1)];
const tokenizer = { version: '1.0', model: { type: 'BPE', vocab: { a: 0 }, merges: [] } };

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'simdformer-ckpt-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await readFile(path.join(dir, name))).toString('base64');
  return out;
}

describe('writeCheckpoint / readCheckpoint', () => {
  it('round-trips config, tensors, tokenizer, generation config and extra files, creating the folder', async () => {
    const dir = path.join(root, 'runs', 'step-100');
    await writeCheckpoint(dir, {
      config,
      tensors,
      tokenizer,
      generationConfig: { bos_token_id: 0, max_length: 20 },
      extraFiles: { 'merges.txt': '#version: 0.2\n', 'blob.bin': new Uint8Array([1, 2, 3]) },
      metadata: { step: '100' },
    });
    expect((await readdir(dir)).sort()).toEqual([
      'blob.bin',
      'config.json',
      'generation_config.json',
      'merges.txt',
      'model.safetensors',
      'tokenizer.json',
    ]);
    const back = await readCheckpoint(dir);
    expect(back.config.parsed).toEqual({ ...config, architectures: ['GPT2LMHeadModel'] });
    expect(back.config.raw['model_type']).toBe('gpt2');
    expect(back.tensors.metadata).toEqual({ format: 'pt', step: '100' });
    expect(back.tensors.tensors.get('transformer.wte.weight')!.data).toEqual(tensors[0]!.data);
    expect(back.tensors.tensors.get('transformer.wpe.weight')!.shape).toEqual([5, 8]);
    expect(back.tokenizer).toEqual(tokenizer);
    expect(back.generationConfig).toEqual({ bos_token_id: 0, max_length: 20 });
    expect(await readFile(path.join(dir, 'merges.txt'), 'utf8')).toBe('#version: 0.2\n');
    const text = await readFile(path.join(dir, 'config.json'), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "activation_function": "gelu_new",\n');
  });

  it('keeps a tokenizer given as text byte for byte', async () => {
    const text = '{"version":"1.0","model":{"type":"WordPiece"}}';
    await writeCheckpoint(root, { config, tensors, tokenizer: text });
    expect(await readFile(path.join(root, 'tokenizer.json'), 'utf8')).toBe(text);
  });

  it('replaces a previous checkpoint and leaves no temporary files', async () => {
    await writeCheckpoint(root, { config, tensors, tokenizer });
    const newer = [tensor('transformer.wte.weight', [11, 8], 2), tensor('transformer.wpe.weight', [5, 8], 3)];
    await writeCheckpoint(root, { config, tensors: newer });
    expect((await readdir(root)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    const back = await readCheckpoint(root);
    expect(getFloat32(back.tensors, 'transformer.wte.weight', [11, 8]).every((v) => v === 2)).toBe(true);
  });

  it('leaves the previous checkpoint intact when serialising the new one throws', async () => {
    await writeCheckpoint(root, { config, tensors, tokenizer });
    const before = await snapshot(root);
    const broken = [tensors[0]!, { name: 'transformer.wpe.weight', shape: [5, 9], data: new Float32Array(40) }];
    await expect(writeCheckpoint(root, { config, tensors: broken, tokenizer: { other: true } })).rejects.toThrow(
      SafetensorsError,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expect(writeCheckpoint(root, { config, tensors, tokenizer: cyclic })).rejects.toThrow(TypeError);
    expect(await snapshot(root)).toEqual(before);
  });

  it('refuses extra file names that are folders or clash with the checkpoint files', async () => {
    for (const name of ['../escape.txt', 'sub/file.txt', 'config.json', '..', '']) {
      await expect(writeCheckpoint(root, { config, tensors, extraFiles: { [name]: 'x' } })).rejects.toThrow(
        ArgumentError,
      );
    }
    expect(await readdir(root)).toEqual([]);
  });
});

describe('readCheckpoint errors', () => {
  async function expectError(dir: string, type: new (...a: never[]) => Error, message: RegExp) {
    const err = await readCheckpoint(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  }

  it('says which folder does not exist', async () => {
    const dir = path.join(root, 'nope');
    await expectError(dir, CheckpointError, new RegExp(`checkpoint folder ${dir} does not exist`));
    await writeFile(path.join(root, 'file'), 'x');
    await expectError(path.join(root, 'file'), CheckpointError, /is not a folder/);
  });

  it('says which file is missing from which folder', async () => {
    await expectError(root, CheckpointError, new RegExp(`checkpoint folder ${root} has no config.json`));
    await writeCheckpoint(root, { config, tensors });
    await rm(path.join(root, 'model.safetensors'));
    await expectError(root, CheckpointError, new RegExp(`checkpoint folder ${root} has no model.safetensors$`));
    await writeFile(path.join(root, 'pytorch_model.bin'), 'x');
    await expectError(root, CheckpointError, /has no model.safetensors; it has pytorch_model.bin only/);
    await writeFile(path.join(root, 'model.safetensors.index.json'), '{}');
    await expectError(root, CheckpointError, /sharded checkpoint, which is not supported/);
  });

  it('names the file when its content is bad', async () => {
    await writeCheckpoint(root, { config, tensors });
    await writeFile(path.join(root, 'tokenizer.json'), '{"version": ');
    await expectError(root, CheckpointError, new RegExp(`${root}/tokenizer.json is not valid JSON`));
    await rm(path.join(root, 'tokenizer.json'));
    const bytes = await readFile(path.join(root, 'model.safetensors'));
    await writeFile(path.join(root, 'model.safetensors'), bytes.subarray(0, bytes.length - 3));
    await expectError(
      root,
      SafetensorsError,
      new RegExp(`${root}/model.safetensors: tensor 'transformer.wte.weight'.*run past the end`),
    );
    await writeFile(path.join(root, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_head: 0 }));
    await expectError(root, ConfigError, new RegExp(`${root}/config.json: gpt2 field "n_head"`));
    await writeFile(path.join(root, 'config.json'), '[]');
    await expectError(root, CheckpointError, /config.json should hold a JSON object/);
  });
});
