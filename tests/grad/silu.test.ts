import { afterAll, beforeAll, describe, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { silu, siluGate } from '../../src/tensor/ops/silu.js';
import { map, zip } from '../ref/elementwise.js';
import { silu as siluRef, siluGate as siluGateRef } from '../ref/silu.js';
import { expectClose, randn } from '../util/check.js';
import { backwardWith, finiteDifferences } from '../util/gradcheck.js';

// Kernels: silu_bwd_f32 silu_gate_bwd_f32, against finite differences of the float64 references.

describe('SiLU gradients', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  it.each([1, 5, 17, 67])('silu, n = %i', (n) => {
    const x = randn(n, n, -6, 6);
    const w = randn(n, n + 9);
    const tx = e.parameter('x', x, [n]);
    backwardWith(e, silu(tx), w);
    const [fd] = finiteDifferences((xs) => map(xs[0]!, siluRef), [x], w);
    expectClose(tx.grad!.toArray(), fd!, 1e-4, 1e-5, 'dsilu');
    tx.dispose();
    e.endStep();
  });

  it.each([1, 5, 17, 67])('siluGate (both inputs, one input only, and one input twice), n = %i', (n) => {
    const a = randn(n, n, -6, 6);
    const b = randn(n, n + 1, -3, 3);
    const w = randn(n, n + 2);
    const ta = e.parameter('a', a, [n]);
    const tb = e.parameter('b', b, [n]);
    backwardWith(e, siluGate(ta, tb), w);
    const fd = finiteDifferences((xs) => zip(xs[0]!, xs[1]!, siluGateRef), [a, b], w);
    expectClose(ta.grad!.toArray(), fd[0]!, 1e-4, 1e-5, 'siluGate da');
    expectClose(tb.grad!.toArray(), fd[1]!, 1e-4, 1e-5, 'siluGate db');
    e.endStep();
    // only the gate needs a gradient (flags = 1), then only up (flags = 2)
    for (const [which, t, other] of [
      ['da alone', ta, tb],
      ['db alone', tb, ta],
    ] as const) {
      t.grad!.view().fill(0);
      other.requiresGrad = false;
      backwardWith(e, siluGate(ta, tb), w);
      expectClose(t.grad!.toArray(), fd[t === ta ? 0 : 1]!, 1e-4, 1e-5, `siluGate ${which}`);
      other.requiresGrad = true;
      e.endStep();
    }
    const tc = e.parameter('c', a, [n]);
    backwardWith(e, siluGate(tc, tc), w);
    const [fdSame] = finiteDifferences((xs) => zip(xs[0]!, xs[0]!, siluGateRef), [a], w);
    expectClose(tc.grad!.toArray(), fdSame!, 1e-4, 1e-5, 'siluGate(a, a)');
    for (const t of [ta, tb, tc]) t.dispose();
    e.endStep();
  });
});
