import { ArgumentError, ShapeError, TokenIdError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

const CHUNK = 1024; // elements per work item of cross_entropy_bwd_f32

export interface CrossEntropyOptions {
  /** Rows whose label equals this contribute nothing to the loss and get a zero gradient. Default -100. */
  ignoreIndex?: number;
  /** ε in [0, 1]: the target is (1−ε)·onehot(label) + ε/V (PyTorch's label_smoothing). Default 0. */
  labelSmoothing?: number;
  /**
   * A weight per class (PyTorch's `weight`): row i counts w[label_i], and the mean divides by the sum
   * of the counted rows' weights. Not combined with labelSmoothing.
   */
  classWeights?: ArrayLike<number>;
}

/**
 * Mean cross-entropy of softmax(logits) against labels over the rows whose label is not ignoreIndex,
 * as a scalar tensor (PyTorch's `cross_entropy(logits, labels, ignore_index, label_smoothing)`, mean
 * reduction). logits [N, V]; labels [N] (int32). A label outside [0, V) that is not ignoreIndex is a
 * TokenIdError, thrown before any kernel runs.
 *
 * Every row ignored (count 0): the loss is 0 and the gradient is zero. PyTorch returns NaN (0/0) there; a
 * batch that happens to hold no target (an MLM batch with no masked token, a padded tail) is not an error
 * and must not stop training, which a NaN loss does.
 *
 * Forward and gradient are fused: when a gradient is needed the forward kernel, in the same visit of each
 * row, also writes g = softmax − target [N, V]; backward only scales it by dloss/count. When the logits
 * are per-step and have no gradient yet (the usual case: the loss is the last op), g itself becomes
 * logits.grad, scaled in place, so backward reads and writes N·V floats once and allocates nothing.
 * Otherwise backward adds scale·g into logits.grad.
 * The mean is deterministic: per-row losses (one thread per row) are summed in row order, in float64.
 */
export function crossEntropy(logits: Tensor, labels: Int32Array, opts: CrossEntropyOptions = {}): Tensor {
  const e = logits.engine;
  const rt = e.runtime;
  if (logits.shape.length < 2) {
    throw new ShapeError(`crossEntropy takes logits [..., V] (rows of V), got [${logits.shape.join(', ')}]`);
  }
  const V = logits.shape[logits.shape.length - 1]!;
  const N = V === 0 ? 0 : logits.size / V; // every leading dimension is a row
  if (labels.length !== N) throw new ShapeError(`crossEntropy: ${labels.length} labels for ${N} rows of logits`);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const eps = opts.labelSmoothing ?? 0;
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < -(2 ** 31) || ignoreIndex >= 2 ** 31) {
    throw new ArgumentError(`crossEntropy: ignoreIndex must be an int32, got ${ignoreIndex}`);
  }
  if (!(eps >= 0 && eps <= 1)) throw new ArgumentError(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  const w = opts.classWeights;
  if (w) {
    if (w.length !== V) throw new ShapeError(`crossEntropy: ${w.length} class weights for ${V} classes`);
    for (let k = 0; k < V; k++)
      if (!(w[k]! >= 0) || !Number.isFinite(w[k]!))
        throw new ArgumentError(`crossEntropy: class weight ${k} is ${w[k]}; weights must be finite and ≥ 0`);
    if (eps > 0) throw new ArgumentError('crossEntropy: classWeights and labelSmoothing are not supported together');
  }
  // count: rows counted, or the sum of their class weights
  let count = 0;
  for (let i = 0; i < N; i++) {
    const y = labels[i]!;
    if (y === ignoreIndex) continue;
    if (y < 0 || y >= V) {
      throw new TokenIdError(
        `crossEntropy: label ${y} at row ${i} is outside [0, ${V}) and is not the ignore index ${ignoreIndex}`,
      );
    }
    count += w ? w[y]! : 1;
  }

  const out = e.empty([], 'step');
  const grad = e.needsGrad(logits);
  const g = grad ? e.empty([N, V], 'step') : null; // softmax − target, unscaled (=)
  if (N > 0) {
    const labelsPtr = rt.arena.allocStep(N * 4);
    rt.i32.set(labels, labelsPtr >>> 2);
    const rowLoss = rt.arena.allocStep(N * 4); // [N]
    const lse = rt.arena.allocStep(N * 4); // [N] logsumexp per row
    rt.run(
      'cross_entropy_fwd_f32',
      [rowLoss, lse, g ? g.ptr : 0, logits.ptr, labelsPtr, V, ignoreIndex, eps],
      N,
      N * V * 8,
    );
    const f32 = rt.f32;
    let sum = 0;
    for (let i = 0, o = rowLoss >>> 2; i < N; i++)
      sum += w ? (labels[i] === ignoreIndex ? 0 : w[labels[i]!]! * f32[o + i]!) : f32[o + i]!;
    out.view()[0] = count > 0 ? sum / count : 0;
  } else {
    out.view()[0] = 0;
  }

  if (g) {
    e.record([out], () => {
      const dloss = out.grad!.view()[0]!;
      const scale = count > 0 ? dloss / count : 0;
      const n = N * V;
      const items = Math.ceil(n / CHUNK);
      if (w) {
        // each row's gradient by its class weight (ignored rows are zero already)
        const f32 = rt.f32;
        for (let i = 0, o = g.offset; i < N; i++) {
          if (labels[i] === ignoreIndex) continue;
          const wi = w[labels[i]!]!;
          for (let v = 0; v < V; v++) f32[o + i * V + v]! *= wi;
        }
      }
      if (logits.grad === null && logits.region === 'step') {
        // g becomes the gradient: 0 + scale·g, in place
        logits.grad = g;
        rt.run('cross_entropy_bwd_f32', [g.ptr, g.ptr, scale, n, 0], items, n);
      } else {
        rt.run('cross_entropy_bwd_f32', [e.gradOf(logits).ptr, g.ptr, scale, n, 1], items, n);
      }
    });
  }
  return out;
}

/**
 * log Σ_v e^{x_v} of each row of logits [..., V], no tape: the cross-entropy kernel run for its logsumexp
 * (every label 0, no gradient; its losses are dropped). Decoding's log-probabilities are x − lse.
 */
export function logSumExp(logits: Tensor): Float32Array {
  const rt = logits.engine.runtime;
  if (logits.shape.length < 1) throw new ShapeError('logSumExp takes logits [..., V], got a scalar');
  const V = logits.shape[logits.shape.length - 1]!;
  const N = V === 0 ? 0 : logits.size / V;
  if (N === 0) return new Float32Array(0);
  const labels = rt.arena.allocStep(N * 4);
  rt.i32.fill(0, labels >>> 2, (labels >>> 2) + N);
  const rowLoss = rt.arena.allocStep(N * 4);
  const lse = rt.arena.allocStep(N * 4);
  rt.run('cross_entropy_fwd_f32', [rowLoss, lse, 0, logits.ptr, labels, V, -1, 0], N, N * V * 8);
  return rt.f32.slice(lse >>> 2, (lse >>> 2) + N);
}
