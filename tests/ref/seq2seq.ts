/**
 * Float64 T5 and BART forwards written from Hugging Face's modeling_t5.py / modeling_bart.py, reading
 * tensors by their checkpoint names: an independent check of the models, of the name maps (which file
 * tensor is q, k or v, wi_0 or wi_1) and of T5's relative position buckets. Its pieces (linear, layer
 * norm, GELU, multi-head attention) serve tests/ref/roberta.ts too.
 */
type Get = (name: string) => Float64Array;

/** y [n, out] = x [n, in] · Wᵀ (+ b), W [out, in] as torch Linear. */
export function linear(x: Float64Array, n: number, W: Float64Array, out: number, b?: Float64Array): Float64Array {
  const inn = W.length / out;
  const y = new Float64Array(n * out);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < out; o++) {
      let s = b ? b[o]! : 0;
      for (let k = 0; k < inn; k++) s += x[i * inn + k]! * W[o * inn + k]!;
      y[i * out + o] = s;
    }
  return y;
}

function rms(x: Float64Array, d: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length / d; i++) {
    let v = 0;
    for (let k = 0; k < d; k++) v += x[i * d + k]! ** 2;
    const r = 1 / Math.sqrt(v / d + eps);
    for (let k = 0; k < d; k++) y[i * d + k] = x[i * d + k]! * r * w[k]!;
  }
  return y;
}

export function layerNorm(x: Float64Array, d: number, w: Float64Array, b: Float64Array, eps = 1e-5): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length / d; i++) {
    let m = 0;
    for (let k = 0; k < d; k++) m += x[i * d + k]!;
    m /= d;
    let v = 0;
    for (let k = 0; k < d; k++) v += (x[i * d + k]! - m) ** 2;
    const r = 1 / Math.sqrt(v / d + eps);
    for (let k = 0; k < d; k++) y[i * d + k] = (x[i * d + k]! - m) * r * w[k]! + b[k]!;
  }
  return y;
}

export const add = (a: Float64Array, b: Float64Array) => a.map((x, i) => x + b[i]!);

function erf(x: number): number {
  // series / continued fraction to double precision
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}
export const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/**
 * Multi-head attention for one batch row: q [Tq, H·D], k, v [Tk, H·D]; scores·scale + bias[h][i][j],
 * keys with mask 0 and (causal) later keys left out.
 */
export function attend(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  Tq: number,
  Tk: number,
  H: number,
  D: number,
  scale: number,
  opts: { bias?: (h: number, i: number, j: number) => number; mask?: ArrayLike<number>; causal?: boolean },
): Float64Array {
  const I = H * D;
  const out = new Float64Array(Tq * I);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < Tq; i++) {
      const s = new Float64Array(Tk).fill(-Infinity);
      for (let j = 0; j < Tk; j++) {
        if ((opts.mask && !opts.mask[j]) || (opts.causal && j > i)) continue;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[i * I + h * D + d]! * k[j * I + h * D + d]!;
        s[j] = dot * scale + (opts.bias ? opts.bias(h, i, j) : 0);
      }
      const m = Math.max(...s);
      let z = 0;
      for (let j = 0; j < Tk; j++) z += s[j] === -Infinity ? 0 : Math.exp(s[j]! - m);
      for (let j = 0; j < Tk; j++) {
        if (s[j] === -Infinity) continue;
        const p = Math.exp(s[j]! - m) / z;
        for (let d = 0; d < D; d++) out[i * I + h * D + d]! += p * v[j * I + h * D + d]!;
      }
    }
  return out;
}

function bucket(rel: number, bidirectional: boolean, nb: number, maxDistance: number): number {
  let ret = 0;
  let n = nb;
  let r: number;
  if (bidirectional) {
    n = Math.floor(n / 2);
    ret += rel > 0 ? n : 0;
    r = Math.abs(rel);
  } else r = Math.max(-rel, 0);
  const maxExact = Math.floor(n / 2);
  if (r < maxExact) return ret + r;
  return (
    ret +
    Math.min(n - 1, maxExact + Math.floor((Math.log(r / maxExact) / Math.log(maxDistance / maxExact)) * (n - maxExact)))
  );
}

