/**
 * simdformer/io: formats only (safetensors, config.json, checkpoint files as bytes). No Node APIs here, so
 * this entry point works in browsers and workers; the Node folder reader/writer is `./checkpoint.js`.
 */
export * from './safetensors.js';
export * from './config.js';
export { MODEL_TYPES, gpt2InnerDim, t5FeedForward } from './hf/index.js';
export type * from './hf/index.js';
export * from './checkpoint-format.js';
export { blobSource, type CheckpointSource, type SourceFile } from './checkpoint-source.js';
export { DEFAULT_HUB, folderUrl, hubBase, type HubOptions } from './hub.js';
export { CACHE_NAME, type WebCache } from './web-source.js';
export type { ByteReader } from './tensor-stream.js';
