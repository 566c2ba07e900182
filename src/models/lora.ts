/**
 * LoRA on a pre-trained model, with PEFT's names and defaults: `applyLora(model, { r, alpha, dropout,
 * targetModules })` freezes every base weight and puts low-rank adapters (src/nn/lora.ts) on the linear layers
 * whose Hugging Face module name matches a target (PEFT's rule: the name, or a name ending in `.<target>`).
 * Fused projections here (q|k|v in one matmul) get one adapter per targeted part: `q_proj` and `v_proj` of
 * LLaMA are the first and last rows of one weight. Only the adapters (and `modulesToSave`: a new
 * classification head) train, so only they get gradients and optimizer state. Files: src/models/peft.ts.
 */
import { AdapterError, ArgumentError } from '../errors.js';
import type { ModelType } from '../io/hf/index.js';
import { hfParts } from '../io/name-rules.js';
import { Linear } from '../nn/layers.js';
import { LoraAdapter } from '../nn/lora.js';
import { Rng } from '../rng.js';
import type { Engine } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { PretrainedModel } from './registry.js';

/** PEFT's default target modules per model type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export const DEFAULT_LORA_TARGETS: Record<ModelType, string[]> = {
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
  llama: ['q_proj', 'v_proj'],
  t5: ['q', 'v'],
  bart: ['q_proj', 'v_proj'],
};

/** PEFT's task types, by what the model is (null: a bare encoder, pre-training heads). */
export type PeftTaskType = 'CAUSAL_LM' | 'SEQ_2_SEQ_LM' | 'SEQ_CLS' | 'TOKEN_CLS' | null;

export interface LoraOptions {
  /** Rank of the update. Default 8 (PEFT's). */
  r?: number;
  /** The update is scaled by alpha / r. Default 8 (PEFT's lora_alpha). */
  alpha?: number;
  /** Dropout on the adapters' input while training. Default 0. */
  dropout?: number;
  /** Module names (or one regular expression over whole names, as PEFT takes a string). Default: PEFT's for the model type. */
  targetModules?: string[] | string;
  /**
   * Modules trained whole and saved with the adapter (PEFT's modules_to_save). Default: a classification
   * head's `classifier` / `score` (as PEFT does for SEQ_CLS and TOKEN_CLS), else none.
   */
  modulesToSave?: string[];
  /** Scale by alpha / √r (PEFT's use_rslora). */
  rsLora?: boolean;
  /** Seed of the A matrices' initialisation. Default 0. */
  seed?: number;
}

/** The options with every default filled in, as adapter_config.json records them. */
export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[] | string;
  modulesToSave: string[] | null;
  rsLora: boolean;
  taskType: PeftTaskType;
  /** Whether the targeted weights are stored [in, out] (GPT-2's Conv1D). */
  fanInFanOut: boolean;
}

export interface LoraSummary {
  r: number;
  alpha: number;
  trainable: number;
}

/** What a Trainer needs of a model (src/train/trainer.ts's TrainableModel, which this layer may not import). */
export interface LossModel<B> {
  readonly engine: Engine;
  namedParameters(): Map<string, Tensor>;
  loss(batch: B): Tensor;
  train?(mode: boolean): unknown;
  gradientCheckpointingEnable?(): unknown;
}

/** PEFT's rule for a target: the whole name as a regular expression (a string), or the name or its tail (a list). */
export function matchesTarget(module: string, targets: string[] | string): boolean {
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(module);
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

export function peftTaskType(model: PretrainedModel): PeftTaskType {
  if (model.kind === 'causal-lm') return 'CAUSAL_LM';
  if (model.kind === 'seq2seq') return 'SEQ_2_SEQ_LM';
  if (model.task === 'sequence-classification') return 'SEQ_CLS';
  if (model.task === 'token-classification') return 'TOKEN_CLS';
  return null;
}

/** A model with LoRA adapters: its trainable tensors by PEFT name, merge, and (src/models/peft.ts) save/load. */
export class LoraModel {
  /** Adapters by Hugging Face module name (`transformer.h.0.attn.c_attn`). */
  readonly adapters = new Map<string, LoraAdapter>();
  /** Tensors of modules_to_save, by Hugging Face parameter name (`classifier.weight`). */
  readonly saved = new Map<string, Tensor>();
  private merged = false;

  constructor(
    readonly model: PretrainedModel,
    readonly settings: LoraSettings,
  ) {}

  /** The adapters' tensors and the saved modules' under the names of PEFT's adapter_model.safetensors. */
  namedParameters(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [m, a] of this.adapters) {
      out.set(`base_model.model.${m}.lora_A.weight`, a.A);
      out.set(`base_model.model.${m}.lora_B.weight`, a.B);
    }
    for (const [n, t] of this.saved) out.set(`base_model.model.${n}`, t);
    return out;
  }

  /**
   * `m` (the model, or the model with loss options) with the adapters among its parameters, for a Trainer:
   * the frozen base weights are skipped there, so only adapters and saved modules are stepped.
   */
  trainable<B>(m: LossModel<B>): LossModel<B> {
    return {
      engine: m.engine,
      namedParameters: () => new Map([...m.namedParameters(), ...this.namedParameters()]),
      loss: (b) => m.loss(b),
      train: (mode) => m.train?.(mode),
      gradientCheckpointingEnable: m.gradientCheckpointingEnable && (() => m.gradientCheckpointingEnable?.()),
    };
  }

  /** Rank, alpha and the number of trainable values (adapters and saved modules). */
  summary(): LoraSummary {
    let trainable = 0;
    for (const t of this.namedParameters().values()) trainable += t.size;
    return { r: this.settings.r, alpha: this.settings.alpha, trainable };
  }

  /**
   * Folds every adapter into its base weight (W += (alpha/r)·B·A, transposed for [in, out] weights) and
   * returns the model, now an ordinary model (save it as any checkpoint). The adapters are released.
   */
  merge(): PretrainedModel {
    this.checkLive();
    for (const a of this.adapters.values()) a.merge();
    this.adapters.clear();
    this.merged = true;
    return this.model;
  }

  /** Takes the adapters off the model (the base model again) and releases them. */
  unload(): PretrainedModel {
    this.checkLive();
    for (const a of this.adapters.values()) a.detach();
    this.adapters.clear();
    this.merged = true;
    return this.model;
  }

  private checkLive(): void {
    if (this.merged) throw new ArgumentError('lora: the adapters were already merged or unloaded');
  }
}

