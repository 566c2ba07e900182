import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, SafetensorsError } from '../../src/errors.js';
import { nodeCheckpointFiles } from '../../src/io/node.js';
import { folderSource } from '../../src/io/folder.js';
import type { CheckpointSource } from '../../src/io/checkpoint-source.js';
import type { NamedTensor } from '../../src/io/safetensors.js';
import { streamReader } from '../../src/io/tensor-stream.js';
import { parseConfig } from '../../src/io/config.js';
import type { Gpt2Config } from '../../src/io/hf/index.js';
import { GPT } from '../../src/models/gpt.js';
import { loadModel, modelFromCheckpoint } from '../../src/models/load.js';
import type { PretrainedModel } from '../../src/models/registry.js';
import { quantizeModel } from '../../src/models/quantize.js';
import { loadFromSource, loadWeightsInto } from '../../src/models/stream-load.js';
import { Bert } from '../../src/models/bert.js';
import type { BertConfig } from '../../src/io/hf/index.js';
import { Engine } from '../../src/tensor/engine.js';
import { int8Of } from '../../src/tensor/ops/int8.js';
import { expectBitIdentical } from '../util/check.js';
import { le16, le32, le64, randomHalfBits, writeRawSafetensors, type RawTensor } from '../util/safetensors-raw.js';
import { fixtureDir } from '../io/fixtures.js';
import { refBF16, refF16 } from '../ref/convert.js';

const FIXTURE = fixtureDir('hf-tiny-random-gpt2');

const tinyConfig = () =>
  parseConfig({
    model_type: 'gpt2',
    vocab_size: 37,
    n_positions: 24,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
    bos_token_id: null,
    eos_token_id: null,
  }) as Gpt2Config;

/** The checkpoint's tensors by Hugging Face name, as the model holds them. */
const hfByName = (m: PretrainedModel) => new Map(m.hfTensors().map((t) => [t.name, t.data]));

