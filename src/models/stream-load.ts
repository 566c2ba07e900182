/**
 * Loads a checkpoint from a CheckpointSource by streaming its weights into engine memory:
 *
 *   1. config.json (and tokenizer.json when there) are read whole: they are small;
 *   2. every weight file's header is read, and the tensors are matched to the model's parameters by the
 *      family's name rules (planFromHF): a missing tensor, a wrong shape or an unused tensor fails here,
 *      before the model exists;
 *   3. the model is built with its parameters allocated but not initialised (withoutInit);
 *   4. each file's data section is read in file order: float32 bytes land directly in their parameter's
 *      memory; float16 / bfloat16 / float64 bytes land in one staging block of engine memory and are
 *      converted into the parameter from there (a wasm kernel for the half types: convertHalf).
 *
 * So the host holds no copy of the weights: one staging block in engine memory (4 MiB) beyond the parameters.
 */
import { CheckpointError, ConfigError } from '../errors.js';
import { findWeights, readJsonFile, type CheckpointSource, type SourceFile } from '../io/checkpoint-source.js';
import { parseConfig, type ModelConfig } from '../io/config.js';
import { planFromHF } from '../io/name-rules.js';
import { DTYPE_SIZE, type SafetensorsEntry, type SafetensorsHeader } from '../io/safetensors.js';
import {
  convertToF32,
  readSafetensorsHeader,
  streamSafetensors,
  type ByteReader,
  type TensorTarget,
} from '../io/tensor-stream.js';
import { withDeferredParameters, withoutInit } from '../nn/module.js';
import type { Engine } from '../tensor/engine.js';
import { convertHalf } from '../tensor/ops/convert.js';
import type { WeightLayout } from '../tensor/ops/index.js';
import { quantizeWeight } from '../tensor/ops/int8.js';
import type { Tensor } from '../tensor/tensor.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import type { HFLoadSpec } from './hf.js';
import { quantizationTargets, type Quantization } from './quantize.js';
import { checkWeightsHoldModel, createModel, type PretrainedModel } from './registry.js';

/** How far a load has come: bytes of one file downloaded, or bytes of the weights read into the engine. */
export interface LoadProgress {
  phase: 'download' | 'load';
  /** The file (download) or 'weights' (load). */
  file: string;
  loaded: number;
  /** Undefined while a download's size is unknown. */
  total: number | undefined;
}

export interface StreamLoadOptions {
  onProgress?: (p: LoadProgress) => void;
  /** Engine bytes that float16 / bfloat16 / float64 weights pass through to be converted (default 4 MiB). */
  stagingBytes?: number;
}

const FLOAT = new Set(['F32', 'F16', 'BF16', 'F64']);

/**
 * Builds the checkpoint's model and streams its weights in. With `quantize`, its parameters are made without
 * memory and each is given its memory as its bytes arrive; each weight quantizeModel would quantize is quantized
 * as soon as its last bytes are in and its float32 memory released, so the float32 model is never held whole.
 */
export async function loadFromSource(
  engine: Engine,
  source: CheckpointSource,
  options: StreamLoadOptions & { quantize?: Quantization } = {},
): Promise<PretrainedModel> {
  const { config, tokenizer } = await readCheckpointConfig(source);
  const weights = await openWeights(source);
  let model: PretrainedModel | undefined;
  try {
    // before anything is allocated
    checkWeightsHoldModel(engine, config, weights.entries.values(), source.where, options.quantize);
    if (options.quantize) {
      model = withDeferredParameters(engine, () => createModel(engine, config));
      await streamInto(model, model.hfLoadSpec(), weights, true, options, quantizationTargets(model));
    } else {
      model = withoutInit(engine, () => createModel(engine, config));
      await streamInto(model, model.hfLoadSpec(), weights, true, options);
    }
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    await weights.close();
  }
  if (tokenizer) model.tokenizer = Tokenizer.fromJson(tokenizer);
  return model;
}

/**
 * Streams a checkpoint's weights into a model the caller built (and initialised), by `spec` (default: the
 * model's own, `model.hfLoadSpec()`): every parameter the checkpoint has is overwritten; with a spec that
 * allows a new head (BERT's `hfLoadSpec(true)`), the head's parameters keep their values. Fine-tuning a
 * pre-trained body from a folder, URL or files without holding the file: the config and tokenizer are
 * the caller's to read (readCheckpointConfig).
 */
