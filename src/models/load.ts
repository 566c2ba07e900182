import { ArgumentError } from '../errors.js';
import { blobSource, type CheckpointSource } from '../io/checkpoint-source.js';
import { folderUrl, type HubOptions } from '../io/hub.js';
import { hasNodeFs, nodeFolder, nodeHubCache } from '../io/node.js';
import { webSource, type WebCache } from '../io/web-source.js';
import type { Checkpoint } from '../io/checkpoint-format.js';
import { getFloat32 } from '../io/safetensors.js';
import type { Engine } from '../tensor/engine.js';
import { Tokenizer } from '../tokenizers/tokenizer.js';
import { checkCheckpointHoldsModel, createModel, type PretrainedModel } from './registry.js';
import { loadFromSource, type LoadProgress } from './stream-load.js';
import type { Quantization } from './quantize.js';

export type { PretrainedModel } from './registry.js';

/** Builds the model a checkpoint's config names (`model_type`), with its weights and tokenizer. */
export function modelFromCheckpoint(engine: Engine, ck: Checkpoint, where = 'checkpoint'): PretrainedModel {
  checkCheckpointHoldsModel(engine, ck, where); // before anything is allocated
  const tokenizer = ck.tokenizer ? Tokenizer.fromJson(ck.tokenizer) : undefined; // so is a bad tokenizer.json
  const model = createModel(engine, ck.config.parsed);
  const get = (n: string) => {
    const t = ck.tensors.tensors.get(n);
    return t ? { shape: t.shape, data: getFloat32(ck.tensors, n) } : undefined;
  };
  try {
    model.loadHF(get, [...ck.tensors.tensors.keys()]);
  } catch (err) {
    model.dispose();
    throw err;
  }
  if (tokenizer) model.tokenizer = tokenizer;
  return model;
}

export type { LoadProgress } from './stream-load.js';

/** Where a checkpoint is: a folder path, a folder URL, `hf://owner/name[@revision]`, or its files (File / Blob). */
export type ModelSource = string | URL | Iterable<Blob> | Record<string, Blob>;

export interface LoadOptions extends HubOptions {
  /** Download and load progress (bytes). */
  onProgress?: (p: LoadProgress) => void;
  /**
   * Where downloads are kept: in Node a folder (default SIMDFORMER_CACHE or ~/.cache/simdformer), in a
   * browser a Cache (default the Cache API's `simdformer-hub`); false: no cache, files stream from the network.
   */
  cache?: string | WebCache | false;
  /** Download again even when the cache has the checkpoint. */
  refresh?: boolean;
  /** Times a broken transfer is resumed (Range request) before the load fails (default 3). */
  retries?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /**
   * 'int8': weight-only int8 for inference (every Linear and the vocabulary table / tied head, a float32 scale
   * per output channel; src/models/quantize.ts). Such a model generates and classifies but cannot train or save.
   */
  quantize?: Quantization;
}

/**
 * Loads a checkpoint (config.json + model.safetensors or a sharded index [+ tokenizer.json]) into the
 * engine, streaming the weights into engine memory (float16 / bfloat16 converted on the way):
 *   - a folder path (Node, Deno, Bun);
 *   - an http(s) URL of a folder, or `hf://owner/name[@revision]` for `<hub>/owner/name/resolve/<revision>/`
 *     (hub: option `hub`, else SIMDFORMER_HUB, else https://huggingface.co), downloaded once into the cache;
 *   - File / Blob objects (a page's dropped folder), by file name.
 */
export async function loadModel(
  engine: Engine,
  from: ModelSource,
  options: LoadOptions = {},
): Promise<PretrainedModel> {
  const { quantize } = options;
  if (quantize !== undefined && quantize !== 'int8')
    throw new ArgumentError(`quantize must be 'int8', got ${JSON.stringify(quantize)}`);
  return loadFromSource(engine, await checkpointSource(from, options), { onProgress: options.onProgress, quantize });
}

/**
 * The checkpoint a source names, as files to stream (a URL or hub name is downloaded into the cache
 * first, in Node): for readCheckpointConfig and loadWeightsInto (fine-tuning a pre-trained body).
 */
export async function checkpointSource(from: ModelSource, options: LoadOptions = {}): Promise<CheckpointSource> {
  if (typeof from !== 'string' && !(from instanceof URL)) return blobSource(from);
  if (from instanceof URL && from.protocol === 'file:') return (await nodeFolder()).folderSource(fileURLPath(from));
  const url = folderUrl(from, options);
  if (!url) return (await nodeFolder()).folderSource(from as string);
  const progress = (file: string, loaded: number, total: number | undefined) =>
    options.onProgress?.({ phase: 'download', file, loaded, total });
  const download = { fetch: options.fetch, retries: options.retries, signal: options.signal, onProgress: progress };
  if (hasNodeFs() && (options.cache === undefined || typeof options.cache === 'string')) {
    const dir = await (
      await nodeHubCache()
    ).cachedCheckpoint(url, { ...download, cacheDir: options.cache, refresh: options.refresh });
    return (await nodeFolder()).folderSource(dir);
  }
  return webSource(url, { ...download, cache: typeof options.cache === 'string' ? undefined : options.cache });
}

function fileURLPath(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** A model of a causal family (GPT-2, LLaMA): the CausalLM of generate/, with loss, forward and save. */
export type CausalModel = Extract<PretrainedModel, { kind: 'causal-lm' }>;

/** The model as a causal language model (GPT-2, LLaMA), or an ArgumentError naming what the checkpoint holds. */
export function asCausalLM(model: PretrainedModel, where = 'checkpoint'): CausalModel {
  if (model.kind === 'causal-lm') return model;
  throw new ArgumentError(
    `${where} holds a ${model.config.model_type} model; this needs a causal language model (gpt2 or llama)`,
  );
}

/** A model of an encoder-decoder family (T5, BART). */
export type Seq2SeqModel = Extract<PretrainedModel, { kind: 'seq2seq' }>;

/** The model as an encoder-decoder (T5, BART), or an ArgumentError naming what the checkpoint holds. */
export function asSeq2Seq(model: PretrainedModel, where = 'checkpoint'): Seq2SeqModel {
  if (model.kind === 'seq2seq') return model;
  throw new ArgumentError(
    `${where} holds a ${model.config.model_type} model; this needs an encoder-decoder model (t5 or bart)`,
  );
}
