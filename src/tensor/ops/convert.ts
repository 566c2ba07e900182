import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../tensor.js';

/**
 * Half-precision values → float32, for loaders of float16 / bfloat16 checkpoints: elements
 * [offset, offset + count) of `dst` = the `count` 16-bit little-endian patterns in `src`'s bytes from its
 * element `srcOffset` on (a staging tensor the file's bytes were read into). Exact: float32 holds every half value
 * (NaN payloads kept). Records nothing on the tape: weights come from a file, not from a computation.
 */
export function convertHalf(
  dst: Tensor,
  offset: number,
  src: Tensor,
  count: number,
  dtype: 'F16' | 'BF16',
  srcOffset = 0,
): void {
  if ([offset, count, srcOffset].some((x) => !Number.isSafeInteger(x) || x < 0)) {
    throw new ArgumentError(
      `convertHalf: offset ${offset}, count ${count} and srcOffset ${srcOffset} must be non-negative integers`,
    );
  }
  if (offset + count > dst.size) {
    throw new ArgumentError(
      `convertHalf: elements [${offset}, ${offset + count}) do not fit in a tensor of ${dst.size} elements`,
    );
  }
  if (count * 2 > (src.size - srcOffset) * 4) {
    throw new ArgumentError(
      `convertHalf: ${count} half values need ${count * 2} bytes, the source has ${(src.size - srcOffset) * 4} from element ${srcOffset}`,
    );
  }
  const rt = dst.engine.runtime;
  const y = dst.ptr + offset * 4;
  const x = src.ptr + srcOffset * 4;
  if (dtype === 'F16') rt.run('convert_f16_f32', [y, x], count, count);
  else rt.run('convert_bf16_f32', [y, x], count, count);
}
