import { ShapeError } from '../../errors.js';
import { sizeOf, Tensor } from '../tensor.js';

/**
 * The same elements under another shape (no copy). Its gradient is added into the source's
 * (dx += dy), so ops that need a 2-D view ([B·T, C]) of a [B, T, C] tensor stay differentiable.
 */
export function reshape(x: Tensor, shape: number[]): Tensor {
  if (sizeOf(shape) !== x.size)
    throw new ShapeError(
      `reshape: [${x.shape.join(', ')}] has ${x.size} elements, [${shape.join(', ')}] needs ${sizeOf(shape)}`,
    );
  const e = x.engine;
  const y = new Tensor(e, x.ptr, [...shape], 'step');
  if (e.needsGrad(x)) {
    e.record([y], () => {
      if (x.requiresGrad) e.runtime.run('accumulate_f32', [e.gradOf(x).ptr, y.grad!.ptr], x.size, x.size);
    });
  }
  return y;
}
