/** What every model family does with Hugging Face checkpoints, given its name map. */
import { QuantizedError } from '../errors.js';
import type { ModelConfig } from '../io/hf/index.js';
import { nodeCheckpointFiles } from '../io/node.js';
import { fromHF, toHF, type FromHFOptions, type NameMap } from '../io/name-rules.js';
import type { NamedTensor } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { int8Of } from '../tensor/ops/int8.js';

export type TensorSource = (name: string) => { shape: number[]; data: Float32Array } | undefined;

/** How a model's parameters are found in a checkpoint: its name map and the options of fromHF. */
export interface HFLoadSpec {
  names: NameMap;
  options?: FromHFOptions;
}

/** The module's parameters under the checkpoint's names and layouts. */
export function hfTensors(module: Module, names: NameMap): NamedTensor[] {
  for (const [name, t] of module.namedParameters()) {
    if (int8Of(t)) {
      throw new QuantizedError(
        `cannot save a model quantized to int8 (${name} is int8): checkpoints hold float weights; save the float model`,
      );
    }
  }
  return toHF(
    names,
    [...module.namedParameters()].map(([name, t]) => ({ name, shape: [...t.shape], data: t.toArray() })),
  );
}

/** Sets the module's parameters from a checkpoint's tensors, checking every name and shape (see fromHF). */
export function loadHF(
  module: Module,
  names: NameMap,
  get: TensorSource,
  available: string[],
  options?: FromHFOptions,
): void {
  const params = module.namedParameters();
  const values = fromHF(names, get, available, new Map([...params].map(([n, t]) => [n, t.shape])), options);
  for (const [n, t] of params) {
    const v = values.get(n);
    if (v) t.set(v);
  }
}

/** Writes config.json, model.safetensors [, tokenizer.json, extra files] into dir, file by file atomically. */
export async function saveHF(
  dir: string,
  config: ModelConfig,
  tensors: NamedTensor[],
  tokenizer?: object,
  extraFiles?: Record<string, Uint8Array | string>,
): Promise<void> {
  const { writeCheckpoint } = await nodeCheckpointFiles();
  await writeCheckpoint(dir, { config, tensors, tokenizer, extraFiles });
}
