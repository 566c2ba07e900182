import type { Engine } from '../tensor/engine.js';
import {
  addNorm,
  embedding,
  gelu,
  layerNorm,
  linear,
  linearGelu,
  rmsNorm,
  type WeightLayout,
} from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LoraAdapter } from './lora.js';
import { Module, onesInit, zerosInit, type Init } from './module.js';

/**
 * y = x·W + b, with W stored in its checkpoint's layout ('out_in' as torch Linear, 'in_out' as GPT-2 Conv1D),
 * plus the low-rank updates of any LoRA adapters on it (src/nn/lora.ts; not parameters of this module).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly layout: WeightLayout;
  /** LoRA adapters on parts of the output (one per part: q and v of a fused q|k|v). */
  adapters: LoraAdapter[] = [];

  constructor(
    engine: Engine,
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean; layout?: WeightLayout; init: Init },
  ) {
    super(engine);
    const layout = (this.layout = opts.layout ?? 'out_in');
    this.weight = this.param(
      'weight',
      layout === 'out_in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures],
      opts.init,
    );
    this.bias = opts.bias === false ? null : this.param('bias', [outFeatures], zerosInit);
  }

  forward(x: Tensor): Tensor {
    const y = linear(x, this.weight, this.bias, this.layout);
    for (const a of this.adapters) a.addTo(y, x, this.training);
    return y;
  }

  /**
   * gelu(forward(x)): with a bias, fused (the bias and GELU in one pass after the matmul, ops/linear.ts
   * linearGelu) unless adapters add to the pre-activation; a change to forward must be made here too.
   */
  forwardGelu(x: Tensor, approximate: 'none' | 'tanh'): Tensor {
    if (!this.bias || this.adapters.length > 0) return gelu(this.forward(x), approximate);
    return linearGelu(x, this.weight, this.bias, this.layout, approximate);
  }
}

/** A table of vectors looked up by id. */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(
    engine: Engine,
    readonly count: number,
    readonly dim: number,
    init: Init,
  ) {
    super(engine);
    this.weight = this.param('weight', [count, dim], init);
  }

  /** ids [...shape] → [...shape, dim]; ids outside [0, count) are a TokenIdError. */
  forward(ids: Int32Array, shape: number[]): Tensor {
    return embedding(this.weight, ids, shape);
  }
}

/** LayerNorm over the last dimension (weight, optional bias). */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    engine: Engine,
    readonly dim: number,
    readonly eps: number,
    bias = true,
  ) {
    super(engine);
    this.weight = this.param('weight', [dim], onesInit);
    this.bias = bias ? this.param('bias', [dim], zerosInit) : null;
  }

  /** The norm of x, or of x + residual (the add fused in: post-norm blocks). */
  forward(x: Tensor, residual?: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps, residual);
  }

  /** [x + residual, its norm], in one pass (pre-norm blocks: the residual stream goes on from the sum). */
  forwardSum(x: Tensor, residual: Tensor): [sum: Tensor, y: Tensor] {
    return addNorm(x, residual, this.weight, this.bias, this.eps, false);
  }
}

/** RMSNorm over the last dimension (T5's layer norm: no mean, no bias). */
export class RMSNorm extends Module {
  readonly weight: Tensor;

  constructor(
    engine: Engine,
    readonly dim: number,
    readonly eps: number,
  ) {
    super(engine);
    this.weight = this.param('weight', [dim], onesInit);
  }

  /** The norm of x, or of x + residual (the add fused in: post-norm blocks). */
  forward(x: Tensor, residual?: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps, null, residual);
  }

  /** [x + residual, its norm], in one pass (pre-norm blocks: the residual stream goes on from the sum). */
  forwardSum(x: Tensor, residual: Tensor): [sum: Tensor, y: Tensor] {
    return addNorm(x, residual, this.weight, null, this.eps, true);
  }
}

export type NormType = 'layernorm' | 'rmsnorm';

export function makeNorm(engine: Engine, type: NormType, dim: number, eps: number): LayerNorm | RMSNorm {
  return type === 'layernorm' ? new LayerNorm(engine, dim, eps) : new RMSNorm(engine, dim, eps);
}
