/**
 * The one table of kernels: every export of the wasm module (but `heap_base`), its arguments in ABI
 * order (outputs, saved-for-backward, inputs, sizes; the work range `start, end` is always last and
 * not listed), and what one work item is. The index of a kernel in this table is its dispatch id, and its
 * argument list types `Runtime.run` (ArgsOf). tests/runtime/kernel-table.test.ts walks it: an export with no
 * entry fails, and so does an entry that no `run('<name>', …)` call reached by a test runs, or that no
 * benchmark's `kernels` field names.
 */
export interface KernelSpec {
  /** Argument names in ABI order, before `start, end`. */
  readonly args: readonly string[];
  /** What one work item is: the unit the pool splits into contiguous ranges. */
  readonly item: string;
}

export const KERNELS = {
  pack_a_f32: { args: ['ap', 'a', 'M', 'K', 'ldaM', 'ldaK'], item: 'a panel of 4 rows of A' },
  pack_b_f32: { args: ['bp', 'b', 'K', 'N', 'ldbK', 'ldbN'], item: 'a panel of 8 columns of B' },
  matmul_f32: {
    args: ['c', 'ap', 'bp', 'M', 'N', 'K', 'ldc', 'accumulate'],
    item: 'an output tile of 64 rows × 128 columns',
  },
  // the other matmul tiles (MATMUL_TILES below): same arguments, other panel and tile sizes
  matmul_f32__4x8s: {
    args: ['c', 'ap', 'bp', 'M', 'N', 'K', 'ldc', 'accumulate'],
    item: 'an output tile of 64 rows × 128 columns',
  },
  pack_a_f32__4p: { args: ['ap', 'a', 'M', 'K', 'ldaM', 'ldaK'], item: 'a panel of 4 rows of A, splatted' },
  matmul_f32__4x8p: {
    args: ['c', 'ap', 'bp', 'M', 'N', 'K', 'ldc', 'accumulate'],
    item: 'an output tile of 64 rows × 128 columns',
  },
  pack_a_f32__2: { args: ['ap', 'a', 'M', 'K', 'ldaM', 'ldaK'], item: 'a panel of 2 rows of A' },
  pack_b_f32__16: { args: ['bp', 'b', 'K', 'N', 'ldbK', 'ldbN'], item: 'a panel of 16 columns of B' },
  matmul_f32__2x16: {
    args: ['c', 'ap', 'bp', 'M', 'N', 'K', 'ldc', 'accumulate'],
    item: 'an output tile of 64 rows × 128 columns',
  },
  pack_a_f32__2p: { args: ['ap', 'a', 'M', 'K', 'ldaM', 'ldaK'], item: 'a panel of 2 rows of A, splatted' },
  matmul_f32__2x16p: {
    args: ['c', 'ap', 'bp', 'M', 'N', 'K', 'ldc', 'accumulate'],
    item: 'an output tile of 64 rows × 128 columns',
  },
  pack_a_f32__3: { args: ['ap', 'a', 'M', 'K', 'ldaM', 'ldaK'], item: 'a panel of 3 rows of A' },
  pack_b_f32__12: { args: ['bp', 'b', 'K', 'N', 'ldbK', 'ldbN'], item: 'a panel of 12 columns of B' },
  matmul_f32__3x12: {
    args: ['c', 'ap', 'bp', 'M', 'N', 'K', 'ldc', 'accumulate'],
    item: 'an output tile of 48 rows × 120 columns',
  },
  // decoding's few-row matmul, W read in place: [K, N] (the packed path's bits) and [N, K] (dot products)
  gemv_f32__kn: {
    args: ['c', 'acc', 'a', 'w', 'M', 'N', 'K', 'lda', 'ldw', 'ldc', 'ldacc', 'accumulate', 'chunk', 'split'],
    item: 'a chunk of `chunk` columns of C (all M rows, all of K; split: of one k-block)',
  },
  gemv_f32__nk: {
    args: ['c', 'a', 'w', 'M', 'N', 'K', 'lda', 'ldw', 'ldc', 'accumulate'],
    item: 'a row of W: one column of C (all M rows)',
  },
  // weight-only int8 (src/tensor/ops/int8.ts): q [N, K] int8 and a float32 scale per row n
  gemv_f32__i8: {
    args: ['c', 'a', 'q', 'scale', 'M', 'N', 'K', 'lda', 'ldq', 'ldc', 'accumulate'],
    item: 'a row of W: one column of C (all M rows)',
  },
  dequantize_i8_f32: { args: ['out', 'q', 'scale', 'K', 'ldq'], item: 'a row of W' },
  // softmax and attention (kern-attn). `desc` is the attention descriptor (src/tensor/ops/attention.ts, DESC):
  // Int32 [B, H, Tq, Tk, D, causal, scale as f32 bits, slots, q strides ×3, k strides ×3, v strides ×3, slot bytes,
  // query heads per KV head (grouped-query attention; 1 without)].
  softmax_fwd_f32: { args: ['y', 'x', 'T', 'Tq', 'causal', 'scale'], item: 'a row of T' },
  softmax_bwd_f32: { args: ['dx', 'y', 'dy', 'T', 'Tq', 'causal', 'scale'], item: 'a row of T' },
  attention_fwd_f32: {
    args: ['o', 'lse', 'q', 'k', 'v', 'mask', 'bias', 'desc', 'scratch'],
    item: 'a scratch slot (tile buffers) running a contiguous range of (batch, head, 64 query rows) tasks',
  },
  attention_bwd_f32__delta: { args: ['delta', 'o', 'dO', 'desc'], item: 'a row (b, i, h) of O' },
  attention_bwd_f32__dq: {
    args: ['dq', 'dbias', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'mask', 'bias', 'desc', 'scratch'],
    item: 'a scratch slot running a contiguous range of (head, 64 query rows) tasks, each over every batch',
  },
  attention_bwd_f32__dkv: {
    args: ['dk', 'dv', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'mask', 'bias', 'desc', 'scratch'],
    item: 'a scratch slot running a contiguous range of (batch, KV head, 64 keys) tasks',
  },
  attention_bwd_f32__qkv: {
    args: ['dq', 'dk', 'dv', 'dbias', 'q', 'k', 'v', 'dO', 'lse', 'delta', 'mask', 'bias', 'desc', 'scratch'],
    item: 'a scratch slot running a contiguous range of (batch, KV head) tasks, each owning dQ, dK, dV (and dBias when B = 1)',
  },
  // loss, dropout, optimizer, clipping (kern-loss)
  cross_entropy_fwd_f32: {
    args: ['loss', 'lse', 'g', 'logits', 'labels', 'V', 'ignoreIndex', 'smoothing'],
    item: 'a row of logits (g = 0: no gradient written)',
  },
  cross_entropy_bwd_f32: { args: ['dlogits', 'g', 'scale', 'n', 'accumulate'], item: '1024 elements' },
  dropout_fwd_f32: { args: ['y', 'x', 'n', 'key0', 'key1', 'threshold', 'scale'], item: '1024 elements' },
  dropout_bwd_f32: { args: ['dx', 'dy', 'n', 'key0', 'key1', 'threshold', 'scale'], item: '1024 elements' },
  adamw_f32: {
    args: ['p', 'm', 'v', 'g', 'n', 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'bc1', 'bc2'],
    item: '1024 elements',
  },
  grad_norm_f32: { args: ['partials', 'g', 'n'], item: 'a chunk of 4096 elements (one float64 partial)' },
  grad_scale_f32: { args: ['x', 'n', 's'], item: '1024 elements' },
  // elementwise (work item: one element; ranges may start anywhere)
  add_fwd_f32: { args: ['y', 'a', 'b'], item: 'an element' },
  accumulate_f32: { args: ['dx', 'dy'], item: 'an element' }, // dx += dy: add's and reshape's backward
  mul_fwd_f32: { args: ['y', 'a', 'b'], item: 'an element' },
  mul_bwd_f32: { args: ['dx', 'dy', 'other'], item: 'an element' },
  scale_fwd_f32: { args: ['y', 'x', 's'], item: 'an element' },
  axpy_f32: { args: ['y', 'x', 's'], item: 'an element' }, // y += s·x: scale's backward, scaleAddInPlace
  relu_fwd_f32: { args: ['y', 'x'], item: 'an element' },
  relu_bwd_f32: { args: ['dx', 'dy', 'x'], item: 'an element' },
  tanh_fwd_f32: { args: ['y', 'x'], item: 'an element' },
  tanh_bwd_f32: { args: ['dx', 'dy', 'y'], item: 'an element' },
  // GELU, and its derivative at d (0: not wanted) from the same exponential: backward is mul_bwd_f32 with it
  gelu_fwd_f32: { args: ['y', 'd', 'x'], item: 'an element' },
  gelu_fwd_f32__tanh: { args: ['y', 'd', 'x'], item: 'an element' },
  // a linear's bias + GELU in one pass over its matmul's output u (grad ≠ 0: u becomes the derivative backward reads)
  bias_gelu_fwd_f32: { args: ['y', 'u', 'b', 'C', 'grad'], item: 'a row of C' },
  bias_gelu_fwd_f32__tanh: { args: ['y', 'u', 'b', 'C', 'grad'], item: 'a row of C' },
  gelu_gate_fwd_f32: { args: ['y', 'a', 'b'], item: 'an element' },
  gelu_gate_bwd_f32: { args: ['da', 'db', 'dy', 'a', 'b', 'flags'], item: 'an element' },
  silu_fwd_f32: { args: ['y', 'x'], item: 'an element' },
  silu_bwd_f32: { args: ['dx', 'dy', 'x'], item: 'an element' },
  silu_gate_fwd_f32: { args: ['y', 'a', 'b'], item: 'an element' },
  silu_gate_bwd_f32: { args: ['da', 'db', 'dy', 'a', 'b', 'flags'], item: 'an element' },
  // norms (LayerNorm, RMSNorm with rms = 1) and the in-order column sum of per-chunk partials
  layernorm_fwd_f32: { args: ['y', 'mean', 'rstd', 'x', 'w', 'b', 'C', 'eps', 'rms'], item: 'a row' },
  // the residual add fused in (post-norm blocks): s = x + r, y = norm(s)
  add_layernorm_fwd_f32: { args: ['y', 's', 'mean', 'rstd', 'x', 'r', 'w', 'b', 'C', 'eps', 'rms'], item: 'a row' },
  layernorm_bwd_f32: {
    args: ['dx', 'dx2', 'dwParts', 'dbParts', 'dy', 'x', 'mean', 'rstd', 'w', 'N', 'C', 'rms'],
    item: 'a chunk of 32 rows (writes its dw, db partials)',
  },
  sum_rows_f32: { args: ['dst', 'parts', 'P', 'C'], item: 'a column (dst[c] += Σ parts[p][c] in order of p)' },
  // rotary position embeddings (LLaMA): rows of W, the first R columns rotated as R / D heads, the rest copied
  rope_fwd_f32: { args: ['y', 'x', 'pos', 'table', 'W', 'R', 'D'], item: 'a row' },
  rope_bwd_f32: { args: ['dx', 'dy', 'pos', 'table', 'W', 'R', 'D'], item: 'a row' },
  // embedding
  embedding_fwd_f32: { args: ['out', 'table', 'ids', 'C'], item: 'a position' },
  embedding_bwd_f32: {
    args: ['dtable', 'dout', 'order', 'starts', 'uniq', 'C'],
    item: 'a distinct id (owns its table row)',
  },
  // half-precision weights → float32 (loading float16 / bfloat16 checkpoints); x holds 16-bit patterns
  convert_f16_f32: { args: ['y', 'x'], item: 'an element' },
  convert_bf16_f32: { args: ['y', 'x'], item: 'an element' },
} as const satisfies Record<string, KernelSpec>;

