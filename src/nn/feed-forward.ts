import type { Engine } from '../tensor/engine.js';
import { geluGate, relu, siluGate, type WeightLayout } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './layers.js';
import { Module, type Init } from './module.js';

export type Activation = 'gelu' | 'gelu_tanh' | 'relu' | 'gated-gelu' | 'swiglu';

/**
 * The position-wise feed-forward: down(act(up(x))), or for 'gated-gelu' (T5 v1.1)
 * down(gelu_tanh(gate(x)) ⊙ up(x)), or for 'swiglu' (LLaMA) down(silu(gate(x)) ⊙ up(x)).
 */
export class FeedForward extends Module {
  readonly up: Linear;
  readonly gate: Linear | null;
  readonly down: Linear;

  constructor(
    engine: Engine,
    dModel: number,
    dFF: number,
    readonly activation: Activation,
    opts: { bias: boolean; layout: WeightLayout; init: Init; downInit?: Init },
  ) {
    super(engine);
    const lin = (i: number, o: number, init: Init) =>
      new Linear(engine, i, o, { bias: opts.bias, layout: opts.layout, init });
    this.up = this.child('up', lin(dModel, dFF, opts.init));
    const gated = activation === 'gated-gelu' || activation === 'swiglu';
    this.gate = gated ? this.child('gate', lin(dModel, dFF, opts.init)) : null;
    this.down = this.child('down', lin(dFF, dModel, opts.downInit ?? opts.init));
  }

  forward(x: Tensor): Tensor {
    let h: Tensor;
    switch (this.activation) {
      case 'gelu':
        h = this.up.forwardGelu(x, 'none');
        break;
      case 'gelu_tanh':
        h = this.up.forwardGelu(x, 'tanh');
        break;
      case 'relu':
        h = relu(this.up.forward(x));
        break;
      case 'gated-gelu': {
        const u = this.up.forward(x);
        h = geluGate(this.gate!.forward(x), u);
        break;
      }
      case 'swiglu': {
        const u = this.up.forward(x);
        h = siluGate(this.gate!.forward(x), u);
        break;
      }
    }
    return this.down.forward(h);
  }
}
