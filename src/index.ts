/**
 * simdformer: pre-train, fine-tune and run transformer language models on the CPU, anywhere JavaScript
 * runs. The public API; see README.md.
 */
export * from './errors.js';
export { Engine, type EngineOptions } from './tensor/engine.js';
export { Tensor, type Shape, type Region } from './tensor/tensor.js';
export * as ops from './tensor/ops/index.js';
export { Module, ModuleList } from './nn/module.js';
export { Linear, Embedding, LayerNorm, RMSNorm } from './nn/layers.js';
export { SelfAttention, CrossAttention, KVCache } from './nn/attention.js';
export { FeedForward, type Activation } from './nn/feed-forward.js';
export { TransformerBlock, type BlockConfig } from './nn/block.js';
export { GPT, type ForwardInputs, type ForwardOutput, type LmBatch } from './models/gpt.js';
export { asCausalLM, loadModel, modelFromCheckpoint, type PretrainedModel } from './models/load.js';
export { Bert, bertHead, type BertBatch, type BertForwardInputs, type BertHead, type BertOutput } from './models/bert.js';
export { Tokenizer, type Encoded } from './tokenizers/tokenizer.js';
export { trainBpe, type BpeOptions, type TokenizerJson } from './tokenizers/bpe.js';
export { trainWordPiece, type WordPieceOptions } from './tokenizers/wordpiece.js';
export { Trainer, type TrainerOptions, type StepResult, type TrainableModel } from './train/trainer.js';
export { learningRate, type Schedule, type ScheduleName } from './train/schedule.js';
export { generateTokens, type GenerateOptions } from './generate/generate.js';
export { pickToken, truncatedDistribution, type SamplingOptions } from './generate/sampling.js';
export * from './io/index.js';
export { Rng } from './data/rng.js';
