/**
 * The model families, by the `model_type` of their config.json. Adding a family: its model file here,
 * its Hugging Face file (src/io/hf/<family>.ts), and one line in FAMILIES (docs/architecture.md).
 */
import type { Checkpoint } from '../io/checkpoint-format.js';
import type { BertConfig, ModelConfig, ModelType, RobertaConfig } from '../io/hf/index.js';
import type { Engine } from '../tensor/engine.js';
import type { Quantization } from './quantize.js';
import { Bart, bartParameters } from './bart.js';
import { Bert, bertParameters } from './bert.js';
import { GPT, gptParameters } from './gpt.js';
import { Llama, llamaParameters } from './llama.js';
import { Roberta, ROBERTA_FAMILY } from './roberta.js';
import { checkParameterMemory, checkParametersInFile, type ParameterTerm } from './size.js';
import { T5, t5Parameters } from './t5.js';

/** model_type → the family's class; the compiler fails when a type of src/io/hf has no class here. */
export const FAMILIES = {
  gpt2: GPT,
  bert: Bert,
  t5: T5,
  bart: Bart,
  roberta: Roberta,
  llama: Llama,
} as const satisfies Record<ModelType, unknown>;

/** A model of any family; its `kind` says which: 'causal-lm' (GPT, LLaMA), 'encoder' (BERT, RoBERTa), 'seq2seq' (T5, BART). */
export type PretrainedModel = InstanceType<(typeof FAMILIES)[ModelType]>;
export type ModelKind = PretrainedModel['kind'];

/** A model of the family the config names, with fresh weights drawn from `seed`. */
export function createModel(engine: Engine, config: ModelConfig, seed = 0): PretrainedModel {
  const Family = FAMILIES[config.model_type] as new (
    engine: Engine,
    config: ModelConfig,
    seed?: number,
  ) => PretrainedModel;
  return new Family(engine, config, seed);
}

const PARAMETERS = {
  gpt2: gptParameters,
  bert: (c: BertConfig) => bertParameters(c),
  roberta: (c: RobertaConfig) => bertParameters(c, ROBERTA_FAMILY),
  t5: t5Parameters,
  bart: bartParameters,
  llama: llamaParameters,
} as const satisfies Record<ModelType, unknown>;

/** The parameters the config's model holds, by the fields that size them, counted without building it. */
export function modelParameters(config: ModelConfig): ParameterTerm[] {
  return (PARAMETERS[config.model_type] as (c: ModelConfig) => ParameterTerm[])(config);
}

/**
 * Before the checkpoint's model is built: a ConfigError if its parameters would not fit in the engine's free
 * memory, a CheckpointError if the checkpoint's float tensors hold fewer values than the config describes. So a
 * config whose sizes do not describe its weights allocates nothing (src/models/size.ts).
 */
export function checkCheckpointHoldsModel(engine: Engine, ck: Checkpoint, where: string): void {
  checkWeightsHoldModel(
    engine,
    ck.config.parsed,
    [...ck.tensors.tensors.values()].map((t) => ({ dtype: t.dtype, shape: t.shape })),
    where,
  );
}

/** The same check over the tensors' headers (dtype, shape) alone: what streaming loads know before they allocate. */
export function checkWeightsHoldModel(
  engine: Engine,
  config: ModelConfig,
  tensors: Iterable<{ dtype: string; shape: readonly number[] }>,
  where: string,
  quantize?: Quantization,
): void {
  const type = config.model_type;
  const terms = modelParameters(config);
  checkParameterMemory(engine, type, terms, quantize);
  let values = 0;
  // int64 tensors are buffers (position_ids); a weight stored as I32 counts here and gets its dtype error later
  for (const t of tensors) if (t.dtype !== 'I64') values += t.shape.reduce((a, d) => a * d, 1);
  checkParametersInFile(type, terms, values, where);
}
