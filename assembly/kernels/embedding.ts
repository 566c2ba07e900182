// Embedding: out[n] = table[ids[n]] (=), rows of C; work items = positions n.
// Backward, deterministic with repeated ids: the host groups positions by id (order[] holds positions
// sorted by id, then by position; starts[u] … starts[u+1] are those of the u-th distinct id uniq[u]);
// work items = distinct ids; dtable[uniq[u]] += Σ dout[order[j]] in ascending j. Each table row has one owner.

export function embedding_fwd_f32(out: usize, table: usize, ids: usize, C: i32, start: i32, end: i32): void {
  const rowBytes = (<usize>C) << 2;
  const C4 = C & ~3;
  for (let n = start; n < end; n++) {
    const src = table + <usize>load<i32>(ids + ((<usize>n) << 2)) * rowBytes;
    const dst = out + <usize>n * rowBytes;
    let c = 0;
    for (; c < C4; c += 4) v128.store(dst + ((<usize>c) << 2), v128.load(src + ((<usize>c) << 2)));
    for (; c < C; c++) store<f32>(dst + ((<usize>c) << 2), load<f32>(src + ((<usize>c) << 2)));
  }
}

export function embedding_bwd_f32(
  dtable: usize,
  dout: usize,
  order: usize,
  starts: usize,
  uniq: usize,
  C: i32,
  start: i32,
  end: i32,
): void {
  const rowBytes = (<usize>C) << 2;
  const C4 = C & ~3;
  for (let u = start; u < end; u++) {
    const dst = dtable + <usize>load<i32>(uniq + ((<usize>u) << 2)) * rowBytes;
    const j0 = load<i32>(starts + ((<usize>u) << 2));
    const j1 = load<i32>(starts + ((<usize>(u + 1)) << 2));
    let c = 0;
    for (; c < C4; c += 4) {
      const o = (<usize>c) << 2;
      let acc = v128.load(dst + o);
      for (let j = j0; j < j1; j++)
        acc = f32x4.add(acc, v128.load(dout + <usize>load<i32>(order + ((<usize>j) << 2)) * rowBytes + o));
      v128.store(dst + o, acc);
    }
    for (; c < C; c++) {
      const o = (<usize>c) << 2;
      let acc = load<f32>(dst + o);
      for (let j = j0; j < j1; j++) acc += load<f32>(dout + <usize>load<i32>(order + ((<usize>j) << 2)) * rowBytes + o);
      store<f32>(dst + o, acc);
    }
  }
}
