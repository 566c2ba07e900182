/**
 * `--from`: a checkpoint folder, a folder URL, or `hf://owner/name[@revision]` (the hub: SIMDFORMER_HUB or
 * https://huggingface.co; downloads cached in SIMDFORMER_CACHE or ~/.cache/simdformer), with a progress bar
 * on stderr while files download and weights load.
 */
import { nodeHubCache } from '../io/node.js';
import { folderUrl } from '../io/hub.js';
import { loadModel, type LoadOptions, type PretrainedModel } from '../models/load.js';
import type { Engine } from '../tensor/engine.js';
import { ByteProgress } from './progress.js';

export const FROM_HELP = 'checkpoint: a folder, a folder URL, or hf://owner/name[@revision] (downloaded and cached)';

/** Loads the model `--from` names (quantized with `options.quantize`), showing download and load progress. */
export async function loadFrom(
  engine: Engine,
  from: string,
  options: Pick<LoadOptions, 'quantize'> = {},
): Promise<PretrainedModel> {
  const bar = new ByteProgress();
  try {
    return await loadModel(engine, from, { ...options, onProgress: bar.update });
  } finally {
    bar.finish();
  }
}

/** The local folder `--from` names: a URL or hf:// name is downloaded into the cache first (with progress). */
export async function localFolder(from: string): Promise<string> {
  const url = folderUrl(from);
  if (!url) return from;
  const bar = new ByteProgress();
  try {
    return await (
      await nodeHubCache()
    ).cachedCheckpoint(url, {
      onProgress: (file, loaded, total) => bar.update({ phase: 'download', file, loaded, total }),
    });
  } finally {
    bar.finish();
  }
}
