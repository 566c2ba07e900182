import { ArgumentError } from '../../errors.js';
import { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';

/**
 * Activation recomputation (PyTorch's `torch.utils.checkpoint`, what `transformers` calls gradient
 * checkpointing): y = fn(...inputs), keeping only the inputs and y for backward.
 *
 * Forward runs fn on a throw-away tape (dropout still draws its masks: the tape is on, it just goes
 * nowhere), then rewinds the step region to where it stood before fn and moves y down there: everything
 * fn allocated for its own backward is released at once. Backward rewinds the dropout seeds to where
 * they stood, runs fn again on a sub-tape, hands it y's gradient, replays it (parameters and the inputs
 * get their gradients as in the plain step, in the same order, so the bits are the same), then rewinds
 * the step region again: the recomputed activations and their gradients live only while their block's
 * backward runs.
 *
 * `inputs` must list every step tensor fn reads that may need a gradient (parameters need not be listed:
 * their gradients are persistent). fn must be a pure function of its inputs, the parameters and the
 * dropout seeds, and must return a step tensor it made (not one of its inputs). With the tape off
 * (inference) this is just fn(...inputs).
 */
export function checkpoint(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[]): Tensor {
  if (inputs.length === 0) throw new ArgumentError('checkpoint: needs at least one input tensor');
  const e = inputs[0]!.engine;
  if (!e.tape.enabled) return fn(...inputs);
  const arena = e.runtime.arena;
  const seeds = e.dropoutState();
  const mark = arena.stepMark();
  const discard = new Tape();
  const out = e.withTape(discard, () => fn(...inputs));
  const recorded = discard.length > 0;
  discard.clear();
  if (out.region !== 'step' || inputs.includes(out))
    throw new ArgumentError('checkpoint: fn must return a step tensor it made, not one of its inputs');
  if (!recorded) return out; // nothing in fn needs a gradient: nothing to recompute
  // release what fn allocated; y moves down to the mark (memmove: the two may overlap)
  arena.rewindStep(mark);
  const y = e.empty(out.shape, 'step');
  const f32 = e.runtime.f32;
  if (y.ptr !== out.ptr) f32.copyWithin(y.ptr >>> 2, out.ptr >>> 2, (out.ptr >>> 2) + out.size);
  e.record([y], () => {
    // inputs' gradients are made before the mark, so the rewind below keeps them
    for (const x of inputs) if (x.requiresGrad) e.gradOf(x);
    const at = arena.stepMark();
    const after = e.dropoutState();
    const sub = new Tape();
    let again: Tensor;
    try {
      e.restoreDropoutState(seeds);
      again = e.withTape(sub, () => fn(...inputs));
    } finally {
      e.restoreDropoutState(after);
    }
    again.grad = y.grad;
    sub.replay();
    again.grad = null;
    arena.rewindStep(at);
  });
  return y;
}