/** A linear layer's parts under Hugging Face module names: [module, rows offset, rows]. */
function hfModules(model: PretrainedModel): { module: string; linear: Linear; offset: number; width: number }[] {
  const names = model.hfLoadSpec().names;
  const out: { module: string; linear: Linear; offset: number; width: number }[] = [];
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Linear)) continue;
    const parts = hfParts(names, `${path}.weight`, m.weight.shape[0]!);
    if (!parts) continue;
    if (parts.length > 1 && m.layout === 'in_out')
      throw new AdapterError(`lora: ${path} is stored [in, out] and split into parts; not supported`);
    for (const p of parts) {
      out.push({
        module: p.name.replace(/\.weight$/, ''),
        linear: m,
        offset: p.offset,
        width: parts.length === 1 ? m.outFeatures : p.rows,
      });
    }
  }
  return out;
}

/**
 * Puts LoRA adapters on the model's targeted linear layers and freezes everything else (but modulesToSave).
 * An AdapterError when no module matches a target. The model's own forward, loss and generation then run
 * with the adapters; `merge()` folds them in.
 */
export function applyLora(model: PretrainedModel, options: LoraOptions = {}): LoraModel {
  const type = model.config.model_type;
  const taskType = peftTaskType(model);
  const targets = options.targetModules ?? DEFAULT_LORA_TARGETS[type];
  if (Array.isArray(targets) && targets.length === 0) throw new ArgumentError('lora: targetModules is empty');
  const classifier = taskType === 'SEQ_CLS' || taskType === 'TOKEN_CLS';
  const modulesToSave = options.modulesToSave ?? (classifier ? ['classifier', 'score'] : null);
  const hyper = { r: options.r ?? 8, alpha: options.alpha ?? 8, dropout: options.dropout ?? 0, rsLora: options.rsLora };
  const parts = hfModules(model).filter((p) => matchesTarget(p.module, targets));
  if (parts.length === 0) {
    const known = [...new Set(hfModules(model).map((p) => p.module.split('.').pop()))].join(', ');
    throw new AdapterError(
      `lora: no ${type} module matches target_modules ${JSON.stringify(targets)}; its linear modules are ${known}`,
    );
  }
  model.setTrainable(false);
  const lora = new LoraModel(model, {
    r: hyper.r,
    alpha: hyper.alpha,
    dropout: hyper.dropout,
    targetModules: targets,
    modulesToSave,
    rsLora: !!options.rsLora,
    taskType,
    fanInFanOut: parts.some((p) => p.linear.layout === 'in_out'),
  });
  const rng = new Rng(options.seed ?? 0).fork('lora');
  for (const p of parts) {
    const a = new LoraAdapter(p.linear, { offset: p.offset, width: p.width }, hyper, rng.fork(p.module));
    p.linear.adapters.push(a);
    lora.adapters.set(p.module, a);
  }
  if (modulesToSave) for (const [n, t] of savedModules(model, modulesToSave)) lora.saved.set(n, t);
  for (const t of lora.saved.values()) t.requiresGrad = true;
  return lora;
}

/** The parameters of modules_to_save, by Hugging Face name (a parameter under a matching module). */
function savedModules(model: PretrainedModel, modules: string[]): Map<string, Tensor> {
  const names = model.hfLoadSpec().names;
  const out = new Map<string, Tensor>();
  for (const [path, t] of model.namedParameters()) {
    const parts = hfParts(names, path, t.shape[0] ?? 1);
    if (!parts || parts.length !== 1) continue;
    const name = parts[0]!.name;
    const segs = name.split('.').slice(0, -1);
    const under = segs.some((_, i) => matchesTarget(segs.slice(0, i + 1).join('.'), modules));
    if (under) out.set(name, t);
  }
  return out;
}