export async function loadWeightsInto(
  model: PretrainedModel,
  source: CheckpointSource,
  options: StreamLoadOptions & { spec?: HFLoadSpec } = {},
): Promise<void> {
  const weights = await openWeights(source);
  try {
    await streamInto(model, options.spec ?? model.hfLoadSpec(), weights, false, options);
  } finally {
    await weights.close();
  }
}

/** A checkpoint's config.json, parsed, and its tokenizer.json when it has one. */
export async function readCheckpointConfig(
  source: CheckpointSource,
): Promise<{ config: ModelConfig; tokenizer?: Record<string, unknown> }> {
  const { where } = source;
  const configFile = await source.file('config.json');
  if (!configFile) {
    throw new CheckpointError(
      `checkpoint ${where} has no config.json (a checkpoint is config.json + model.safetensors [+ tokenizer.json])`,
    );
  }
  let config: ModelConfig;
  try {
    config = parseConfig(await readJsonFile(source, 'config.json', configFile));
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${where}/config.json: ${e.message}`);
    throw e;
  }
  const tokenizerFile = await source.file('tokenizer.json');
  if (!tokenizerFile) return { config };
  return { config, tokenizer: await readJsonFile(source, 'tokenizer.json', tokenizerFile) };
}

/** The weight files, open at their data sections, with every tensor's entry by name. */
interface OpenedWeights {
  where: string;
  files: { name: string; size: number; reader: ByteReader; header: SafetensorsHeader }[];
  entries: Map<string, SafetensorsEntry>;
  close(): Promise<void>;
}

/** Opens the weight files and reads their headers, checking a sharded checkpoint against its index. */
async function openWeights(source: CheckpointSource): Promise<OpenedWeights> {
  const { where } = source;
  const weights = await findWeights(source);
  const files: OpenedWeights['files'] = [];
  const readers: ByteReader[] = [];
  const close = async () => {
    await Promise.all(readers.map((r) => r.close().catch(() => undefined)));
  };
  try {
    const found = new Map<string, SourceFile>();
    for (const name of weights.files) {
      const f = await source.file(name);
      if (!f) throw new CheckpointError(`${where}: the index names ${name}, which is missing`);
      found.set(name, f);
    }
    const entries = new Map<string, SafetensorsEntry>();
    for (const [name, f] of found) {
      const reader = await f.open();
      readers.push(reader); // closed by close(), whatever happens
      const header = await readSafetensorsHeader(reader, f.size, `${where}/${name}`);
      files.push({ name, size: f.size, reader, header });
      for (const e of header.entries) {
        const at = weights.weightMap?.get(e.name);
        if (weights.weightMap && at !== name) {
          throw new CheckpointError(
            `${where}/${name} holds tensor '${e.name}', which the index ${at ? `puts in ${at}` : 'does not name'}`,
          );
        }
        if (entries.has(e.name)) throw new CheckpointError(`${where}: tensor '${e.name}' is in two shards`);
        entries.set(e.name, e);
      }
    }
    for (const [tensor, file] of weights.weightMap ?? []) {
      if (!entries.has(tensor))
        throw new CheckpointError(`${where}/${file} lacks tensor '${tensor}' that the index puts there`);
    }
    return { where, files, entries, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Plans every tensor against the model's parameters (planFromHF: names, shapes; float dtypes), then streams
 * each file into them. `all`: every parameter must come from the checkpoint (a model built withoutInit).
 */
async function streamInto(
  model: PretrainedModel,
  spec: HFLoadSpec,
  weights: OpenedWeights,
  all: boolean,
  options: StreamLoadOptions,
  quantize?: Map<Tensor, WeightLayout>,
): Promise<void> {
  const { where, entries } = weights;
  const params = model.namedParameters();
  const expected = new Map([...params].map(([n, t]) => [n, t.shape]));
  const { parts, loaded } = planFromHF(
    spec.names,
    (n) => entries.get(n)?.shape,
    [...entries.keys()],
    expected,
    spec.options,
  );
  const missing = [...params.keys()].filter((n) => !loaded.has(n));
  if (all && missing.length > 0) {
    throw new CheckpointError(
      `${where}: no weights for ${missing.slice(0, 5).join(', ')} (a new head cannot be loaded here)`,
    );
  }
  for (const [hfName, part] of parts) {
    const e = entries.get(hfName)!;
    if (!FLOAT.has(e.dtype)) {
      throw new CheckpointError(
        `${where}: tensor '${hfName}' (for ${part.param}) is ${e.dtype}, expected a float dtype (F32, F16, BF16, F64)`,
      );
    }
  }

  const total = weights.files.reduce((a, f) => a + f.size - f.header.dataStart, 0);
  let done = 0;
  const report = (n: number) => {
    done += n;
    options.onProgress?.({ phase: 'load', file: 'weights', loaded: done, total });
  };
  // two halves of whole 8-byte elements, used in turn: one is read into while the other is converted; no
  // larger than the largest tensor that needs converting (float32-only checkpoints need almost none)
  let converted = 0;
  for (const hfName of parts.keys()) {
    const e = entries.get(hfName)!;
    if (e.dtype !== 'F32') converted = Math.max(converted, e.end - e.begin);
  }
  const half = Math.max(2, Math.ceil(Math.min(options.stagingBytes ?? 4 * 2 ** 20, converted) / 16) * 2);
  const staging = model.engine.empty([2 * half]);
  const halves = { staging, half, turn: 0 };
  const left = new Map<Tensor, number>(); // elements of each quantized weight not in yet
  try {
    for (const f of weights.files) {
      await streamSafetensors(
        f.reader,
        f.header,
        (e) => {
          const part = parts.get(e.name);
          if (!part) return undefined;
          const t = params.get(part.param)!;
          const to = target(t.pending ? t.materialize() : t, part.offset, e.dtype, halves);
          const layout = quantize?.get(t);
          return layout ? quantizedWhenFull(t, layout, to, e.dtype, left) : to;
        },
        `${where}/${f.name}`,
        report,
        !quantize,
      );
    }
  } finally {
    staging.dispose();
  }
}

/** `to`, quantizing t (quantizeWeight) once its last element is in: `left` counts each weight's elements to come. */
function quantizedWhenFull(
  t: Tensor,
  layout: WeightLayout,
  to: TensorTarget,
  dtype: string,
  left: Map<Tensor, number>,
): TensorTarget {
  const size = DTYPE_SIZE[dtype]!;
  return {
    buffer: (at, bytes) => to.buffer(at, bytes),
    commit(at, bytes) {
      to.commit(at, bytes);
      const n = (left.get(t) ?? t.size) - bytes / size;
      left.set(t, n);
      if (n === 0) quantizeWeight(t, layout);
    },
  };
}

/**
 * Where one checkpoint tensor's bytes go: elements [offset, offset + n) of parameter `t`. Float32 bytes are
 * read straight into the parameter (wasm memory is little-endian, as the file); half-precision bytes into
 * the staging tensor, then converted by a kernel (convertHalf); float64 through the staging bytes on the host.
 */
function target(
  t: Tensor,
  offset: number,
  dtype: string,
  halves: { staging: Tensor; half: number; turn: number },
): TensorTarget {
  const bytesOf = (x: Tensor, at: number, n: number) => {
    const v = x.view(); // re-made on each call: memory may have grown
    return new Uint8Array(v.buffer, v.byteOffset + at, n);
  };
  if (dtype === 'F32') return { buffer: (at, bytes) => bytesOf(t, offset * 4 + at, bytes), commit() {} };
  const size = dtype === 'F64' ? 8 : 2;
  const { staging, half } = halves;
  const used: number[] = []; // the half each buffer handed out is in, oldest first (one read ahead at most)
  return {
    buffer(_at, bytes) {
      const h = halves.turn++ % 2;
      used.push(h);
      return bytesOf(staging, h * half * 4, Math.min(bytes, half * 4));
    },
    commit(at, bytes) {
      const h = used.shift()!;
      const first = offset + at / size;
      const count = bytes / size;
      if (dtype === 'F16' || dtype === 'BF16') convertHalf(t, first, staging, count, dtype, h * half);
      else convertToF32(dtype, bytesOf(staging, h * half * 4, bytes), t.view().subarray(first, first + count), count);
    },
  };
}
