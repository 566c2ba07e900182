/**
 * The families simdformer reads and writes in Hugging Face's layout, one file each: its config.json table
 * and its weight names. Adding a family: its file here, one line in TABLES (and in src/models/registry.ts).
 */
import type { BartConfig } from './bart.js';
import { BART_TABLE } from './bart.js';
import type { BertConfig } from './bert.js';
import { BERT_TABLE } from './bert.js';
import type { ConfigTable } from './family.js';
import type { Gpt2Config } from './gpt2.js';
import { GPT2_TABLE } from './gpt2.js';
import type { RobertaConfig } from './roberta.js';
import { ROBERTA_TABLE } from './roberta.js';
import type { LlamaConfig } from './llama.js';
import { LLAMA_TABLE } from './llama.js';
import type { T5Config } from './t5.js';
import { T5_TABLE } from './t5.js';

export type { CommonConfig } from './family.js';
export type { Gpt2Config, Gpt2Fields } from './gpt2.js';
export type { BertConfig, BertFields } from './bert.js';
export type { T5Config, T5Fields } from './t5.js';
export type { BartConfig, BartFields } from './bart.js';
export type { RobertaConfig, RobertaFields } from './roberta.js';
export { gpt2InnerDim } from './gpt2.js';
export { t5FeedForward } from './t5.js';

export type { LlamaConfig, LlamaFields } from './llama.js';

export type ModelConfig = Gpt2Config | BertConfig | T5Config | BartConfig | RobertaConfig | LlamaConfig;
export type ModelType = ModelConfig['model_type'];

type AnyTable = ConfigTable<Record<string, unknown>>;
/** model_type → its config.json table: parse, serialize and the "known model types" message read it. */
export const TABLES: Record<ModelType, AnyTable> = {
  gpt2: GPT2_TABLE as unknown as AnyTable,
  bert: BERT_TABLE as unknown as AnyTable,
  t5: T5_TABLE as unknown as AnyTable,
  bart: BART_TABLE as unknown as AnyTable,
  roberta: ROBERTA_TABLE as unknown as AnyTable,
  llama: LLAMA_TABLE as unknown as AnyTable,
};
export const MODEL_TYPES = Object.keys(TABLES) as ModelType[];
