/**
 * The tiny GPT-2 that HF transformers 4.36.2 wrote (hf-internal-testing/tiny-random-gpt2): what a real
 * checkpoint looks like. Names carry the `transformer.` prefix of GPT2LMHeadModel; the LM head is tied to
 * transformer.wte.weight and not stored; Conv1D weights are [in, out] (c_attn is [n_embd, 3·n_embd]).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import { parseConfig, serializeConfig } from '../../src/io/config.js';
import { gpt2InnerDim } from '../../src/io/hf/index.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { fixtureDir } from './fixtures.js';

const dir = fixtureDir('hf-tiny-random-gpt2');

/** Every name and shape GPT2LMHeadModel saves for n_layer 5, n_embd 32, n_positions 512, vocab 1000. */
function expectedShapes(): Map<string, number[]> {
  const C = 32,
    F = 4 * C,
    L = 5;
  const m = new Map<string, number[]>();
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}.`;
    m.set(p + 'ln_1.weight', [C]).set(p + 'ln_1.bias', [C]);
    m.set(p + 'attn.c_attn.weight', [C, 3 * C]).set(p + 'attn.c_attn.bias', [3 * C]); // Conv1D: [in, out]
    m.set(p + 'attn.c_proj.weight', [C, C]).set(p + 'attn.c_proj.bias', [C]);
    m.set(p + 'ln_2.weight', [C]).set(p + 'ln_2.bias', [C]);
    m.set(p + 'mlp.c_fc.weight', [C, F]).set(p + 'mlp.c_fc.bias', [F]);
    m.set(p + 'mlp.c_proj.weight', [F, C]).set(p + 'mlp.c_proj.bias', [C]);
  }
  m.set('transformer.ln_f.weight', [C]).set('transformer.ln_f.bias', [C]);
  m.set('transformer.wte.weight', [1000, C]).set('transformer.wpe.weight', [512, C]);
  return m;
}

describe('HF tiny-random-gpt2 fixture', () => {
  const bytes = new Uint8Array(readFileSync(path.join(dir, 'model.safetensors')));
  const file = readSafetensors(bytes);

  it('has every tensor with the expected name and shape, all F32, transformer.-prefixed, no lm_head', () => {
    const expected = expectedShapes();
    expect(new Set(file.tensors.keys())).toEqual(new Set(expected.keys()));
    for (const [name, shape] of expected) {
      const t = file.tensors.get(name)!;
      expect(t.dtype, name).toBe('F32');
      expect(t.shape, name).toEqual(shape);
      expect(t.data.length, name).toBe(shape.reduce((a, d) => a * d, 1));
    }
    expect(file.tensors.has('lm_head.weight')).toBe(false); // tied to transformer.wte.weight
    expect(file.metadata).toEqual({ format: 'pt' });
  });

  it('holds finite weights, layer norms near 1 / 0 as initialised', () => {
    for (const t of file.tensors.values()) expect((t.data as Float32Array).every(Number.isFinite), t.name).toBe(true);
    expect(
      Array.from(file.tensors.get('transformer.ln_f.weight')!.data as Float32Array).every((v) => Math.abs(v - 1) < 0.5),
    ).toBe(true);
  });

  it('is rewritten byte for byte by writeSafetensors', () => {
    const names = [...file.tensors.keys()].reverse(); // input order must not matter
    const again = writeSafetensors(
      names.map((name) => {
        const t = file.tensors.get(name)!;
        return { name, shape: t.shape, data: t.data as Float32Array };
      }),
      file.metadata,
    );
    expect(Buffer.compare(Buffer.from(again), Buffer.from(bytes))).toBe(0);
  });

  it('has a config.json that parses with the right values and keeps unknown fields', () => {
    const raw = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const cfg = parseConfig(raw);
    if (cfg.model_type !== 'gpt2') throw new Error('expected gpt2');
    expect(cfg).toMatchObject({
      vocab_size: 1000,
      n_positions: 512,
      n_embd: 32,
      n_layer: 5,
      n_head: 4,
      n_inner: null,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      bos_token_id: 98,
      eos_token_id: 98,
      pad_token_id: 98,
      tie_word_embeddings: true,
      scale_attn_weights: true,
      architectures: ['GPT2LMHeadModel'],
      num_labels: 2,
    });
    expect(gpt2InnerDim(cfg)).toBe(128);
    // Fields GPT2Config does not have (left over from a BERT-style test config) are kept, not dropped.
    expect(cfg.extra).toMatchObject({
      n_ctx: 512,
      intermediate_size: 37,
      hidden_act: 'gelu',
      type_vocab_size: 16,
      transformers_version: '4.36.2',
      torch_dtype: 'float32',
      _name_or_path: 'hf-internal-testing/tiny-random-gpt2',
    });
    const out = serializeConfig(cfg);
    for (const [k, v] of Object.entries(raw)) expect(out[k], k).toEqual(v);
  });

  it('reads as a checkpoint folder with tokenizer and generation config', async () => {
    const ckpt = await readCheckpoint(dir);
    expect(ckpt.config.parsed.model_type).toBe('gpt2');
    expect(ckpt.tensors.tensors.size).toBe(64);
    expect(ckpt.tokenizer?.['model']).toMatchObject({ type: 'BPE' });
    expect(ckpt.generationConfig).toMatchObject({ bos_token_id: 98, eos_token_id: 98 });
  });
});
