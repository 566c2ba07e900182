/** Every differentiable op (forward kernel + backward kernels), and the optimizer functions. */
export { matmul, matmulInto, gemm, type MatmulLayout } from './matmul.js';
export { linear, linearGelu, type WeightLayout } from './linear.js';
export { add, mul, scale, scaleAddInPlace, relu, tanh, gelu, geluGate } from './elementwise.js';
export { silu, siluGate } from './silu.js';
export { layerNorm, rmsNorm } from './layernorm.js';
export { rope, ropeTable } from './rope.js';
export { embedding, gatherRows } from './embedding.js';
export { reshape } from './reshape.js';
export { positionBias } from './position-bias.js';
export { softmax } from './softmax.js';
export { attention, type AttentionOptions } from './attention.js';
export { attentionMaterialised } from './attention-materialised.js';
export { crossEntropy, logSumExp, type CrossEntropyOptions } from './cross-entropy.js';
export { dropout } from './dropout.js';
export { copyRows, rowView } from './copy.js';
export { adamwStep, type AdamWHyper, type AdamWSlot, type AdamWSlots } from './adamw.js';
export { gradNorm, clipGradNorm, scaleGrads } from './grad-norm.js';
export { convertHalf } from './convert.js';
