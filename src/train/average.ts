/**
 * An exponential moving average of the weights (Polyak averaging), kept beside the model in the engine's
 * memory: after each optimizer step avg ← d·avg + (1−d)·w in float32 (each product
 * rounded), with d warmed up as min(decay, (1+t)/(10+t)) so the first steps do not drag the random
 * initialisation along. `swap` exchanges the averaged and the live
 * weights in place (evaluate the average, then swap back and train on); `apply` makes the average the
 * model's weights for good (before saving).
 */
import { ArgumentError } from '../errors.js';
import { scaleAddInPlace } from '../tensor/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';

export class WeightAverage {
  private readonly shadow: Tensor[];
  private updates = 0;
  /** True while the model holds the averaged weights. */
  swapped = false;

  constructor(
    private readonly params: readonly Tensor[],
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1))
      throw new ArgumentError(`the weight average's decay must be in (0, 1), got ${decay}`);
    this.shadow = params.map((p) => p.engine.empty(p.shape).set(p.view()));
  }

  /** Fold the current weights into the average (after an optimizer step). */
  update(): void {
    if (this.swapped) throw new ArgumentError('WeightAverage.update while the averaged weights are swapped in');
    this.updates++;
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    this.params.forEach((p, i) => scaleAddInPlace(this.shadow[i]!, d, p, 1 - d));
  }

  /** Exchange the averaged and the live weights in place. */
  swap(): void {
    this.params.forEach((p, i) => {
      const live = p.toArray();
      p.set(this.shadow[i]!.view());
      this.shadow[i]!.set(live);
    });
    this.swapped = !this.swapped;
  }

  /** Run fn with the averaged weights in the model, then put the live weights back. */
  with<T>(fn: () => T): T {
    this.swap();
    try {
      return fn();
    } finally {
      this.swap();
    }
  }

  /** Leave the averaged weights in the model (the live ones are kept in the shadow). */
  apply(): void {
    if (!this.swapped) this.swap();
  }
}
