import type { Engine } from '../../src/tensor/engine.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/**
 * ∂L/∂x by central differences in float64, for L(xs) = Σ_i w_i·f(xs)_i, where f is the op's float64
 * reference (tests/ref/*). Independent of the code that computes gradients.
 */
export function finiteDifferences(
  f: (xs: Float64Array[]) => ArrayLike<number>,
  xs: ArrayLike<number>[],
  w: ArrayLike<number>,
  h = 1e-6,
): Float64Array[] {
  const inputs = xs.map((x) => Float64Array.from(x));
  const loss = () => {
    const y = f(inputs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!;
    return s;
  };
  return inputs.map((x) => {
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      x[i] = v + h;
      const up = loss();
      x[i] = v - h;
      const down = loss();
      x[i] = v;
      g[i] = (up - down) / (2 * h);
    }
    return g;
  });
}

/** Seeds out.grad with w and replays the engine's tape: the analytic ∂(Σ w·out)/∂inputs land in .grad. */
export function backwardWith(e: Engine, out: Tensor, w: ArrayLike<number>): void {
  e.gradOf(out).set(w);
  e.tape.replay();
}
