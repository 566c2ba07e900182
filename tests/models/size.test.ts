/**
 * A model's size is known from its config before anything is allocated: each family's parameter count equals
 * what its constructor builds, a config too large for the engine is a ConfigError naming the field and the bytes
 * (and nothing is allocated), and a checkpoint whose config describes more than its weights hold is refused
 * before the model is built.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError } from '../../src/errors.js';
import { writeCheckpoint } from '../../src/io/checkpoint.js';
import { parseConfig, type ModelConfig } from '../../src/io/config.js';
import { loadModel } from '../../src/models/load.js';
import { createModel, modelParameters } from '../../src/models/registry.js';
import { parameterTotal } from '../../src/models/size.js';
import { Engine } from '../../src/tensor/engine.js';
import { tinyBart, tinyT5 } from '../util/seq2seq-configs.js';

const gpt = (over: Record<string, unknown> = {}) =>
  parseConfig({
    model_type: 'gpt2',
    vocab_size: 19,
    n_positions: 9,
    n_embd: 12,
    n_layer: 2,
    n_head: 3,
    bos_token_id: 0,
    eos_token_id: 0,
    ...over,
  });
const bert = (over: Record<string, unknown> = {}) =>
  parseConfig({
    model_type: 'bert',
    vocab_size: 21,
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 13,
    max_position_embeddings: 11,
    ...over,
  });

const CONFIGS: [string, ModelConfig][] = [
  ['gpt2', gpt()],
  ['gpt2, n_inner 7', gpt({ n_inner: 7, n_layer: 3 })],
  ['bert pre-training', bert()],
  ['bert masked-lm, pre-LN', bert({ architectures: ['BertForMaskedLM'], pre_norm: true })],
  ['bert sequence classification, 5 labels', bert({ architectures: ['BertForSequenceClassification'], num_labels: 5 })],
  [
    'bert token classification, 3 type ids',
    bert({ architectures: ['BertForTokenClassification'], type_vocab_size: 3 }),
  ],
  ['t5', tinyT5()],
  [
    't5 v1.1: gated-gelu, untied head, 3 decoder layers',
    tinyT5({ feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, num_decoder_layers: 3 }),
  ],
  ['t5, num_heads × d_kv ≠ d_model', tinyT5({ d_kv: 3, num_heads: 5 })],
  ['bart', tinyBart()],
  ['bart, 1 encoder layer, 3 decoder layers', tinyBart({ encoder_layers: 1, decoder_layers: 3 })],
];

describe('model sizes from their configs', () => {
  let engine: Engine;
  let root: string;
  beforeAll(async () => {
    engine = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
    root = await mkdtemp(join(tmpdir(), 'simdformer-size-'));
  });
  afterAll(async () => {
    await engine.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it.each(CONFIGS)('%s: the counted parameters are the built ones', (_, config) => {
    const model = createModel(engine, config);
    try {
      let built = 0;
      for (const t of model.parameters()) built += t.size;
      expect(parameterTotal(modelParameters(config))).toBe(built);
    } finally {
      model.dispose();
    }
  });

  it.each([
    ['gpt2', { model_type: 'gpt2', n_embd: 2048, n_head: 16, n_layer: 48 }, /n_layer \(48\) blocks/],
    [
      'bert',
      { model_type: 'bert', hidden_size: 2048, num_attention_heads: 16, num_hidden_layers: 48 },
      /num_hidden_layers \(48\)/,
    ],
    ['t5', { model_type: 't5', vocab_size: 2 ** 22, d_model: 512 }, /vocab_size \(4194304\)/],
    ['bart', { model_type: 'bart', decoder_layers: 400 }, /decoder_layers \(400\)/],
  ])(
    '%s: a config too large for the engine is a ConfigError naming the field and the bytes, before any allocation',
    (type, json, field) => {
      const before = engine.memoryAvailableBytes;
      const config = parseConfig(json);
      let err: unknown;
      try {
        createModel(engine, config).dispose();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain(`${type} config needs `);
      expect(message).toMatch(field);
      expect(message).toMatch(/[\d,]+ bytes for its parameters/);
      expect(message).toContain('limit of 67,108,864 bytes');
      expect(engine.memoryAvailableBytes).toBe(before);
    },
  );

  it('the largest sizes a config may give are refused by the parser, naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { model_type: 'bert', num_labels: 2147483647 },
        /"num_labels": expected an integer ≥ 0 and ≤ 65,536, got number 2147483647/,
      ],
      [
        { model_type: 'gpt2', n_inner: 10000000 },
        /gpt2 field "n_inner": expected a positive integer ≤ 1,048,576, got number 10000000/,
      ],
      [
        { model_type: 'bert', num_hidden_layers: 2147483647 },
        /bert field "num_hidden_layers": expected a positive integer ≤ 4,096/,
      ],
      [
        { model_type: 't5', num_decoder_layers: 100000000 },
        /t5 field "num_decoder_layers": expected a positive integer ≤ 4,096/,
      ],
      [
        { model_type: 'bart', encoder_layers: 2147483648 },
        /bart field "encoder_layers": expected a positive integer ≤ 4,096/,
      ],
      [
        { model_type: 'gpt2', hidden_size: 2 ** 17, n_head: 1 },
        /gpt2 field "n_embd": expected a positive integer ≤ 65,536/,
      ],
      [{ model_type: 'bert', vocab_size: 2 ** 24 + 1 }, /"vocab_size": expected a positive integer ≤ 16,777,216/],
    ];
    for (const [json, message] of cases) expect(() => parseConfig(json)).toThrow(message);
    for (const [json] of cases) expect(() => parseConfig(json)).toThrow(ConfigError);
  });

  it('loadModel of a checkpoint whose config needs more than the engine has: a ConfigError, before anything is read into the engine', async () => {
    const small = createModel(engine, gpt());
    const dir = join(root, 'huge');
    await writeCheckpoint(dir, { config: small.config, tensors: small.hfTensors() });
    small.dispose();
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        model_type: 'gpt2',
        vocab_size: 19,
        n_positions: 9,
        n_embd: 4096,
        n_head: 32,
        n_layer: 48,
        bos_token_id: 0,
        eos_token_id: 0,
      }),
    );
    const before = engine.memoryAvailableBytes;
    await expect(loadModel(engine, dir)).rejects.toThrow(ConfigError);
    await expect(loadModel(engine, dir)).rejects.toThrow(
      /gpt2 config needs 38,[\d,]+ bytes for its parameters .* the largest part is n_layer \(48\) blocks/,
    );
    expect(engine.memoryAvailableBytes).toBe(before);
  });

  it('a checkpoint whose config describes more parameters than its weights hold is refused before the model is built', async () => {
    const small = createModel(engine, gpt());
    const dir = join(root, 'grown');
    await writeCheckpoint(dir, { config: small.config, tensors: small.hfTensors() });
    small.dispose();
    // the same weights under a config of 8 layers of 256: 25 MB, which the engine has room for
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        model_type: 'gpt2',
        vocab_size: 19,
        n_positions: 9,
        n_embd: 256,
        n_head: 4,
        n_layer: 8,
        bos_token_id: 0,
        eos_token_id: 0,
      }),
    );
    const before = engine.memoryAvailableBytes;
    await expect(loadModel(engine, dir)).rejects.toThrow(CheckpointError);
    await expect(loadModel(engine, dir)).rejects.toThrow(
      /config.json describes a gpt2 model of 6,3\d{2},\d{3} parameters, but its weights hold 4,128 values in all: the config does not describe these weights \(its largest part is n_layer \(8\) blocks/,
    );
    expect(engine.memoryAvailableBytes).toBe(before);
  });
});
