/**
 * LoRA adapters in PEFT's files, so they move both ways between this engine and `peft`:
 *   adapter_config.json        peft_type "LORA", r, lora_alpha, lora_dropout, target_modules, fan_in_fan_out, …
 *   adapter_model.safetensors  base_model.model.<module>.lora_A.weight [r, in], .lora_B.weight [out, r], and
 *                              base_model.model.<parameter> of modules_to_save
 * where <module> is the Hugging Face module name in the whole model (`transformer.h.0.attn.c_attn` for
 * GPT2LMHeadModel, `model.layers.0.self_attn.q_proj` for LlamaForCausalLM).
 */
import { AdapterError, CheckpointError } from '../errors.js';
import { describe } from '../io/describe.js';
import { jsonTextNestsWithin } from '../io/json.js';
import { nodeCheckpointFiles } from '../io/node.js';
import { getFloat32, readSafetensors, writeSafetensors, type NamedTensor } from '../io/safetensors.js';
import { applyLora, type LoraModel, type LoraOptions } from './lora.js';
import type { PretrainedModel } from './registry.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** adapter_config.json as PEFT's LoraConfig writes it (the fields this engine builds; the rest at their defaults). */
export function adapterConfig(lora: LoraModel, baseModel: string | null = null): Record<string, unknown> {
  const s = lora.settings;
  return {
    peft_type: 'LORA',
    task_type: s.taskType,
    base_model_name_or_path: baseModel,
    inference_mode: true,
    r: s.r,
    lora_alpha: s.alpha,
    lora_dropout: s.dropout,
    target_modules: s.targetModules,
    fan_in_fan_out: s.fanInFanOut,
    bias: 'none',
    modules_to_save: s.modulesToSave,
    use_rslora: s.rsLora,
    use_dora: false,
    init_lora_weights: true,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
}

/** The adapter's tensors under PEFT's names. */
export function adapterTensors(lora: LoraModel): NamedTensor[] {
  return [...lora.namedParameters()].map(([name, t]) => ({ name, shape: [...t.shape], data: t.toArray() }));
}

/** What is saved beside the adapter: the base model's name (base_model_name_or_path), extra files (tokenizer.json). */
export interface LoraSaveOptions {
  baseModel?: string;
  extraFiles?: Record<string, Uint8Array | string>;
}

/**
 * The adapter's files, name → bytes, in the order they are put in place (the config last, as encodeCheckpoint
 * orders a model's): extra files, adapter_model.safetensors, adapter_config.json.
 */
export function encodeLora(lora: LoraModel, options: LoraSaveOptions = {}): Map<string, Uint8Array> {
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>();
  for (const [n, d] of Object.entries(options.extraFiles ?? {}))
    files.set(n, typeof d === 'string' ? enc.encode(d) : d);
  files.set(ADAPTER_WEIGHTS, writeSafetensors(adapterTensors(lora), { format: 'pt' }));
  files.set(ADAPTER_CONFIG, enc.encode(`${JSON.stringify(adapterConfig(lora, options.baseModel ?? null), null, 2)}\n`));
  return files;
}

/** Writes the adapter's files (encodeLora) into dir, each to a temporary name, then renamed, the config last. */
export async function saveLora(lora: LoraModel, dir: string, options: LoraSaveOptions = {}): Promise<void> {
  await (await nodeCheckpointFiles()).writeFolderFiles(dir, encodeLora(lora, options));
}

/** LoraOptions from an adapter_config.json object; an AdapterError for what is not LoRA or not built here. */
export function loraOptionsFromConfig(raw: unknown, where = ADAPTER_CONFIG): LoraOptions {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new AdapterError(`${where}: expected a JSON object, got ${describe(raw)}`);
  const c = raw as Record<string, unknown>;
  if (c['peft_type'] !== 'LORA')
    throw new AdapterError(`${where}: peft_type is ${describe(c['peft_type'])}, expected "LORA"`);
  const positive = (k: string, int: boolean) => {
    const v = c[k];
    if (typeof v !== 'number' || !(v > 0) || (int && !Number.isInteger(v)))
      throw new AdapterError(
        `${where}: "${k}" must be a ${int ? 'positive integer' : 'number > 0'}, got ${describe(v)}`,
      );
    return v;
  };
  const unsupported = (k: string, ok: (v: unknown) => boolean, what: string) => {
    if (c[k] !== undefined && !ok(c[k]))
      throw new AdapterError(`${where}: "${k}" ${describe(c[k])} is not supported (${what})`);
  };
  const empty = (v: unknown) => v === null || (typeof v === 'object' && Object.keys(v as object).length === 0);
  unsupported('bias', (v) => v === 'none', 'only "none"');
  unsupported('use_dora', (v) => v === false, 'DoRA is not built');
  unsupported('rank_pattern', empty, 'one r for every module');
  unsupported('alpha_pattern', empty, 'one lora_alpha for every module');
  unsupported('layers_to_transform', (v) => v === null, 'every layer');
  const t = c['target_modules'];
  const targets =
    typeof t === 'string' || (Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === 'string'))
      ? (t as string | string[])
      : undefined;
  if (!targets)
    throw new AdapterError(`${where}: "target_modules" must be a list of names or a pattern, got ${describe(t)}`);
  const save = c['modules_to_save'];
  if (save !== undefined && save !== null && !(Array.isArray(save) && save.every((x) => typeof x === 'string')))
    throw new AdapterError(`${where}: "modules_to_save" must be null or a list of names, got ${describe(save)}`);
  const dropout = c['lora_dropout'] ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
    throw new AdapterError(`${where}: "lora_dropout" must be in [0, 1), got ${describe(dropout)}`);
  return {
    r: positive('r', true),
    alpha: positive('lora_alpha', false),
    dropout,
    targetModules: targets,
    modulesToSave: (save as string[] | null | undefined) ?? [],
    rsLora: c['use_rslora'] === true,
  };
}

