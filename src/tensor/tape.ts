import type { Tensor } from './tensor.js';

/**
 * The tape of one step: each differentiable op pushes how to run its backward kernels. `backward()`
 * replays it in reverse. Ops are coarse (a whole attention, a whole norm), so a transformer step is a
 * few dozen entries.
 */
export class Tape {
  private readonly entries: { outputs: readonly Tensor[]; backward: () => void }[] = [];
  /** False inside `noGrad`: ops record nothing. */
  enabled = true;

  get length(): number {
    return this.entries.length;
  }

  record(outputs: readonly Tensor[], backward: () => void): void {
    for (const o of outputs) o.requiresGrad = true;
    this.entries.push({ outputs, backward });
  }

  /** Replays the entries in reverse; an entry none of whose outputs received a gradient is skipped. */
  replay(): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.outputs.some((o) => o.grad !== null)) e.backward();
    }
    this.clear();
  }

  clear(): void {
    this.entries.length = 0;
  }
}
