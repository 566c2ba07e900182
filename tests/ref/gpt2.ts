/**
 * GPT-2 forward in float64, straight from Hugging Face's tensors and modeling_gpt2's semantics, written
 * independently of the engine: Conv1D weights [in, out], fused c_attn = q|k|v, causal softmax with
 * 1/√d scaling, gelu_new, pre-LN blocks, ln_f, LM head tied to wte. Returns logits [T, V].
 * With `mask` (attention_mask of the row, 1 = token, 0 = padding), position i attends the keys j ≤ i whose mask
 * is 1; a position that has none (a left pad) has no defined output here, and its logits are NaN.
 */
export function gpt2Ref(
  get: (name: string) => { data: ArrayLike<number>; shape: number[] },
  ids: number[],
  cfg: { n_layer: number; n_head: number; eps: number },
  mask?: number[],
): Float64Array {
  const wte = get('transformer.wte.weight');
  const [V, C] = wte.shape as [number, number];
  const T = ids.length;
  const H = cfg.n_head;
  const D = C / H;
  const wpe = get('transformer.wpe.weight').data;
  let x = Array.from({ length: T }, (_, t) =>
    Float64Array.from({ length: C }, (_, c) => wte.data[ids[t]! * C + c]! + wpe[t * C + c]!),
  );
  const ln = (v: Float64Array, p: string) => {
    const w = get(`${p}.weight`).data;
    const b = get(`${p}.bias`).data;
    const mu = v.reduce((a, b2) => a + b2, 0) / v.length;
    const va = v.reduce((a, b2) => a + (b2 - mu) ** 2, 0) / v.length;
    return v.map((z, i) => ((z - mu) / Math.sqrt(va + cfg.eps)) * w[i]! + b[i]!);
  };
  const conv1d = (v: Float64Array, p: string) => {
    const w = get(`${p}.weight`);
    const [In, Out] = w.shape as [number, number];
    const b = get(`${p}.bias`).data;
    const out = new Float64Array(Out);
    for (let o = 0; o < Out; o++) {
      let s = b[o]!;
      for (let i = 0; i < In; i++) s += v[i]! * w.data[i * Out + o]!;
      out[o] = s;
    }
    return out;
  };
  const geluNew = (z: number) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}`;
    const qkv = x.map((v) => conv1d(ln(v, `${p}.ln_1`), `${p}.attn.c_attn`));
    const att = x.map(() => new Float64Array(C));
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(i + 1);
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let c = 0; c < D; c++) d += qkv[i]![h * D + c]! * qkv[j]![C + h * D + c]!;
          s[j] = mask && mask[j] === 0 ? -Infinity : d / Math.sqrt(D);
        }
        const m = Math.max(...s);
        const e = s.map((z) => (m === -Infinity ? NaN : Math.exp(z - m)));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++) {
          if (e[j] === 0) continue; // a masked key (a pad's values may be NaN: it saw nothing)
          for (let c = 0; c < D; c++) att[i]![h * D + c]! += (e[j]! / z) * qkv[j]![2 * C + h * D + c]!;
        }
      }
    x = x.map((v, t) => v.map((z, c) => z + conv1d(att[t]!, `${p}.attn.c_proj`)[c]!));
    x = x.map((v) => {
      const hidden = conv1d(ln(v, `${p}.ln_2`), `${p}.mlp.c_fc`).map(geluNew);
      const out = conv1d(hidden, `${p}.mlp.c_proj`);
      return v.map((z, c) => z + out[c]!);
    });
  }
  const logits = new Float64Array(T * V);
  x.forEach((v, t) => {
    const h = ln(v, 'transformer.ln_f');
    for (let k = 0; k < V; k++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += h[c]! * wte.data[k * C + c]!;
      logits[t * V + k] = s;
    }
  });
  return logits;
}
