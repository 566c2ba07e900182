import { ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

/** Work per element for the pool's threshold: transcendental kernels count as several operations. */
const COST = { cheap: 1, exp: 8 } as const;

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${op}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
}

/**
 * y = f(x): `fwd(y)` runs the forward kernel into y; backward dx += dy·f′, `bwd(dx, dy, y)` runs the backward
 * kernel (f′ from x, from y when it is a function of y, or a constant factor).
 */
function unary(x: Tensor, fwd: (y: number) => void, bwd: (dx: number, dy: number, y: number) => void): Tensor {
  const e = x.engine;
  const y = e.empty(x.shape, 'step');
  fwd(y.ptr);
  if (e.needsGrad(x)) {
    e.record([y], () => {
      if (x.requiresGrad) bwd(e.gradOf(x).ptr, y.grad!.ptr, y.ptr);
    });
  }
  return y;
}

/** a + b (the residual connection). */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape('add', a, b);
  const e = a.engine;
  const rt = e.runtime;
  const n = a.size;
  const y = e.empty(a.shape, 'step');
  rt.run('add_fwd_f32', [y.ptr, a.ptr, b.ptr], n, n);
  if (e.needsGrad(a, b)) {
    e.record([y], () => {
      // a + a: dy reaches a twice
      for (const t of [a, b]) if (t.requiresGrad) rt.run('accumulate_f32', [e.gradOf(t).ptr, y.grad!.ptr], n, n);
    });
  }
  return y;
}

/** a ⊙ b. */
export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape('mul', a, b);
  const e = a.engine;
  const rt = e.runtime;
  const n = a.size;
  const y = e.empty(a.shape, 'step');
  rt.run('mul_fwd_f32', [y.ptr, a.ptr, b.ptr], n, n);
  if (e.needsGrad(a, b)) {
    e.record([y], () => {
      if (a.requiresGrad) rt.run('mul_bwd_f32', [e.gradOf(a).ptr, y.grad!.ptr, b.ptr], n, n);
      if (b.requiresGrad) rt.run('mul_bwd_f32', [e.gradOf(b).ptr, y.grad!.ptr, a.ptr], n, n);
    });
  }
  return y;
}

/** s·x; backward dx += s·dy. */
export function scale(x: Tensor, s: number): Tensor {
  const rt = x.engine.runtime;
  const n = x.size;
  return unary(
    x,
    (y) => rt.run('scale_fwd_f32', [y, x.ptr, s], n, n * COST.cheap),
    (dx, dy) => rt.run('axpy_f32', [dx, dy, s], n, n * COST.cheap),
  );
}

/**
 * y ← a·y + b·x in place, outside the tape, each product rounded to float32 (a moving average's update:
 * y the average, x the weights).
 */
export function scaleAddInPlace(y: Tensor, a: number, x: Tensor, b: number): void {
  sameShape('scaleAddInPlace', y, x);
  const rt = y.engine.runtime;
  rt.run('scale_fwd_f32', [y.ptr, y.ptr, a], y.size, y.size); // y ← a·y
  rt.run('axpy_f32', [y.ptr, x.ptr, b], y.size, y.size); // y += b·x
}

export function relu(x: Tensor): Tensor {
  const rt = x.engine.runtime;
  const n = x.size;
  return unary(
    x,
    (y) => rt.run('relu_fwd_f32', [y, x.ptr], n, n * COST.cheap),
    (dx, dy) => rt.run('relu_bwd_f32', [dx, dy, x.ptr], n, n * COST.cheap),
  );
}

/** tanh(x); backward from y: dx += dy·(1 − y²). */
export function tanh(x: Tensor): Tensor {
  const rt = x.engine.runtime;
  const n = x.size;
  return unary(
    x,
    (y) => rt.run('tanh_fwd_f32', [y, x.ptr], n, n * COST.exp),
    (dx, dy, y) => rt.run('tanh_bwd_f32', [dx, dy, y], n, n * COST.exp),
  );
}

/**
 * GELU: 'none' = x·Φ(x) (erf, BERT's "gelu"); 'tanh' = GPT-2's "gelu_new". With a gradient wanted the forward also
 * writes the derivative gelu′(x) from the same exponential, and backward is dx += dy·gelu′(x), no transcendental.
 */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  const e = x.engine;
  const n = x.size;
  const y = e.empty(x.shape, 'step');
  const d = e.needsGrad(x) ? e.empty(x.shape, 'step') : null;
  const args = [y.ptr, d?.ptr ?? 0, x.ptr] as const;
  if (approximate === 'tanh') e.runtime.run('gelu_fwd_f32__tanh', args, n, n * COST.exp);
  else e.runtime.run('gelu_fwd_f32', args, n, n * COST.exp);
  if (d) e.record([y], () => e.runtime.run('mul_bwd_f32', [e.gradOf(x).ptr, y.grad!.ptr, d.ptr], n, n));
  return y;
}

/** gelu_tanh(gate) ⊙ up: T5 v1.1's gated-GELU feed-forward. */
export function geluGate(gate: Tensor, up: Tensor): Tensor {
  sameShape('geluGate', gate, up);
  const e = gate.engine;
  const rt = e.runtime;
  const n = gate.size;
  const y = e.empty(gate.shape, 'step');
  rt.run('gelu_gate_fwd_f32', [y.ptr, gate.ptr, up.ptr], n, n * COST.exp);
  if (e.needsGrad(gate, up)) {
    e.record([y], () => {
      const flags = (gate.requiresGrad ? 1 : 0) | (up.requiresGrad ? 2 : 0);
      const da = gate.requiresGrad ? e.gradOf(gate).ptr : 0;
      const db = up.requiresGrad ? e.gradOf(up).ptr : 0;
      rt.run('gelu_gate_bwd_f32', [da, db, y.grad!.ptr, gate.ptr, up.ptr, flags], n, n * COST.exp);
    });
  }
  return y;
}
