import { ArgumentError, ShapeError, TokenIdError } from '../../errors.js';
import type { Tensor } from '../tensor.js';
import { gatherInt8Rows, int8Of } from './int8.js';

/**
 * Rows of table [V, C] gathered by ids → [...shape, C]: the embedding lookup. Ids outside [0, V) are a
 * TokenIdError before any kernel runs. Backward as gatherRows. A table quantized to int8 (a tied LM head,
 * ops/int8.ts) gives its rows as q·scale, with no backward.
 */
export function embedding(table: Tensor, ids: ArrayLike<number>, shape: number[] = [ids.length]): Tensor {
  return gather(
    'embedding',
    table,
    ids,
    shape,
    (id, n, V) => new TokenIdError(`token id ${id} at position ${n} is outside the vocabulary [0, ${V})`),
  );
}

/**
 * Rows of x [R, C] picked by index → [...shape, C] (BERT's pooler takes the [CLS] rows, its masked-LM head the
 * masked ones). Indices outside [0, R) are an ArgumentError before any kernel runs. Backward scatter-adds into
 * x's gradient, deterministically: positions are grouped by row (a counting sort, done once here), and each
 * distinct row sums its positions in order.
 */
export function gatherRows(x: Tensor, rows: ArrayLike<number>, shape: number[] = [rows.length]): Tensor {
  return gather(
    'gatherRows',
    x,
    rows,
    shape,
    (row, n, R) => new ArgumentError(`gatherRows: row ${row} at position ${n} is outside [0, ${R})`),
  );
}

/** embedding and gatherRows: one kernel pair, two names for what the index means (a token, a row). */
function gather(
  op: 'embedding' | 'gatherRows',
  table: Tensor,
  ids: ArrayLike<number>,
  shape: number[],
  outside: (id: number, n: number, V: number) => Error,
): Tensor {
  const e = table.engine;
  const rt = e.runtime;
  const [tableIs, idsAre] = op === 'embedding' ? ['table must be [V, C]', 'ids'] : ['x must be [R, C]', 'rows'];
  if (table.shape.length !== 2) throw new ShapeError(`${op}: ${tableIs}, got [${table.shape.join(', ')}]`);
  const [V, C] = table.shape as [number, number];
  const N = ids.length;
  if (shape.reduce((a, b) => a * b, 1) !== N)
    throw new ShapeError(`${op}: ${N} ${idsAre} do not fill shape [${shape.join(', ')}]`);
  const idsPtr = rt.arena.allocStep(N * 4);
  const i32 = rt.i32;
  for (let n = 0; n < N; n++) {
    const id = ids[n]!;
    if (!Number.isInteger(id) || id < 0 || id >= V) throw outside(id, n, V);
    i32[(idsPtr >>> 2) + n] = id;
  }
  const out = e.empty([...shape, C], 'step');
  const int8 = int8Of(table);
  if (int8) {
    gatherInt8Rows(rt, int8, ids, out.ptr);
    return out;
  }
  rt.run('embedding_fwd_f32', [out.ptr, table.ptr, idsPtr, C], N, N * C);
  if (e.needsGrad(table)) {
    // group positions by id: order = positions sorted by (id, position); starts per distinct id
    const count = new Int32Array(V);
    for (let n = 0; n < N; n++) count[ids[n]!]!++;
    const uniq: number[] = [];
    const first = new Int32Array(V);
    let at = 0;
    const starts: number[] = [];
    for (let v = 0; v < V; v++) {
      if (count[v] === 0) continue;
      uniq.push(v);
      starts.push(at);
      first[v] = at;
      at += count[v]!;
    }
    starts.push(at);
    const order = new Int32Array(N);
    for (let n = 0; n < N; n++) order[first[ids[n]!]!++] = n;
    const U = uniq.length;
    const buf = rt.arena.allocStep((N + 2 * U + 1) * 4);
    const v32 = rt.i32;
    v32.set(order, buf >>> 2);
    v32.set(starts, (buf >>> 2) + N);
    v32.set(uniq, (buf >>> 2) + N + U + 1);
    e.record([out], () => {
      rt.run(
        'embedding_bwd_f32',
        [e.gradOf(table).ptr, out.grad!.ptr, buf, buf + N * 4, buf + (N + U + 1) * 4, C],
        U,
        N * C,
      );
    });
  }
  return out;
}
