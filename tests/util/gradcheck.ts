import { expect } from 'vitest';
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

/**
 * A whole model's gradients against central differences of its float32 loss: for each named parameter,
 * its six largest gradient entries (so float32 noise stays small beside them) must match within
 * 2e-3 + 2 % of the gradient. Every op's backward is checked on its own elsewhere; this checks the wiring.
 */
export function expectModelGradients(
  e: Engine,
  model: { namedParameters(): Map<string, Tensor> },
  loss: () => Tensor,
  params: readonly string[],
  h: number,
): void {
  const lossValue = () => {
    const v = e.noGrad(() => loss().item());
    e.endStep();
    return v;
  };
  loss().backward();
  const named = model.namedParameters();
  const grads = new Map(params.map((p) => [p, named.get(p)!.grad!.toArray()]));
  e.endStep();
  for (const p of params) {
    const t = named.get(p)!;
    const g = grads.get(p)!;
    expect(
      g.some((x) => x !== 0),
      `${p} has a gradient`,
    ).toBe(true);
    const idx = Array.from(g.keys())
      .sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!))
      .slice(0, 6);
    for (const i of idx) {
      const v = t.view()[i]!;
      t.view()[i] = v + h;
      const up = lossValue();
      t.view()[i] = v - h;
      const down = lossValue();
      t.view()[i] = v;
      const fd = (up - down) / (2 * h);
      expect(Math.abs(fd - g[i]!), `${p}[${i}]: finite difference ${fd}, backward ${g[i]}`).toBeLessThan(
        2e-3 + 0.02 * Math.abs(g[i]!),
      );
    }
  }
}
