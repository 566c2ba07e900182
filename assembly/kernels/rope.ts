// Rotary position embeddings in Hugging Face's rotate_half form: in each of a row's first R / D heads, element i
// of the first half pairs with element i of the second (h = D/2). Row r at position p = pos[r], c = table[p·D + i],
// s = table[p·D + h + i] (host-computed cos, sin): y[i] = x[i]·c − x[h+i]·s, y[h+i] = x[h+i]·c + x[i]·s; columns
// [R, W) (the values of a fused q|k|v row) are copied. Backward rotates by −angle: dx[i] += dy[i]·c + dy[h+i]·s,
// dx[h+i] += dy[h+i]·c − dy[i]·s, dx[R, W) += dy. Rows of W floats; work items = rows. Forward =, backward +=.

/** Rotates the R / D heads of one row by the angles at cs (sgn −1: by minus them); adds into y when acc. */
function rotateRow(y: usize, x: usize, cs: usize, R: i32, D: i32, sgn: f32, acc: bool): void {
  const half = D >> 1;
  const hb = <usize>half << 2;
  const sv = f32x4.splat(sgn);
  for (let h0 = 0; h0 < R; h0 += D) {
    const xh = x + (<usize>h0 << 2), yh = y + (<usize>h0 << 2);
    let i = 0;
    for (; i + 4 <= half; i += 4) {
      const o = <usize>i << 2;
      const x1 = v128.load(xh + o), x2 = v128.load(xh + hb + o);
      const c = v128.load(cs + o), s = f32x4.mul(v128.load(cs + hb + o), sv);
      let y1 = f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s));
      let y2 = f32x4.add(f32x4.mul(x2, c), f32x4.mul(x1, s));
      if (acc) {
        y1 = f32x4.add(v128.load(yh + o), y1);
        y2 = f32x4.add(v128.load(yh + hb + o), y2);
      }
      v128.store(yh + o, y1);
      v128.store(yh + hb + o, y2);
    }
    for (; i < half; i++) {
      const o = <usize>i << 2;
      const x1 = load<f32>(xh + o), x2 = load<f32>(xh + hb + o);
      const c = load<f32>(cs + o), s = load<f32>(cs + hb + o) * sgn;
      let y1 = x1 * c - x2 * s;
      let y2 = x2 * c + x1 * s;
      if (acc) {
        y1 = load<f32>(yh + o) + y1;
        y2 = load<f32>(yh + hb + o) + y2;
      }
      store<f32>(yh + o, y1);
      store<f32>(yh + hb + o, y2);
    }
  }
}

/** y [N, W] (=): the first R columns of each row of x [N, W] rotated (R / D heads), the rest copied. pos i32 [N]. */
export function rope_fwd_f32(y: usize, x: usize, pos: usize, table: usize, W: i32, R: i32, D: i32, start: i32, end: i32): void {
  const rb = <usize>W << 2;
  for (let r = start; r < end; r++) {
    const off = <usize>r * rb;
    const cs = table + ((<usize>load<i32>(pos + (<usize>r << 2)) * <usize>D) << 2);
    rotateRow(y + off, x + off, cs, R, D, 1.0, false);
    memory.copy(y + off + (<usize>R << 2), x + off + (<usize>R << 2), <usize>(W - R) << 2);
  }
}

/** dx [N, W] (+=) from dy [N, W]: the first R columns rotated back, the rest added as they are. */
export function rope_bwd_f32(dx: usize, dy: usize, pos: usize, table: usize, W: i32, R: i32, D: i32, start: i32, end: i32): void {
  const rb = <usize>W << 2;
  for (let r = start; r < end; r++) {
    const off = <usize>r * rb;
    const cs = table + ((<usize>load<i32>(pos + (<usize>r << 2)) * <usize>D) << 2);
    rotateRow(dx + off, dy + off, cs, R, D, -1.0, true);
    let c = R;
    for (; c + 4 <= W; c += 4) {
      const p = dx + off + (<usize>c << 2);
      v128.store(p, f32x4.add(v128.load(p), v128.load(dy + off + (<usize>c << 2))));
    }
    for (; c < W; c++) {
      const p = dx + off + (<usize>c << 2);
      store<f32>(p, load<f32>(p) + load<f32>(dy + off + (<usize>c << 2)));
    }
  }
}
