import type { NameMap } from './rules.js';

/**
 * GPT-2 (GPT2LMHeadModel) names. Conv1D weights are stored [in, out] and kept so (the linear op reads
 * the 'in_out' layout); the fused q|k|v projection is one tensor there too (`c_attn`). The LM head is
 * tied to `wte` and not stored; `attn.bias` / `attn.masked_bias` are causal-mask buffers of older
 * versions, not parameters.
 */
export const GPT2_NAMES: NameMap = {
  optionalPrefix: 'transformer.',
  rules: [
    { internal: 'wte\\.weight', hf: 'transformer.wte.weight' },
    { internal: 'wpe\\.weight', hf: 'transformer.wpe.weight' },
    { internal: 'h\\.(\\d+)\\.attn_norm\\.(weight|bias)', hf: 'transformer.h.$1.ln_1.$2' },
    { internal: 'h\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)', hf: 'transformer.h.$1.attn.c_attn.$2' },
    { internal: 'h\\.(\\d+)\\.attn\\.o\\.(weight|bias)', hf: 'transformer.h.$1.attn.c_proj.$2' },
    { internal: 'h\\.(\\d+)\\.ffn_norm\\.(weight|bias)', hf: 'transformer.h.$1.ln_2.$2' },
    { internal: 'h\\.(\\d+)\\.ffn\\.up\\.(weight|bias)', hf: 'transformer.h.$1.mlp.c_fc.$2' },
    { internal: 'h\\.(\\d+)\\.ffn\\.down\\.(weight|bias)', hf: 'transformer.h.$1.mlp.c_proj.$2' },
    { internal: 'ln_f\\.(weight|bias)', hf: 'transformer.ln_f.$1' },
  ],
  ignore: [/^lm_head\.weight$/, /\.attn\.(masked_)?bias$/],
};
