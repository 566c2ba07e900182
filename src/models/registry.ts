/**
 * The model families, by the `model_type` of their config.json. Adding a family: its model file here,
 * its Hugging Face file (src/io/hf/<family>.ts), and one line in FAMILIES (docs/architecture.md).
 */
import type { ModelConfig, ModelType } from '../io/hf/index.js';
import type { Engine } from '../tensor/engine.js';
import { Bart } from './bart.js';
import { Bert } from './bert.js';
import { GPT } from './gpt.js';
import { Llama } from './llama.js';
import { T5 } from './t5.js';

/** model_type → the family's class; the compiler fails when a type of src/io/hf has no class here. */
export const FAMILIES = { gpt2: GPT, bert: Bert, t5: T5, bart: Bart, llama: Llama } as const satisfies Record<
  ModelType,
  unknown
>;

/** A model of any family; its `kind` says which: 'causal-lm' (GPT, LLaMA), 'encoder' (BERT), 'seq2seq' (T5, BART). */
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
