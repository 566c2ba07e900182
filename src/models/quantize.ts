/**
 * Weight-only int8 for inference (`loadModel(engine, source, { quantize: 'int8' })`): every Linear weight of
 * the model and its vocabulary table (the tied LM head, the largest matrix) kept as int8 with a float32 scale
 * per output channel (src/tensor/ops/int8.ts), a quarter of the float bytes. The vocabulary table is quantized
 * per token (its rows are the head's output channels), so the embedding lookup reads q·scale: the same
 * per-element error (≤ scale/2) as the head, instead of a second, float copy of the largest matrix. Position,
 * segment and relative-position tables, norms and biases stay float32. docs/quantization.md has the numbers.
 */
import { ArgumentError } from '../errors.js';
import { Embedding, Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import type { WeightLayout } from '../tensor/ops/index.js';
import { int8Of, quantizeWeight } from '../tensor/ops/int8.js';
import type { Tensor } from '../tensor/tensor.js';

export type Quantization = 'int8';

/** Quantizes the model's weights in place (float32 weights released as each is quantized); returns the model. */
export function quantizeModel<M extends Module & { config: { vocab_size: number } }>(
  model: M,
  quantize: Quantization,
): M {
  if (quantize !== 'int8') throw new ArgumentError(`quantize must be 'int8', got ${JSON.stringify(quantize)}`);
  for (const [weight, layout] of quantizationTargets(model)) quantizeWeight(weight, layout);
  return model;
}

/** The weights quantizeModel quantizes (every Linear's, the vocabulary table), each with its layout. */
export function quantizationTargets(model: Module & { config: { vocab_size: number } }): Map<Tensor, WeightLayout> {
  const vocab = model.config.vocab_size;
  const out = new Map<Tensor, WeightLayout>();
  for (const m of model.namedModules().values()) {
    if (m instanceof Linear) out.set(m.weight, m.layout);
    else if (m instanceof Embedding && m.count === vocab) out.set(m.weight, 'out_in');
  }
  return out;
}

/** Whether any of the model's weights is quantized. */
export function isQuantized(model: Module): boolean {
  return model.parameters().some((t) => int8Of(t) !== undefined);
}