export interface T5RefConfig {
  d_model: number;
  d_kv: number;
  num_heads: number;
  num_layers: number;
  num_decoder_layers: number;
  vocab_size: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  feed_forward_proj: string;
  tie_word_embeddings: boolean;
}

/** Logits [T, V] of one source (with its mask) and decoder input. */
export function t5Ref(get: Get, c: T5RefConfig, src: number[], mask: number[], dec: number[]): Float64Array {
  const d = c.d_model;
  const H = c.num_heads;
  const D = c.d_kv;
  const I = H * D;
  const emb = (ids: number[]) => {
    const w = get('shared.weight');
    const x = new Float64Array(ids.length * d);
    ids.forEach((id, t) => x.set(w.subarray(id * d, (id + 1) * d), t * d));
    return x;
  };
  const ff = (p: string, x: Float64Array, n: number) => {
    if (c.feed_forward_proj === 'gated-gelu') {
      const g = linear(
        x,
        n,
        get(`${p}.DenseReluDense.wi_0.weight`),
        get(`${p}.DenseReluDense.wi_0.weight`).length / d,
      ).map(geluTanh);
      const u = linear(x, n, get(`${p}.DenseReluDense.wi_1.weight`), g.length / n);
      return linear(
        g.map((v, i) => v * u[i]!),
        n,
        get(`${p}.DenseReluDense.wo.weight`),
        d,
      );
    }
    const h = linear(x, n, get(`${p}.DenseReluDense.wi.weight`), get(`${p}.DenseReluDense.wi.weight`).length / d).map(
      (v) => Math.max(v, 0),
    );
    return linear(h, n, get(`${p}.DenseReluDense.wo.weight`), d);
  };
  const relBias = (side: string, bidirectional: boolean) => {
    const table = get(`${side}.block.0.layer.0.SelfAttention.relative_attention_bias.weight`);
    return (h: number, i: number, j: number) =>
      table[bucket(j - i, bidirectional, c.relative_attention_num_buckets, c.relative_attention_max_distance) * H + h]!;
  };
  const S = src.length;
  let x = emb(src);
  for (let l = 0; l < c.num_layers; l++) {
    const p = `encoder.block.${l}.layer`;
    const n = rms(x, d, get(`${p}.0.layer_norm.weight`), c.layer_norm_epsilon);
    const [q, k, v] = ['q', 'k', 'v'].map((w) => linear(n, S, get(`${p}.0.SelfAttention.${w}.weight`), I));
    x = add(
      x,
      linear(
        attend(q!, k!, v!, S, S, H, D, 1, { bias: relBias('encoder', true), mask }),
        S,
        get(`${p}.0.SelfAttention.o.weight`),
        d,
      ),
    );
    x = add(x, ff(`${p}.1`, rms(x, d, get(`${p}.1.layer_norm.weight`), c.layer_norm_epsilon), S));
  }
  const memory = rms(x, d, get('encoder.final_layer_norm.weight'), c.layer_norm_epsilon);
  const T = dec.length;
  let y = emb(dec);
  for (let l = 0; l < c.num_decoder_layers; l++) {
    const p = `decoder.block.${l}.layer`;
    let n = rms(y, d, get(`${p}.0.layer_norm.weight`), c.layer_norm_epsilon);
    const [q, k, v] = ['q', 'k', 'v'].map((w) => linear(n, T, get(`${p}.0.SelfAttention.${w}.weight`), I));
    y = add(
      y,
      linear(
        attend(q!, k!, v!, T, T, H, D, 1, { bias: relBias('decoder', false), causal: true }),
        T,
        get(`${p}.0.SelfAttention.o.weight`),
        d,
      ),
    );
    n = rms(y, d, get(`${p}.1.layer_norm.weight`), c.layer_norm_epsilon);
    const cq = linear(n, T, get(`${p}.1.EncDecAttention.q.weight`), I);
    const ck = linear(memory, S, get(`${p}.1.EncDecAttention.k.weight`), I);
    const cv = linear(memory, S, get(`${p}.1.EncDecAttention.v.weight`), I);
    y = add(y, linear(attend(cq, ck, cv, T, S, H, D, 1, { mask }), T, get(`${p}.1.EncDecAttention.o.weight`), d));
    y = add(y, ff(`${p}.2`, rms(y, d, get(`${p}.2.layer_norm.weight`), c.layer_norm_epsilon), T));
  }
  const h = rms(y, d, get('decoder.final_layer_norm.weight'), c.layer_norm_epsilon);
  if (c.tie_word_embeddings)
    return linear(
      h.map((v) => v * d ** -0.5),
      T,
      get('shared.weight'),
      c.vocab_size,
    );
  return linear(h, T, get('lm_head.weight'), c.vocab_size);
}