describe('streaming loads (loadModel from a folder, files, shards; float16 / bfloat16 / float64)', () => {
  let e: Engine;
  let dir: string;
  let model: GPT;
  let tensors: NamedTensor[];
  beforeAll(async () => {
    e = await Engine.create({ threads: 1 });
    dir = await mkdtemp(join(tmpdir(), 'simdformer-stream-'));
    model = new GPT(e, tinyConfig(), 11);
    tensors = model.hfTensors();
  });
  afterAll(async () => {
    model.dispose();
    await e.dispose();
    await rm(dir, { recursive: true });
  });

  /** A checkpoint folder of the tiny model's config with these weight files (and nothing else). */
  async function folder(name: string, files: Record<string, Uint8Array | string>): Promise<string> {
    const d = join(dir, name);
    await model.save(d);
    await rm(join(d, 'model.safetensors'));
    for (const [f, bytes] of Object.entries(files)) await writeFile(join(d, f), bytes);
    return d;
  }

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`${dtype} weights become float32 exactly (every finite bit pattern's value), in chunks of any size`, async () => {
      const ref = dtype === 'F16' ? refF16 : refBF16;
      const raw: RawTensor[] = tensors.map((t, i) => {
        const bits = randomHalfBits(t.data.length, 100 + i, dtype);
        return { name: t.name, dtype, shape: t.shape, bytes: le16(bits) };
      });
      const want = new Map(
        raw.map((t) => [t.name, Float32Array.from(new Uint16Array(t.bytes.slice().buffer), (b) => ref(b))]),
      );
      const d = await folder(dtype, { 'model.safetensors': writeRawSafetensors(raw) });
      for (const stagingBytes of [undefined, 6, 1000]) {
        const m = await loadFromSource(e, await folderSource(d), { stagingBytes });
        const got = hfByName(m);
        for (const [name, w] of want) expectBitIdentical(got.get(name)!, w, `${name} (staging ${stagingBytes})`);
        m.dispose();
      }
    });
  }

  it('a file mixing F32, F16, BF16 and F64 tensors loads each by its own dtype', async () => {
    const dtypes = ['F32', 'F16', 'BF16', 'F64'] as const;
    const want = new Map<string, Float32Array>();
    const raw: RawTensor[] = tensors.map((t, i) => {
      const dtype = dtypes[i % 4]!;
      if (dtype === 'F32') {
        want.set(t.name, t.data);
        return { name: t.name, dtype, shape: t.shape, bytes: le32(t.data) };
      }
      if (dtype === 'F64') {
        const x = Float64Array.from(t.data, (v, j) => v + j * 1e-12); // rounds back to nearest float32
        want.set(t.name, Float32Array.from(x));
        return { name: t.name, dtype, shape: t.shape, bytes: le64(x) };
      }
      const bits = randomHalfBits(t.data.length, i, dtype);
      want.set(
        t.name,
        Float32Array.from(bits, (b) => (dtype === 'F16' ? refF16(b) : refBF16(b))),
      );
      return { name: t.name, dtype, shape: t.shape, bytes: le16(bits) };
    });
    const d = await folder('mixed', { 'model.safetensors': writeRawSafetensors(raw) });
    const m = await loadFromSource(e, await folderSource(d), { stagingBytes: 10 });
    const got = hfByName(m);
    for (const [name, w] of want) expectBitIdentical(got.get(name)!, w, name);
    m.dispose();
  });

  it('a sharded checkpoint loads through model.safetensors.index.json', async () => {
    const shards = [0, 1, 2].map((s) => tensors.filter((_, i) => i % 3 === s));
    const file = (s: number) => `model-0000${s + 1}-of-00003.safetensors`;
    const index = {
      metadata: { total_size: tensors.reduce((a, t) => a + t.data.length * 4, 0) },
      weight_map: Object.fromEntries(shards.flatMap((ts, s) => ts.map((t) => [t.name, file(s)]))),
    };
    const files: Record<string, Uint8Array | string> = { 'model.safetensors.index.json': JSON.stringify(index) };
    shards.forEach((ts, s) => {
      files[file(s)] = writeRawSafetensors(ts.map((t) => ({ ...t, dtype: 'F32', bytes: le32(t.data) })));
    });
    const d = await folder('sharded', files);
    const m = await loadModel(e, d);
    for (const [n, t] of model.namedParameters())
      expectBitIdentical(m.namedParameters().get(n)!.toArray(), t.toArray(), n);
    m.dispose();

    // an index that puts a tensor in the wrong shard, or names a shard that is missing
    const moved = { ...index, weight_map: { ...index.weight_map, [tensors[0]!.name]: file(1) } };
    await writeFile(join(d, 'model.safetensors.index.json'), JSON.stringify(moved));
    await expect(loadModel(e, d)).rejects.toThrow(/holds tensor .* which the index puts in model-00002/);
    await writeFile(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
    await rm(join(d, file(2)));
    await expect(loadModel(e, d)).rejects.toThrow(/names model-00003-of-00003.safetensors, which is missing/);
  });

  it('pytorch_model.bin is refused with an error that says to convert it to safetensors', async () => {
    const d = await folder('pickle', { 'pytorch_model.bin': new Uint8Array([0x80, 0x02]) });
    const err = await loadModel(e, d).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/pytorch_model\.bin .* Convert it to safetensors/);
  });

  it('a failed load leaves the engine as it was: bad shapes before any allocation, a truncated file after', async () => {
    const bytes = writeRawSafetensors(tensors.map((t) => ({ ...t, dtype: 'F32', bytes: le32(t.data) })));
    const before = e.runtime.arena.usedBytes;
    const truncated = await folder('truncated', { 'model.safetensors': bytes.subarray(0, bytes.length - 100) });
    await expect(loadModel(e, truncated)).rejects.toThrow(SafetensorsError);
    expect(e.runtime.arena.usedBytes).toBe(before);
    const wrong = tensors.map((t) => (t.name.endsWith('wpe.weight') ? { ...t, shape: [t.shape[1]!, t.shape[0]!] } : t));
    const shaped = await folder('shape', {
      'model.safetensors': writeRawSafetensors(wrong.map((t) => ({ ...t, dtype: 'F32', bytes: le32(t.data) }))),
    });
    await expect(loadModel(e, shaped)).rejects.toThrow(/wpe.weight has shape \[16, 24\], expected \[24, 16\]/);
    expect(e.runtime.arena.usedBytes).toBe(before);
    const ints = tensors.map((t, i) =>
      i === 0
        ? { ...t, dtype: 'I32', bytes: new Uint8Array(t.data.length * 4) }
        : { ...t, dtype: 'F32', bytes: le32(t.data) },
    );
    const intDir = await folder('ints', { 'model.safetensors': writeRawSafetensors(ints) });
    await expect(loadModel(e, intDir)).rejects.toThrow(/is I32, expected a float dtype/);
    expect(e.runtime.arena.usedBytes).toBe(before);
  });

  it('File objects (a dropped folder) load like the folder, and like the whole-file reader', async () => {
    const files: File[] = [];
    for (const name of await readdir(FIXTURE)) files.push(new File([await readFile(join(FIXTURE, name))], name));
    const fromFiles = await loadModel(e, files);
    const { readCheckpoint } = await nodeCheckpointFiles();
    const whole = modelFromCheckpoint(e, await readCheckpoint(FIXTURE));
    expect(fromFiles.tokenizer?.vocabSize).toBe(whole.tokenizer?.vocabSize);
    for (const [n, t] of whole.namedParameters())
      expectBitIdentical(fromFiles.namedParameters().get(n)!.toArray(), t.toArray(), n);
    fromFiles.dispose();
    whole.dispose();
    const blobs = await loadModel(e, {
      'config.json': new Blob([await readFile(join(FIXTURE, 'config.json'))]),
      'model.safetensors': new Blob([await readFile(join(FIXTURE, 'model.safetensors'))]),
    });
    expect(blobs.tokenizer).toBeUndefined();
    blobs.dispose();
  });

  it('a body that arrives in chunks of 1 to 7 bytes loads the same weights', async () => {
    const folderFiles = await folderSource(FIXTURE);
    const odd: CheckpointSource = {
      where: 'odd chunks',
      async file(name) {
        const f = await folderFiles.file(name);
        if (!f || name === 'tokenizer.json') return f;
        const bytes = await readFile(join(FIXTURE, name));
        return {
          size: f.size,
          open: () => {
            let at = 0;
            let k = 0;
            const stream = new ReadableStream<Uint8Array>({
              pull(c) {
                if (at >= bytes.length) return c.close();
                const n = 1 + (k++ % 7);
                c.enqueue(new Uint8Array(bytes.subarray(at, at + n)));
                at += n;
              },
            });
            return Promise.resolve(streamReader(stream));
          },
        };
      },
    };
    const a = await loadFromSource(e, odd);
    const b = await loadModel(e, FIXTURE);
    for (const [n, t] of b.namedParameters()) expectBitIdentical(a.namedParameters().get(n)!.toArray(), t.toArray(), n);
    a.dispose();
    b.dispose();
  });

  it('loadWeightsInto: a pre-trained BERT body streams into a classifier the caller built; its new head keeps its initialisation', async () => {
    const bert = (architecture: string) =>
      parseConfig({
        model_type: 'bert',
        architectures: [architecture],
        vocab_size: 41,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 24,
        pad_token_id: 0,
        id2label: { 0: 'no', 1: 'yes', 2: 'maybe' },
      }) as BertConfig;
    const pretrained = new Bert(e, bert('BertForPreTraining'), 5);
    const d = join(dir, 'bert');
    await pretrained.save(d);
    const fresh = new Bert(e, bert('BertForSequenceClassification'), 9);
    const model = new Bert(e, bert('BertForSequenceClassification'), 9);
    await expect(loadWeightsInto(model, await folderSource(d))).rejects.toThrow(/checkpoint lacks classifier/);
    await loadWeightsInto(model, await folderSource(d), { spec: model.hfLoadSpec(true) });
    const trained = pretrained.namedParameters();
    for (const [n, t] of model.namedParameters()) {
      const want = n.startsWith('classifier.') ? fresh.namedParameters().get(n)! : trained.get(n)!;
      expectBitIdentical(t.toArray(), want.toArray(), n);
    }
    for (const m of [pretrained, fresh, model]) m.dispose();
  });
});

