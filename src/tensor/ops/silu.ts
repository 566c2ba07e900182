/**
 * SiLU (swish) and the SwiGLU gate of LLaMA's feed-forward, down(silu(gate(x)) ⊙ up(x)).
 * silu(x) = x·σ(x); backward dx += dy·(σ + x·σ(1 − σ)).
 * siluGate(a, b) = silu(a) ⊙ b; backward da += dy·b·silu′(a), db += dy·silu(a).
 */
import { ShapeError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

/** Work per element for the pool's threshold: an exp and a division. */
const COST = 8;

export function silu(x: Tensor): Tensor {
  const e = x.engine;
  const rt = e.runtime;
  const n = x.size;
  const y = e.empty(x.shape, 'step');
  rt.run('silu_fwd_f32', [y.ptr, x.ptr], n, n * COST);
  if (e.needsGrad(x)) {
    e.record([y], () => {
      if (x.requiresGrad) rt.run('silu_bwd_f32', [e.gradOf(x).ptr, y.grad!.ptr, x.ptr], n, n * COST);
    });
  }
  return y;
}

/** silu(gate) ⊙ up, of one shape (the SwiGLU feed-forward's hidden layer). */
export function siluGate(gate: Tensor, up: Tensor): Tensor {
  if (gate.size !== up.size || gate.shape.length !== up.shape.length || gate.shape.some((d, i) => d !== up.shape[i])) {
    throw new ShapeError(`siluGate: gate [${gate.shape.join(', ')}] and up [${up.shape.join(', ')}] differ`);
  }
  const e = gate.engine;
  const rt = e.runtime;
  const n = gate.size;
  const y = e.empty(gate.shape, 'step');
  rt.run('silu_gate_fwd_f32', [y.ptr, gate.ptr, up.ptr], n, n * COST);
  if (e.needsGrad(gate, up)) {
    e.record([y], () => {
      const flags = (gate.requiresGrad ? 1 : 0) | (up.requiresGrad ? 2 : 0);
      const da = gate.requiresGrad ? e.gradOf(gate).ptr : 0;
      const db = up.requiresGrad ? e.gradOf(up).ptr : 0;
      rt.run('silu_gate_bwd_f32', [da, db, y.grad!.ptr, gate.ptr, up.ptr, flags], n, n * COST);
    });
  }
  return y;
}
