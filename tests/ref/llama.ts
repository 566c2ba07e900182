/**
 * A float64 LLaMA forward written from Hugging Face's modeling_llama.py (LlamaForCausalLM), reading tensors by
 * their checkpoint names: an independent check of the model, of the name map (which file tensor is q, k or v,
 * gate or up) and of rotary embeddings (rotate_half over a head's halves) and grouped-query attention
 * (repeat_kv: query head h reads key/value head ⌊h / n_rep⌋).
 */
type Get = (name: string) => Float64Array | undefined;

export interface LlamaRefConfig {
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  theta: number;
}

/** y [n, out] = x [n, in] · Wᵀ (+ b), W [out, in] as torch Linear. */
function linear(x: Float64Array, n: number, W: Float64Array, b?: Float64Array): Float64Array {
  const out = W.length / (x.length / n);
  const inn = x.length / n;
  const y = new Float64Array(n * out);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < out; o++) {
      let s = b ? b[o]! : 0;
      for (let k = 0; k < inn; k++) s += x[i * inn + k]! * W[o * inn + k]!;
      y[i * out + o] = s;
    }
  return y;
}

/** LlamaRMSNorm: x / √(mean(x²) + eps) · w. */
function rms(x: Float64Array, d: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length / d; i++) {
    let v = 0;
    for (let k = 0; k < d; k++) v += x[i * d + k]! ** 2;
    const r = 1 / Math.sqrt(v / d + eps);
    for (let k = 0; k < d; k++) y[i * d + k] = w[k]! * (x[i * d + k]! * r);
  }
  return y;
}

/** apply_rotary_pos_emb on rows [T, H·D] at positions 0 … T−1: x·cos + rotate_half(x)·sin, per head. */
function rotary(x: Float64Array, T: number, H: number, D: number, theta: number): Float64Array {
  const y = new Float64Array(x.length);
  const half = D / 2;
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) {
      const at = (t * H + h) * D;
      for (let j = 0; j < D; j++) {
        const freq = 1 / theta ** ((2 * (j % half)) / D); // emb = cat(freqs, freqs)
        const rot = j < half ? -x[at + j + half]! : x[at + j - half]!; // rotate_half = cat(−x2, x1)
        y[at + j] = x[at + j]! * Math.cos(t * freq) + rot * Math.sin(t * freq);
      }
    }
  return y;
}

/** Causal attention of one sequence: q [T, H·D], k and v [T, Hkv·D]; head h reads KV head ⌊h / (H / Hkv)⌋. */
function attend(q: Float64Array, k: Float64Array, v: Float64Array, T: number, c: LlamaRefConfig): Float64Array {
  const { heads: H, kvHeads: Hkv, headDim: D } = c;
  const rep = H / Hkv;
  const out = new Float64Array(T * H * D);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / rep);
    for (let i = 0; i < T; i++) {
      const s = new Float64Array(i + 1);
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(i * H + h) * D + d]! * k[(j * Hkv + g) * D + d]!;
        s[j] = dot / Math.sqrt(D);
      }
      const m = Math.max(...s);
      let z = 0;
      for (let j = 0; j <= i; j++) z += Math.exp(s[j]! - m);
      for (let j = 0; j <= i; j++) {
        const p = Math.exp(s[j]! - m) / z;
        for (let d = 0; d < D; d++) out[(i * H + h) * D + d]! += p * v[(j * Hkv + g) * D + d]!;
      }
    }
  }
  return out;
}

const silu = (x: number) => x / (1 + Math.exp(-x));

/** Logits [T, V] of one sequence of ids, from the checkpoint's tensors (lm_head.weight, or the tied embeddings). */
export function llamaRef(get: Get, ids: number[], c: LlamaRefConfig): Float64Array {
  const must = (n: string) => {
    const t = get(n);
    if (!t) throw new Error(`reference: checkpoint lacks ${n}`);
    return t;
  };
  const E = must('model.embed_tokens.weight');
  const T = ids.length;
  const hidden = must('model.norm.weight').length;
  let x = new Float64Array(T * hidden);
  ids.forEach((id, t) => x.set(E.subarray(id * hidden, (id + 1) * hidden), t * hidden));
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const h = rms(x, hidden, must(`${p}.input_layernorm.weight`), c.eps);
    const proj = (n: string) => linear(h, T, must(`${p}.self_attn.${n}.weight`), get(`${p}.self_attn.${n}.bias`));
    const q = rotary(proj('q_proj'), T, c.heads, c.headDim, c.theta);
    const k = rotary(proj('k_proj'), T, c.kvHeads, c.headDim, c.theta);
    const v = proj('v_proj');
    const a = attend(q, k, v, T, c);
    const o = linear(a, T, must(`${p}.self_attn.o_proj.weight`), get(`${p}.self_attn.o_proj.bias`));
    x = x.map((xi, i) => xi + o[i]!);
    const h2 = rms(x, hidden, must(`${p}.post_attention_layernorm.weight`), c.eps);
    const mlp = (n: string, y: Float64Array) => linear(y, T, must(`${p}.mlp.${n}.weight`), get(`${p}.mlp.${n}.bias`));
    const gate = mlp('gate_proj', h2);
    const up = mlp('up_proj', h2);
    const down = mlp(
      'down_proj',
      gate.map((g, i) => silu(g) * up[i]!),
    );
    x = x.map((xi, i) => xi + down[i]!);
  }
  const final = rms(x, hidden, must('model.norm.weight'), c.eps);
  return linear(final, T, get('lm_head.weight') ?? E);
}
