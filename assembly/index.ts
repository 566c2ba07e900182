// The kernel module: pure functions over pointers into the imported memory. No allocation, no runtime,
// no mutable globals: it can be instantiated any number of times, on any thread, over one memory.
// Every export is listed in src/runtime/kernels.ts (a test fails if one is missing there).

import { madd } from './kernels/math';

/** First byte the host may use: above the module's static data (there is none) and stack. */
export function heap_base(): usize {
  return __heap_base;
}

/**
 * Lane 0 of the kernels' madd(a, b, c) (kernels/math.ts). The host calls it once: the relaxed build's
 * f32x4.relaxed_madd may be fused (one rounding) or a multiply then an add, as the runtime chooses.
 */
export function madd_probe(a: f32, b: f32, c: f32): f32 {
  return f32x4.extract_lane(madd(f32x4.splat(a), f32x4.splat(b), f32x4.splat(c)), 0);
}

export {
  pack_a_f32,
  pack_b_f32,
  matmul_f32,
  matmul_f32__4x8s,
  pack_a_f32__4p,
  matmul_f32__4x8p,
  pack_a_f32__2,
  pack_b_f32__16,
  matmul_f32__2x16,
  pack_a_f32__2p,
  matmul_f32__2x16p,
  pack_a_f32__3,
  pack_b_f32__12,
  matmul_f32__3x12,
} from './kernels/matmul';
export { gemv_f32__kn, gemv_f32__nk } from './kernels/gemv';
export { gemv_f32__i8, dequantize_i8_f32 } from './kernels/gemv-i8';
// softmax and attention (kern-attn)
export { softmax_fwd_f32, softmax_bwd_f32 } from './kernels/softmax';
export { attention_fwd_f32, attention_bwd_f32__delta } from './kernels/attention';
export { attention_bwd_f32__dq, attention_bwd_f32__dkv, attention_bwd_f32__qkv } from './kernels/attention-bwd';

// loss, dropout, optimizer, clipping (kern-loss)
export { cross_entropy_fwd_f32, cross_entropy_bwd_f32 } from './kernels/cross-entropy';
export { dropout_fwd_f32, dropout_bwd_f32 } from './kernels/dropout';
export { adamw_f32 } from './kernels/adamw';
export { grad_norm_f32, grad_scale_f32 } from './kernels/grad-norm';
// elementwise, norms, embedding
export { add_fwd_f32, accumulate_f32 } from './kernels/add';
export { mul_fwd_f32, mul_bwd_f32 } from './kernels/mul';
export { scale_fwd_f32, axpy_f32 } from './kernels/scale';
export { relu_fwd_f32, relu_bwd_f32 } from './kernels/relu';
export { tanh_fwd_f32, tanh_bwd_f32 } from './kernels/tanh';
export {
  gelu_fwd_f32,
  gelu_fwd_f32__tanh,
  gelu_gate_fwd_f32,
  gelu_gate_bwd_f32,
  bias_gelu_fwd_f32,
  bias_gelu_fwd_f32__tanh,
} from './kernels/gelu';
export { silu_fwd_f32, silu_bwd_f32, silu_gate_fwd_f32, silu_gate_bwd_f32 } from './kernels/silu';
export { layernorm_fwd_f32, add_layernorm_fwd_f32, layernorm_bwd_f32, sum_rows_f32 } from './kernels/layernorm';
export { rope_fwd_f32, rope_bwd_f32 } from './kernels/rope';
export { embedding_fwd_f32, embedding_bwd_f32 } from './kernels/embedding';
export { convert_f16_f32, convert_bf16_f32 } from './kernels/convert';