/**
 * Puts the adapter of an adapter_config.json object and adapter_model.safetensors bytes on the model
 * (readAdapterWeights: an AdapterError naming what does not fit, and the model is left without adapters).
 */
export function loraFromFiles(
  model: PretrainedModel,
  config: unknown,
  weights: Uint8Array,
  where = 'adapter',
): LoraModel {
  const lora = applyLora(model, loraOptionsFromConfig(config, `${where}/${ADAPTER_CONFIG}`));
  try {
    readAdapterWeights(lora, weights, where);
  } catch (e) {
    lora.unload();
    throw e instanceof CheckpointError ? new AdapterError(e.message) : e;
  }
  return lora;
}

/**
 * Sets the adapter's tensors from adapter_model.safetensors bytes: every tensor of the adapter must be in the
 * file with its shape, and every tensor of the file must be one of them (an AdapterError naming the tensor
 * otherwise). Everything is checked before anything is written.
 */
export function readAdapterWeights(lora: LoraModel, weights: Uint8Array, where = 'adapter'): void {
  let file;
  try {
    file = readSafetensors(weights);
  } catch (e) {
    throw new AdapterError(`${where}/${ADAPTER_WEIGHTS}: ${(e as Error).message}`);
  }
  const expected = lora.namedParameters();
  for (const [name, t] of expected) {
    const got = file.tensors.get(name);
    if (!got) throw new AdapterError(`${where}/${ADAPTER_WEIGHTS} lacks ${name} (shape [${t.shape.join(', ')}])`);
    if (got.shape.length !== t.shape.length || got.shape.some((d, i) => d !== t.shape[i])) {
      throw new AdapterError(
        `${where}/${ADAPTER_WEIGHTS}: ${name} has shape [${got.shape.join(', ')}], expected [${t.shape.join(', ')}] (r = ${lora.settings.r})`,
      );
    }
  }
  const unknown = [...file.tensors.keys()].filter((n) => !expected.has(n));
  if (unknown.length > 0) {
    throw new AdapterError(
      `${where}/${ADAPTER_WEIGHTS} has tensors this ${lora.model.config.model_type} adapter does not use: ${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ` and ${unknown.length - 3} more` : ''}`,
    );
  }
  for (const [name, t] of expected) t.set(getFloat32(file, name));
}

/** Loads the PEFT adapter in folder `dir` (adapter_config.json + adapter_model.safetensors) onto the model. */
export async function loadLora(model: PretrainedModel, dir: string): Promise<LoraModel> {
  const { readFolderFile } = await nodeCheckpointFiles();
  const read = async (name: string) => {
    const bytes = await readFolderFile(dir, name);
    if (bytes) return bytes;
    if (name === ADAPTER_WEIGHTS && (await readFolderFile(dir, 'adapter_model.bin')))
      throw new AdapterError(
        `${dir} holds adapter_model.bin (a pickle, not read here); convert it to ${ADAPTER_WEIGHTS} (peft's save_pretrained(safe_serialization=True))`,
      );
    throw new AdapterError(`${dir} has no ${name}: not a PEFT adapter folder`);
  };
  const text = new TextDecoder().decode(await read(ADAPTER_CONFIG));
  let config: unknown;
  try {
    if (!jsonTextNestsWithin(text)) throw new Error('nested too deeply');
    config = JSON.parse(text);
  } catch {
    throw new AdapterError(`${dir}/${ADAPTER_CONFIG} is not JSON`);
  }
  return loraFromFiles(model, config, await read(ADAPTER_WEIGHTS), dir);
}
