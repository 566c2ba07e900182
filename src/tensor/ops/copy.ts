/**
 * Row copies and views for decoding (KV caches, beams): not differentiable, never recorded on the tape.
 * A row is a tensor's last dimension: a [B, T, C] tensor has B·T rows of C floats.
 */
import { ShapeError } from '../../errors.js';
import { sizeOf, Tensor } from '../tensor.js';

const rowLength = (t: Tensor) => t.shape[t.shape.length - 1] ?? 1;
const rowCount = (t: Tensor) => t.size / Math.max(1, rowLength(t));

/**
 * dst rows dstRow … dstRow+rows−1 ← src rows srcRow …, each `cols.width` floats from column `cols.src`
 * of src into column `cols.dst` of dst (default: whole rows, which must then be of one length).
 * Overlapping rows of one tensor copy as memmove does.
 */
export function copyRows(
  dst: Tensor,
  dstRow: number,
  src: Tensor,
  srcRow: number,
  rows: number,
  cols: { dst: number; src: number; width: number } = { dst: 0, src: 0, width: rowLength(src) },
): void {
  const D = rowLength(dst);
  const S = rowLength(src);
  const ok = (row: number, R: number, col: number, C: number) =>
    Number.isInteger(row) && row >= 0 && row + rows <= R && col >= 0 && col + cols.width <= C;
  if (
    !Number.isInteger(rows) ||
    rows < 0 ||
    !ok(dstRow, rowCount(dst), cols.dst, D) ||
    !ok(srcRow, rowCount(src), cols.src, S)
  ) {
    throw new ShapeError(
      `copyRows: ${rows} rows of ${cols.width} from [${src.shape.join(', ')}] row ${srcRow} column ${cols.src} ` +
        `to [${dst.shape.join(', ')}] row ${dstRow} column ${cols.dst} run past a tensor`,
    );
  }
  const f32 = dst.engine.runtime.f32;
  if (cols.width === D && cols.width === S) {
    f32.copyWithin(dst.offset + dstRow * D, src.offset + srcRow * S, src.offset + (srcRow + rows) * S);
    return;
  }
  // as memmove: back to front when the copy moves towards higher addresses (they may overlap)
  const up = dst.offset + dstRow * D + cols.dst > src.offset + srcRow * S + cols.src;
  for (let k = 0; k < rows; k++) {
    const i = up ? rows - 1 - k : k;
    const from = src.offset + (srcRow + i) * S + cols.src;
    f32.copyWithin(dst.offset + (dstRow + i) * D + cols.dst, from, from + cols.width);
  }
}

/** Rows row … row+rows−1 of t as a tensor of shape [rows, …t's other dims] over the same memory (no copy). */
export function rowView(t: Tensor, row: number, rows: number, shape: readonly number[] = [rows, rowLength(t)]): Tensor {
  const C = rowLength(t);
  if (!Number.isInteger(row) || row < 0 || row + rows > rowCount(t) || sizeOf(shape) !== rows * C) {
    throw new ShapeError(
      `rowView: rows ${row} … ${row + rows - 1} as [${shape.join(', ')}] of a [${t.shape.join(', ')}] tensor`,
    );
  }
  return new Tensor(t.engine, t.ptr + row * C * 4, shape, t.region);
}