export interface BartRefConfig {
  d_model: number;
  encoder_layers: number;
  decoder_layers: number;
  encoder_attention_heads: number;
  decoder_attention_heads: number;
  vocab_size: number;
  scale_embedding: boolean;
  activation_function: string;
}

export function bartRef(get: Get, c: BartRefConfig, src: number[], mask: number[], dec: number[]): Float64Array {
  const d = c.d_model;
  const act =
    c.activation_function === 'gelu'
      ? gelu
      : c.activation_function === 'relu'
        ? (x: number) => Math.max(x, 0)
        : geluTanh;
  const embed = (side: string, ids: number[]) => {
    const w = get('model.shared.weight');
    const pos = get(`model.${side}.embed_positions.weight`);
    const x = new Float64Array(ids.length * d);
    const scale = c.scale_embedding ? Math.sqrt(d) : 1;
    ids.forEach((id, t) => {
      for (let k = 0; k < d; k++) x[t * d + k] = w[id * d + k]! * scale + pos[(t + 2) * d + k]!;
    });
    return layerNorm(
      x,
      d,
      get(`model.${side}.layernorm_embedding.weight`),
      get(`model.${side}.layernorm_embedding.bias`),
    );
  };
  const proj = (p: string, x: Float64Array, n: number) =>
    linear(x, n, get(`${p}.weight`), get(`${p}.bias`).length, get(`${p}.bias`));
  const mha = (
    p: string,
    x: Float64Array,
    n: number,
    mem: Float64Array,
    m: number,
    H: number,
    opts: { mask?: number[]; causal?: boolean },
  ) => {
    const q = proj(`${p}.q_proj`, x, n);
    const k = proj(`${p}.k_proj`, mem, m);
    const v = proj(`${p}.v_proj`, mem, m);
    return proj(`${p}.out_proj`, attend(q, k, v, n, m, H, d / H, (d / H) ** -0.5, opts), n);
  };
  const ffn = (p: string, x: Float64Array, n: number) => proj(`${p}.fc2`, proj(`${p}.fc1`, x, n).map(act), n);
  const ln = (p: string, x: Float64Array) => layerNorm(x, d, get(`${p}.weight`), get(`${p}.bias`));
  const S = src.length;
  let x = embed('encoder', src);
  for (let l = 0; l < c.encoder_layers; l++) {
    const p = `model.encoder.layers.${l}`;
    x = ln(`${p}.self_attn_layer_norm`, add(x, mha(`${p}.self_attn`, x, S, x, S, c.encoder_attention_heads, { mask })));
    x = ln(`${p}.final_layer_norm`, add(x, ffn(p, x, S)));
  }
  const T = dec.length;
  let y = embed('decoder', dec);
  for (let l = 0; l < c.decoder_layers; l++) {
    const p = `model.decoder.layers.${l}`;
    y = ln(
      `${p}.self_attn_layer_norm`,
      add(y, mha(`${p}.self_attn`, y, T, y, T, c.decoder_attention_heads, { causal: true })),
    );
    y = ln(
      `${p}.encoder_attn_layer_norm`,
      add(y, mha(`${p}.encoder_attn`, y, T, x, S, c.decoder_attention_heads, { mask })),
    );
    y = ln(`${p}.final_layer_norm`, add(y, ffn(p, y, T)));
  }
  const logits = linear(y, T, get('model.shared.weight'), c.vocab_size);
  const fb = get('final_logits_bias');
  return logits.map((v, i) => v + fb[i % c.vocab_size]!);
}
