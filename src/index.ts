/**
 * simdformer: pre-train, fine-tune and run transformer language models on the CPU, anywhere JavaScript
 * runs. The public API; see README.md.
 */
export * from './errors.js';
export { Engine, type EngineOptions, type Kernels, type KernelsOption, type Simd } from './tensor/engine.js';
export { Tensor, type Shape, type Region } from './tensor/tensor.js';
export * as ops from './tensor/ops/index.js';
export { Module, ModuleList } from './nn/module.js';
export { Linear, Embedding, LayerNorm, RMSNorm } from './nn/layers.js';
export { SelfAttention, CrossAttention, KVCache } from './nn/attention.js';
export { FeedForward, type Activation } from './nn/feed-forward.js';
export { TransformerBlock, type BlockConfig } from './nn/block.js';
export { GPT, type ForwardInputs, type ForwardOutput, type LmBatch } from './models/gpt.js';
export { Llama, type LlamaConfig } from './models/llama.js';
export {
  asCausalLM,
  asSeq2Seq,
  checkpointSource,
  loadModel,
  modelFromCheckpoint,
  type CausalModel,
  type LoadOptions,
  type LoadProgress,
  type ModelSource,
  type PretrainedModel,
} from './models/load.js';
export { loadWeightsInto, readCheckpointConfig } from './models/stream-load.js';
export {
  applyLora,
  DEFAULT_LORA_TARGETS,
  LoraModel,
  type LoraOptions,
  type LoraSettings,
  type LoraSummary,
  type PeftTaskType,
} from './models/lora.js';
export { adapterConfig, adapterTensors, loadLora, loraFromFiles, saveLora } from './models/peft.js';
export { LoraAdapter } from './nn/lora.js';
export { quantizeModel, isQuantized, type Quantization } from './models/quantize.js';
export { EncoderDecoder, type Seq2SeqBatch, type Seq2SeqForwardInputs, type Seq2SeqOutput } from './models/seq2seq.js';
export { T5, type T5Config } from './models/t5.js';
export { Bart, BART_POSITION_OFFSET, type BartConfig } from './models/bart.js';
export {
  Bert,
  bertHead,
  type BertBatch,
  type BertForwardInputs,
  type BertHead,
  type BertOutput,
} from './models/bert.js';
export { Roberta } from './models/roberta.js';
export { Tokenizer, type Encoded } from './tokenizers/tokenizer.js';
export { robertaBpe, trainBpe, type BpeOptions, type TokenizerJson } from './tokenizers/bpe.js';
export { trainWordPiece, type WordPieceOptions } from './tokenizers/wordpiece.js';
export { Trainer, type TrainerOptions, type StepResult, type TrainableModel } from './train/trainer.js';
export { AdamWState, type NamedArray } from './train/adamw.js';
export { learningRate, type Schedule, type ScheduleName } from './train/schedule.js';
export {
  generateTokens,
  type FinishReason,
  type GenerateOptions,
  type GenerateResult,
  type TokenStream,
} from './generate/generate.js';
export { beamSearch, type BeamHypothesis, type BeamSearchOptions } from './generate/beam.js';
export { type Seq2SeqGenerateOptions } from './generate/seq2seq.js';
export { pickToken, truncatedDistribution, type SamplingOptions } from './generate/sampling.js';
export * from './io/index.js';
export { Rng } from './rng.js';
