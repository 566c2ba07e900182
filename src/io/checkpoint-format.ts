/**
 * A checkpoint as files, bytes in and bytes out (no Node APIs: a browser can zip, upload or store these).
 *
 *   config.json              serializeConfig(config), 2-space indent, sorted keys, trailing newline (as transformers)
 *   model.safetensors        writeSafetensors(tensors, metadata) — F32, names as the model layer gives them
 *   tokenizer.json           optional, a tokenizers object (or its exact text)
 *   generation_config.json   optional, kept as given
 *   <extra files>            optional, any other plain file names (vocab.json, merges.txt, ...)
 *
 * The Node side (atomic write to a folder, read from a folder) is in checkpoint.ts.
 */
import { ArgumentError, CheckpointError, ConfigError, SafetensorsError } from '../errors.js';
import { type ModelConfig, parseConfig, serializeConfig } from './config.js';
import { MAX_JSON_DEPTH, jsonTextNestsWithin } from './json.js';
import { type NamedTensor, type SafetensorsFile, readSafetensors, writeSafetensors } from './safetensors.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const TOKENIZER_FILE = 'tokenizer.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';
const MANAGED = [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, GENERATION_CONFIG_FILE];

export interface CheckpointInput {
  config: ModelConfig;
  tensors: NamedTensor[];
  /** safetensors `__metadata__`; {"format":"pt"} is always added unless given. */
  metadata?: Record<string, string>;
  /** tokenizer.json as an object (written with 2-space indent) or as its exact text. */
  tokenizer?: object | string;
  generationConfig?: object;
  /** Other files of the folder by plain name (no folders), e.g. { 'vocab.json': text }. */
  extraFiles?: Record<string, Uint8Array | string>;
}

export interface Checkpoint {
  config: { raw: Record<string, unknown>; parsed: ModelConfig };
  tensors: SafetensorsFile;
  tokenizer?: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
}

/**
 * Every file of the checkpoint, file name → bytes, in the order they should be put in place: weights and
 * other files first, config.json last (a reader that finds the new config.json finds the new weights).
 * Everything is serialised here, before anything touches a disk, so bad input throws with no file written.
 */
export function encodeCheckpoint(input: CheckpointInput): Map<string, Uint8Array> {
  const enc = new TextEncoder();
  const json = (v: unknown) => enc.encode(JSON.stringify(v, null, 2) + '\n');
  const files = new Map<string, Uint8Array>();
  files.set(WEIGHTS_FILE, writeSafetensors(input.tensors, input.metadata));
  if (input.tokenizer !== undefined) {
    files.set(
      TOKENIZER_FILE,
      typeof input.tokenizer === 'string' ? enc.encode(input.tokenizer) : json(input.tokenizer),
    );
  }
  if (input.generationConfig !== undefined) files.set(GENERATION_CONFIG_FILE, json(input.generationConfig));
  for (const [name, content] of Object.entries(input.extraFiles ?? {})) {
    if (!/^[^/\\]+$/.test(name) || name === '.' || name === '..' || MANAGED.includes(name)) {
      throw new ArgumentError(
        `extra checkpoint file ${JSON.stringify(name)}: expected a plain file name (no folders) other than ${MANAGED.join(', ')}`,
      );
    }
    files.set(name, typeof content === 'string' ? enc.encode(content) : content);
  }
  files.set(CONFIG_FILE, json(serializeConfig(input.config)));
  return files;
}

/**
 * Parse the files of a checkpoint. `read(name)` returns a file's bytes or undefined when it is absent;
 * `where` names the folder in error messages.
 */
export function decodeCheckpoint(read: (name: string) => Uint8Array | undefined, where: string): Checkpoint {
  const configBytes = read(CONFIG_FILE);
  if (configBytes === undefined) {
    throw new CheckpointError(
      `checkpoint folder ${where} has no ${CONFIG_FILE} (a checkpoint is ${CONFIG_FILE} + ${WEIGHTS_FILE} [+ ${TOKENIZER_FILE}])`,
    );
  }
  const weightBytes = read(WEIGHTS_FILE);
  if (weightBytes === undefined) {
    const hint =
      read(`${WEIGHTS_FILE}.index.json`) !== undefined
        ? `; it has ${WEIGHTS_FILE}.index.json, a sharded checkpoint, which is not supported`
        : read('pytorch_model.bin') !== undefined
          ? '; it has pytorch_model.bin only: convert it to safetensors first'
          : '';
    throw new CheckpointError(`checkpoint folder ${where} has no ${WEIGHTS_FILE}${hint}`);
  }

  const raw = jsonFile(configBytes, CONFIG_FILE, where);
  let parsed: ModelConfig;
  try {
    parsed = parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${where}/${CONFIG_FILE}: ${e.message}`);
    throw e;
  }
  let tensors: SafetensorsFile;
  try {
    tensors = readSafetensors(weightBytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${where}/${WEIGHTS_FILE}: ${e.message}`);
    throw e;
  }
  const out: Checkpoint = { config: { raw, parsed }, tensors };
  const tokenizerBytes = read(TOKENIZER_FILE);
  if (tokenizerBytes !== undefined) out.tokenizer = jsonFile(tokenizerBytes, TOKENIZER_FILE, where);
  const generationBytes = read(GENERATION_CONFIG_FILE);
  if (generationBytes !== undefined) out.generationConfig = jsonFile(generationBytes, GENERATION_CONFIG_FILE, where);
  return out;
}

function jsonFile(bytes: Uint8Array, name: string, where: string): Record<string, unknown> {
  const text = new TextDecoder().decode(bytes);
  if (!jsonTextNestsWithin(text)) {
    throw new CheckpointError(`${where}/${name} nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${where}/${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new CheckpointError(`${where}/${name} should hold a JSON object`);
  }
  return v as Record<string, unknown>;
}