export type KernelName = keyof typeof KERNELS;
/**
 * A kernel's arguments (before `start, end`): one number per name in its entry, so `Runtime.run` with the
 * wrong count does not compile. `ArgsOf<'add_fwd_f32'>` is `readonly [number, number, number]`.
 */
export type ArgsOf<K extends KernelName> = Numbers<(typeof KERNELS)[K]['args']>;
/** A tuple of names → a tuple of numbers (mapped through a type parameter, so TypeScript maps it element-wise). */
type Numbers<T extends readonly string[]> = { readonly [I in keyof T]: number };
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];
export const KERNEL_ID: Readonly<Record<KernelName, number>> = Object.fromEntries(
  KERNEL_NAMES.map((name, i) => [name, i]),
) as Record<KernelName, number>;

/**
 * Exports of the module that are not kernels: where the host's memory starts, and the probe that tells
 * whether the runtime fuses relaxed SIMD's multiply-add (module.ts maddIsFused).
 */
export const NON_KERNEL_EXPORTS = ['heap_base', 'madd_probe', 'memory'] as const;
/**
 * The matmul micro-tiles (assembly/kernels/matmul.ts, one source): MR rows of A by NR columns of B per register
 * tile, packed in panels of that many rows and columns, over output tiles (work items) of MB × NB. Every tile
 * sums each output element in the same order (k blocks of 256, each in k order), so all give the same bits;
 * they differ only in speed, which depends on the CPU: an engine picks one by timing (tensor/kernel-select.ts).
 * The first is the default. AS is how many floats A's panels hold per element: 4 where the packing splats each
 * value into a vector (the 'p' tiles: the micro-kernel's A operand is then a plain load), 1 where the micro-kernel
 * splats it (by splatting loads, or by shuffles of one load in 4x8s and 3x12).
 */
export const MATMUL_TILES = {
  '4x8': { MR: 4, NR: 8, MB: 64, NB: 128, AS: 1 },
  '4x8s': { MR: 4, NR: 8, MB: 64, NB: 128, AS: 1 },
  '4x8p': { MR: 4, NR: 8, MB: 64, NB: 128, AS: 4 },
  '2x16': { MR: 2, NR: 16, MB: 64, NB: 128, AS: 1 },
  '2x16p': { MR: 2, NR: 16, MB: 64, NB: 128, AS: 4 },
  '3x12': { MR: 3, NR: 12, MB: 48, NB: 120, AS: 1 },
} as const;
export type MatmulTile = keyof typeof MATMUL_TILES;
export const MATMUL_TILE_NAMES = Object.keys(MATMUL_TILES) as MatmulTile[];
