/**
 * An exponential moving average of the weights (Polyak averaging), kept beside the model on the host:
 * after each optimizer step avg ← d·avg + (1−d)·w, with d warmed up as min(decay, (1+t)/(10+t)) so the
 * first steps do not drag the random initialisation along. `swap` exchanges the averaged and the live
 * weights in place (evaluate the average, then swap back and train on); `apply` makes the average the
 * model's weights for good (before saving).
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

export class WeightAverage {
  private readonly shadow: Float32Array[];
  private updates = 0;
  /** True while the model holds the averaged weights. */
  swapped = false;

  constructor(
    private readonly params: readonly Tensor[],
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new ArgumentError(`the weight average's decay must be in (0, 1), got ${decay}`);
    this.shadow = params.map((p) => p.view().slice());
  }

  /** Fold the current weights into the average (after an optimizer step). */
  update(): void {
    if (this.swapped) throw new ArgumentError('WeightAverage.update while the averaged weights are swapped in');
    this.updates++;
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    const keep = Math.fround(d);
    const take = Math.fround(1 - d);
    this.params.forEach((p, i) => {
      const w = p.view();
      const a = this.shadow[i]!;
      for (let j = 0; j < a.length; j++) a[j] = keep * a[j]! + take * w[j]!;
    });
  }

  /** Exchange the averaged and the live weights in place. */
  swap(): void {
    this.params.forEach((p, i) => {
      const w = p.view();
      const a = this.shadow[i]!;
      for (let j = 0; j < a.length; j++) {
        const t = w[j]!;
        w[j] = a[j]!;
        a[j] = t;
      }
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