describe("quantize: 'int8' while loading (each weight quantized as its bytes arrive)", () => {
  let dir: string;
  // large enough that the weights, not the norms, biases and positions, are most of the bytes
  const config = () =>
    parseConfig({
      model_type: 'gpt2',
      vocab_size: 500,
      n_positions: 32,
      n_embd: 64,
      n_layer: 3,
      n_head: 4,
      bos_token_id: null,
      eos_token_id: null,
    }) as Gpt2Config;
  let floatBytes = 0;
  let raw: RawTensor[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simdformer-int8-load-'));
    const e = await Engine.create({ threads: 1 });
    const m = new GPT(e, config(), 5);
    await m.save(dir);
    floatBytes = m.parameters().reduce((n, t) => n + 4 * t.size, 0);
    // the same weights in a file mixing F32, F16, BF16 and F64 tensors (values rounded to each dtype)
    const dtypes = ['F32', 'F16', 'BF16', 'F64'] as const;
    raw = m.hfTensors().map((t, i) => {
      const dtype = dtypes[i % 4]!;
      if (dtype === 'F32') return { name: t.name, dtype, shape: t.shape, bytes: le32(t.data) };
      if (dtype === 'F64') return { name: t.name, dtype, shape: t.shape, bytes: le64(Float64Array.from(t.data)) };
      const bits = randomHalfBits(t.data.length, i, dtype);
      return { name: t.name, dtype, shape: t.shape, bytes: le16(bits) };
    });
    m.dispose();
    await e.dispose();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  /** Loads `d` on a fresh engine, float then quantizeModel or quantized while loading; its logits, int8 forms, peak. */
  async function load(d: string, whileLoading: boolean, stagingBytes?: number) {
    // memory grows during the load (a grow detaches every view of unshared memory handed out before it)
    const e = await Engine.create({ threads: 1, initialMemoryMiB: 0.125 });
    const before = e.memoryStats().currentBytes;
    const m = whileLoading
      ? await loadFromSource(e, await folderSource(d), { quantize: 'int8', stagingBytes })
      : quantizeModel(await loadFromSource(e, await folderSource(d), { stagingBytes }), 'int8');
    const peak = e.memoryStats().peakBytes - before;
    const logits = e.noGrad(() => (m as GPT).forward({ inputIds: [[3, 99, 7, 420, 11]] }).logits.toArray());
    const forms = m.parameters().map((t) => {
      const f = int8Of(t);
      if (!f) return t.toArray();
      const u8 = e.runtime.u8;
      return [u8.slice(f.q, f.q + f.N * f.K), u8.slice(f.scale, f.scale + 4 * f.N)];
    });
    m.dispose();
    await e.dispose();
    return { peak, logits, forms };
  }

  it('gives the int8 weights and logits of quantizing the float model, never holding the float model whole', async () => {
    const after = await load(dir, false);
    const during = await load(dir, true);
    expectBitIdentical(during.logits, after.logits, 'logits');
    expect(during.forms).toEqual(after.forms);
    // float32 load, then quantize: the whole float model at once; quantized while loading: its int8 weights,
    // the float norms, biases and positions, and one float weight (the largest, 500 × 64) while it arrives
    expect(after.peak).toBeGreaterThanOrEqual(floatBytes);
    expect(during.peak).toBeLessThan(0.5 * floatBytes);
  });

  it('the same from float16, bfloat16 and float64 tensors, through a staging buffer of any size', async () => {
    const d = join(dir, 'mixed');
    await mkdir(d);
    for (const f of ['config.json']) await writeFile(join(d, f), await readFile(join(dir, f)));
    await writeFile(join(d, 'model.safetensors'), writeRawSafetensors(raw));
    const after = await load(d, false, 10);
    for (const stagingBytes of [10, undefined]) {
      const during = await load(d, true, stagingBytes);
      expectBitIdentical(during.logits, after.logits, `logits (staging ${stagingBytes})`);
      expect(during.forms).toEqual(after.forms);
    }
  });

  it('a truncated file leaves the engine as it was', async () => {
    const d = join(dir, 'truncated');
    await mkdir(d);
    await writeFile(join(d, 'config.json'), await readFile(join(dir, 'config.json')));
    const bytes = await readFile(join(dir, 'model.safetensors'));
    await writeFile(join(d, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
    const e = await Engine.create({ threads: 1 });
    const before = e.runtime.arena.usedBytes;
    await expect(loadModel(e, d, { quantize: 'int8' })).rejects.toThrow(SafetensorsError);
    expect(e.runtime.arena.usedBytes).toBe(before);
    await e.dispose();
  });
});
