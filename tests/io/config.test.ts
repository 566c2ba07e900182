import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseConfig, serializeConfig } from '../../src/io/config.js';
import { type ModelConfig, MODEL_TYPES, gpt2InnerDim, t5FeedForward } from '../../src/io/hf/index.js';

function expectConfigError(json: unknown, message: RegExp): void {
  let err: unknown;
  try {
    parseConfig(json);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toMatch(message);
}

describe('parseConfig defaults (the transformers defaults)', () => {
  it('gpt2', () => {
    const c = parseConfig({ model_type: 'gpt2' });
    expect(c).toMatchObject({
      vocab_size: 50257,
      n_positions: 1024,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      n_inner: null,
      activation_function: 'gelu_new',
      resid_pdrop: 0.1,
      embd_pdrop: 0.1,
      attn_pdrop: 0.1,
      layer_norm_epsilon: 1e-5,
      initializer_range: 0.02,
      bos_token_id: 50256,
      eos_token_id: 50256,
      pad_token_id: null,
      tie_word_embeddings: true,
      scale_attn_weights: true,
      summary_activation: null,
      architectures: null,
      num_labels: 2,
      id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
      extra: {},
    });
    expect(gpt2InnerDim(c as Extract<ModelConfig, { model_type: 'gpt2' }>)).toBe(3072);
  });

  it('bert', () => {
    expect(parseConfig({ model_type: 'bert' })).toMatchObject({
      vocab_size: 30522,
      hidden_size: 768,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      intermediate_size: 3072,
      hidden_act: 'gelu',
      hidden_dropout_prob: 0.1,
      attention_probs_dropout_prob: 0.1,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
      initializer_range: 0.02,
      position_embedding_type: 'absolute',
      classifier_dropout: null,
      num_labels: 2,
    });
  });

  it('t5 (num_decoder_layers follows num_layers when absent or null)', () => {
    const c = parseConfig({ model_type: 't5', num_layers: 3 });
    expect(c).toMatchObject({
      vocab_size: 32128,
      d_model: 512,
      d_kv: 64,
      d_ff: 2048,
      num_layers: 3,
      num_decoder_layers: 3,
      num_heads: 8,
      relative_attention_num_buckets: 32,
      relative_attention_max_distance: 128,
      dropout_rate: 0.1,
      layer_norm_epsilon: 1e-6,
      feed_forward_proj: 'relu',
      is_encoder_decoder: true,
      tie_word_embeddings: true,
      pad_token_id: 0,
      eos_token_id: 1,
      decoder_start_token_id: null,
    });
    expect(parseConfig({ model_type: 't5', num_layers: 4, num_decoder_layers: null })).toMatchObject({
      num_decoder_layers: 4,
    });
    expect(parseConfig({ model_type: 't5', num_layers: 4, num_decoder_layers: 2 })).toMatchObject({
      num_decoder_layers: 2,
    });
  });

  it('bart', () => {
    expect(parseConfig({ model_type: 'bart' })).toMatchObject({
      vocab_size: 50265,
      d_model: 1024,
      encoder_layers: 12,
      decoder_layers: 12,
      encoder_attention_heads: 16,
      decoder_attention_heads: 16,
      encoder_ffn_dim: 4096,
      decoder_ffn_dim: 4096,
      activation_function: 'gelu',
      max_position_embeddings: 1024,
      scale_embedding: false,
      pad_token_id: 1,
      bos_token_id: 0,
      eos_token_id: 2,
      decoder_start_token_id: 2,
      forced_eos_token_id: 2,
      normalize_before: false,
      add_final_layer_norm: false,
      dropout: 0.1,
      num_labels: 3,
    });
  });

  it('t5 feed-forward kinds, gated-gelu meaning gelu_new as in transformers', () => {
    expect(t5FeedForward({ feed_forward_proj: 'relu' })).toEqual({ gated: false, act: 'relu' });
    expect(t5FeedForward({ feed_forward_proj: 'gated-gelu' })).toEqual({ gated: true, act: 'gelu_new' });
    expect(t5FeedForward({ feed_forward_proj: 'gated-silu' })).toEqual({ gated: true, act: 'silu' });
  });
});

describe('parseConfig validation', () => {
  it('lists the known model types for an unknown one', () => {
    expectConfigError(
      { model_type: 'mistral' },
      /"model_type": expected one of "gpt2", "bert", "t5", "bart", "roberta", "llama", got string "mistral"/,
    );
    expectConfigError({}, /model_type.*got nothing \(missing\)/);
    expectConfigError([1], /config should be a JSON object, got array/);
    expect(MODEL_TYPES).toEqual(['gpt2', 'bert', 't5', 'bart', 'roberta', 'llama']);
  });

  it('names the field, the expected value and what it got', () => {
    expectConfigError(
      { model_type: 'gpt2', n_embd: '32' },
      /gpt2 field "n_embd": expected a positive integer ≤ 65,536, got string "32"/,
    );
    expectConfigError(
      { model_type: 'gpt2', n_layer: 0 },
      /gpt2 field "n_layer": expected a positive integer ≤ 4,096, got number 0/,
    );
    expectConfigError({ model_type: 'gpt2', n_head: 2.5 }, /"n_head": expected a positive integer/);
    expectConfigError(
      { model_type: 'gpt2', attn_pdrop: 1.5 },
      /gpt2 field "attn_pdrop": expected a probability in \[0, 1\], got number 1.5/,
    );
    expectConfigError({ model_type: 'gpt2', layer_norm_epsilon: 0 }, /"layer_norm_epsilon": expected a number > 0/);
    expectConfigError(
      { model_type: 'gpt2', activation_function: 'gelu2' },
      /"activation_function": expected one of "gelu".*got string "gelu2"/,
    );
    expectConfigError(
      { model_type: 'gpt2', scale_attn_weights: 'yes' },
      /"scale_attn_weights": expected true or false/,
    );
    expectConfigError(
      { model_type: 'bert', vocab_size: null },
      /bert field "vocab_size": expected a positive integer ≤ 16,777,216, got null/,
    );
    expectConfigError(
      { model_type: 'bert', position_embedding_type: 'rotary' },
      /"position_embedding_type": expected one of "absolute", "relative_key", "relative_key_query"/,
    );
    expectConfigError(
      { model_type: 't5', feed_forward_proj: 'gated-gelu-x' },
      /"feed_forward_proj": expected "<act>" or "gated-<act>"/,
    );
    expectConfigError({ model_type: 't5', feed_forward_proj: 'fancy-relu' }, /"feed_forward_proj"/);
    expectConfigError(
      { model_type: 'gpt2', architectures: 'GPT2LMHeadModel' },
      /"architectures": expected an array of class names/,
    );
  });

  it('checks that heads divide the width', () => {
    expectConfigError(
      { model_type: 'gpt2', n_embd: 30, n_head: 4 },
      /gpt2: "n_embd" \(30\) must be divisible by "n_head" \(4\)/,
    );
    expectConfigError(
      { model_type: 'bert', hidden_size: 100, num_attention_heads: 12 },
      /"hidden_size" \(100\) must be divisible by "num_attention_heads" \(12\)/,
    );
    expectConfigError(
      { model_type: 'bart', d_model: 64, decoder_attention_heads: 5, encoder_attention_heads: 4 },
      /"d_model" \(64\) must be divisible by "decoder_attention_heads" \(5\)/,
    );
    // T5's heads have their own width d_kv: no divisibility needed.
    expect(parseConfig({ model_type: 't5', d_model: 30, num_heads: 4, d_kv: 7 })).toMatchObject({ d_model: 30 });
  });

  it('checks token ids against the vocabulary', () => {
    expectConfigError(
      { model_type: 'gpt2', vocab_size: 100 },
      /gpt2 field "bos_token_id": expected a token id below vocab_size \(100\), got 50256/,
    );
    expectConfigError(
      { model_type: 'gpt2', eos_token_id: -1 },
      /"eos_token_id": expected an integer ≥ 0, got number -1/,
    );
  });

  it('refuses BART fields that would make a different network than transformers builds', () => {
    expectConfigError({ model_type: 'bart', normalize_before: true }, /bart field "normalize_before": expected false/);
    expectConfigError({ model_type: 'bart', add_final_layer_norm: true }, /"add_final_layer_norm": expected false/);
  });

  it('reads attribute aliases as their field, and refuses two different values for one setting', () => {
    const c = parseConfig({ model_type: 'gpt2', hidden_size: 64, num_attention_heads: 8 });
    expect(c).toMatchObject({ n_embd: 64, n_head: 8, extra: {} });
    expect(serializeConfig(c)).not.toHaveProperty('hidden_size');
    expect(parseConfig({ model_type: 't5', hidden_size: 64, d_model: 64 })).toMatchObject({ d_model: 64 });
    expectConfigError(
      { model_type: 't5', hidden_size: 64, d_model: 32 },
      /t5 fields "hidden_size" \(number 64\) and "d_model" \(number 32\) name the same setting/,
    );
  });
});

describe('labels of classification heads', () => {
  it('derives num_labels from id2label (keys as strings in JSON), label2id as its inverse', () => {
    const c = parseConfig({ model_type: 'bert', id2label: { '0': 'ham', '1': 'spam', '2': 'unsure' } });
    expect(c.num_labels).toBe(3);
    expect(c.id2label).toEqual({ 0: 'ham', 1: 'spam', 2: 'unsure' });
    expect(c.label2id).toEqual({ ham: 0, spam: 1, unsure: 2 });
    const out = serializeConfig(c);
    expect(out['id2label']).toEqual({ '0': 'ham', '1': 'spam', '2': 'unsure' });
    expect(out['label2id']).toEqual({ ham: 0, spam: 1, unsure: 2 });
    expect(out).not.toHaveProperty('num_labels');
  });

  it('makes LABEL_i from num_labels alone, and lets id2label win over a different num_labels', () => {
    const c = parseConfig({ model_type: 'bert', num_labels: 4 });
    expect(c.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2', 3: 'LABEL_3' });
    expect(c.extra).toEqual({});
    expect(serializeConfig(c)['id2label']).toEqual({ '0': 'LABEL_0', '1': 'LABEL_1', '2': 'LABEL_2', '3': 'LABEL_3' });
    expect(parseConfig({ model_type: 'bert', num_labels: 5, id2label: { 0: 'a', 1: 'b' } }).num_labels).toBe(2);
  });

  it('omits the default labels when writing, and checks label maps', () => {
    expect(serializeConfig(parseConfig({ model_type: 'gpt2' }))).not.toHaveProperty('id2label');
    expect(serializeConfig(parseConfig({ model_type: 'bart' }))).not.toHaveProperty('id2label');
    expectConfigError(
      { model_type: 'bert', id2label: { x: 'a' } },
      /"id2label": expected class index → label name.*got "x"/,
    );
    expectConfigError({ model_type: 'bert', id2label: ['a', 'b'] }, /"id2label": expected an object/);
    expectConfigError({ model_type: 'bert', label2id: { a: 'zero' } }, /"label2id": expected label name → class index/);
    expectConfigError({ model_type: 'bert', num_labels: -1 }, /"num_labels": expected an integer ≥ 0 and ≤ 65,536/);
  });
});

describe('serializeConfig', () => {
  const samples: unknown[] = [
    {
      model_type: 'gpt2',
      n_embd: 48,
      n_head: 6,
      n_inner: 100,
      my_field: { nested: [1, 2] },
      transformers_version: '4.36.2',
    },
    {
      model_type: 'bert',
      architectures: ['BertForSequenceClassification'],
      id2label: { 0: 'neg', 1: 'pos' },
      problem_type: 'single_label_classification',
    },
    {
      model_type: 't5',
      feed_forward_proj: 'gated-gelu',
      decoder_start_token_id: 0,
      task_specific_params: { summarization: { prefix: 'summarize: ' } },
    },
    {
      model_type: 'bart',
      d_model: 64,
      encoder_attention_heads: 4,
      decoder_attention_heads: 4,
      forced_bos_token_id: 0,
      early_stopping: true,
    },
  ];

  it.each(samples)('round-trips without losing a field: %o', (json) => {
    const cfg = parseConfig(json);
    const out = serializeConfig(cfg);
    for (const [k, v] of Object.entries(json as object)) expect(out[k], k).toEqual(v);
    // Equal after a trip through JSON text, except that a config without architectures gets its family's default.
    expect(parseConfig(JSON.parse(JSON.stringify(out)))).toEqual({ ...cfg, architectures: out['architectures'] });
    expect(Object.keys(out)).toEqual(Object.keys(out).slice().sort()); // sorted, as transformers writes
  });

  it('writes model_type and a default architecture when the config has none', () => {
    expect(serializeConfig(parseConfig({ model_type: 't5' }))).toMatchObject({
      model_type: 't5',
      architectures: ['T5ForConditionalGeneration'],
      num_decoder_layers: 6,
    });
  });

  it('does not share objects with the config it came from', () => {
    const cfg = parseConfig({ model_type: 'gpt2', my_field: { a: 1 } });
    const out = serializeConfig(cfg);
    (out['my_field'] as { a: number }).a = 2;
    expect(cfg.extra['my_field']).toEqual({ a: 1 });
  });
});

describe('hostile keys', () => {
  it('keeps a field named __proto__ as a field, never as a prototype', () => {
    const json = JSON.parse(
      '{"model_type":"gpt2","__proto__":{"polluted":true},"label2id":{"__proto__":0,"b":1},"id2label":{"0":"__proto__","1":"b"}}',
    );
    const cfg = parseConfig(json);
    expect(Object.getPrototypeOf(cfg.extra)).toBe(Object.prototype);
    expect(Object.hasOwn(cfg.extra, '__proto__')).toBe(true);
    expect(Object.hasOwn(cfg.label2id, '__proto__')).toBe(true);
    const out = serializeConfig(cfg);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { polluted?: boolean }).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(out))['__proto__']).toEqual({ polluted: true });
  });
});
