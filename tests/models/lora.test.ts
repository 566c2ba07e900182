import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError, ArgumentError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { GPT } from '../../src/models/gpt.js';
import { applyLora, DEFAULT_LORA_TARGETS } from '../../src/models/lora.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadLora, saveLora } from '../../src/models/peft.js';
import { createModel, type PretrainedModel } from '../../src/models/registry.js';
import { Rng } from '../../src/rng.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { expectClose } from '../util/check.js';
import { tinyBart, tinyT5 } from '../util/seq2seq-configs.js';
import { tinyGptBatch, tinyGptConfig } from '../util/tiny-gpt.js';

const encoder = (model_type: string, architecture: string) =>
  parseConfig({
    model_type,
    architectures: [architecture],
    vocab_size: 41,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 24,
    max_position_embeddings: 24,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    id2label: { 0: 'a', 1: 'b', 2: 'c' },
  });

/**
 * Each family with the PEFT names its default targets give (checked against PEFT's source: `base_model.model.`
 * + the module's name in the transformers model + `.lora_A.weight` / `.lora_B.weight`, shapes [r, in] and
 * [out, r]), for r = 4; the tiny models' widths: gpt2 16 (c_attn 48), llama 24 (q 24, v 2 heads of 6 = 12).
 */
const FAMILIES: { name: string; config: () => unknown; expected: Record<string, number[]> }[] = [
  {
    name: 'gpt2',
    config: tinyGptConfig,
    expected: {
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': [4, 16],
      'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight': [48, 4],
    },
  },
  {
    name: 'llama',
    config: () =>
      parseConfig({
        model_type: 'llama',
        vocab_size: 37,
        hidden_size: 24,
        intermediate_size: 40,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        max_position_embeddings: 32,
        bos_token_id: null,
        eos_token_id: null,
      }),
    expected: {
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': [4, 24],
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': [24, 4],
      'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight': [12, 4],
    },
  },
  {
    name: 'bert (sequence classification)',
    config: () => encoder('bert', 'BertForSequenceClassification'),
    expected: {
      'base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight': [4, 16],
      'base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight': [16, 4],
      'base_model.model.classifier.weight': [3, 16],
      'base_model.model.classifier.bias': [3],
    },
  },
  {
    name: 'roberta (sequence classification)',
    config: () => encoder('roberta', 'RobertaForSequenceClassification'),
    expected: {
      'base_model.model.roberta.encoder.layer.0.attention.self.query.lora_A.weight': [4, 16],
      'base_model.model.roberta.encoder.layer.0.attention.self.value.lora_B.weight': [16, 4],
      'base_model.model.classifier.dense.weight': [16, 16],
      'base_model.model.classifier.out_proj.weight': [3, 16],
    },
  },
  {
    name: 't5',
    config: () => tinyT5(),
    expected: {
      'base_model.model.encoder.block.0.layer.0.SelfAttention.q.lora_A.weight': [4, 16],
      'base_model.model.decoder.block.1.layer.0.SelfAttention.v.lora_B.weight': [16, 4],
      'base_model.model.decoder.block.0.layer.1.EncDecAttention.q.lora_A.weight': [4, 16],
      'base_model.model.decoder.block.0.layer.1.EncDecAttention.v.lora_B.weight': [16, 4],
    },
  },
  {
    name: 'bart',
    config: () => tinyBart(),
    expected: {
      'base_model.model.model.encoder.layers.0.self_attn.q_proj.lora_A.weight': [4, 16],
      'base_model.model.model.decoder.layers.1.self_attn.v_proj.lora_B.weight': [16, 4],
      'base_model.model.model.decoder.layers.0.encoder_attn.v_proj.lora_B.weight': [16, 4],
    },
  },
];

const IDS = [
  [3, 7, 11, 4, 9, 15],
  [5, 12, 6, 18, 3, 8],
];

/** The model's logits on IDS (seq2seq: the same ids as decoder inputs), in eval mode, with no tape. */
function logits(e: Engine, model: PretrainedModel): Float32Array {
  model.train(false);
  const out = e.noGrad(() =>
    model.kind === 'seq2seq'
      ? model.forward({ inputIds: IDS, decoderInputIds: IDS }).logits.toArray()
      : model.forward({ inputIds: IDS }).logits.toArray(),
  );
  e.endStep();
  return out;
}

/** Fills every lora_B with random values (a new adapter's B is zero: its update would be nothing). */
function randomizeB(lora: ReturnType<typeof applyLora>, seed: number): void {
  const rng = new Rng(seed);
  for (const a of lora.adapters.values()) a.B.set(Float32Array.from({ length: a.B.size }, () => rng.normal() * 0.3));
}

const snapshot = (model: PretrainedModel) => new Map([...model.namedParameters()].map(([n, t]) => [n, t.toArray()]));

describe('LoRA on every family: PEFT names, save/load round trip, merge', () => {
  let e: Engine;
  let dir: string;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
    dir = await mkdtemp(join(tmpdir(), 'lora-'));
  });
  afterAll(async () => {
    await e.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  for (const f of FAMILIES) {
    it(`${f.name}: default targets, names and shapes; saved, loaded onto a fresh base, merged`, async () => {
      const config = f.config() as Parameters<typeof createModel>[1];
      const model = createModel(e, config, 1);
      const base = logits(e, model);
      const lora = applyLora(model, { r: 4, alpha: 8, seed: 2 });
      const named = lora.namedParameters();
      for (const [name, shape] of Object.entries(f.expected)) expect(named.get(name)?.shape, name).toEqual(shape);
      expect(lora.settings.targetModules).toEqual(DEFAULT_LORA_TARGETS[config.model_type]);
      for (const [n, t] of model.namedParameters())
        expect(t.requiresGrad, n).toBe([...lora.saved.values()].includes(t));
      // A new adapter (B = 0) changes nothing; a trained one (random B) does
      expect(logits(e, model)).toEqual(base);
      randomizeB(lora, 3);
      const adapted = logits(e, model);
      expect(adapted).not.toEqual(base);

      const out = join(dir, f.name.split(' ')[0]!);
      await saveLora(lora, out, { baseModel: 'tiny' });
      const cfg = JSON.parse(await readFile(join(out, ADAPTER_CONFIG), 'utf8'));
      expect(cfg).toMatchObject({
        peft_type: 'LORA',
        r: 4,
        lora_alpha: 8,
        lora_dropout: 0,
        bias: 'none',
        base_model_name_or_path: 'tiny',
        fan_in_fan_out: config.model_type === 'gpt2',
        target_modules: DEFAULT_LORA_TARGETS[config.model_type],
      });
      const file = readSafetensors(await readFile(join(out, ADAPTER_WEIGHTS)));
      expect([...file.tensors.keys()].sort()).toEqual([...named.keys()].sort());

      // onto a fresh copy of the base model (same seed: same base weights)
      const fresh = createModel(e, config, 1);
      const loaded = await loadLora(fresh, out);
      expect([...loaded.namedParameters().keys()].sort()).toEqual([...named.keys()].sort());
      expectClose(logits(e, fresh), adapted, 0, 0, 'loaded adapter: the same logits');

      // merged: an ordinary model, equal to base + adapters within float rounding
      loaded.merge();
      expect(
        [...fresh.namedModules().values()].every((m) => !('adapters' in m) || (m.adapters as []).length === 0),
      ).toBe(true);
      expectClose(logits(e, fresh), adapted, 1e-4, 1e-5, 'merged');
      model.dispose();
      fresh.dispose();
    });
  }

  it('refuses an adapter that does not fit its base: wrong r, unknown target, stray tensor, not LoRA', async () => {
    const config = tinyGptConfig();
    const model = createModel(e, config, 1);
    const lora = applyLora(model, { r: 4 });
    const out = join(dir, 'bad');
    await saveLora(lora, out);
    lora.unload();
    const cfgText = await readFile(join(out, ADAPTER_CONFIG), 'utf8');
    const weights = await readFile(join(out, ADAPTER_WEIGHTS));
    const withConfig = async (over: Record<string, unknown>) => {
      await writeFile(join(out, ADAPTER_CONFIG), JSON.stringify({ ...JSON.parse(cfgText), ...over }));
      return loadLora(model, out);
    };
    await expect(withConfig({ r: 8 })).rejects.toThrow(/has shape \[4, 16\], expected \[8, 16\]/);
    await expect(withConfig({ target_modules: ['q_proj'] })).rejects.toThrow(AdapterError);
    await expect(withConfig({ peft_type: 'IA3' })).rejects.toThrow(/peft_type/);
    await expect(withConfig({ bias: 'all' })).rejects.toThrow(AdapterError);
    await expect(withConfig({ use_dora: true })).rejects.toThrow(AdapterError);
    // c_attn and c_proj: the file lacks c_proj's tensors
    await expect(withConfig({ target_modules: ['c_attn', 'c_proj'] })).rejects.toThrow(/lacks .*c_proj\.lora_A/);
    await writeFile(join(out, ADAPTER_CONFIG), cfgText);
    const st = readSafetensors(weights);
    const tensors = [...st.tensors.keys()].map((name) => ({
      name,
      shape: st.tensors.get(name)!.shape,
      data: new Float32Array(st.tensors.get(name)!.shape.reduce((a, b) => a * b, 1)),
    }));
    tensors.push({
      name: 'base_model.model.transformer.h.9.attn.c_attn.lora_A.weight',
      shape: [4, 16],
      data: new Float32Array(64),
    });
    await writeFile(join(out, ADAPTER_WEIGHTS), writeSafetensors(tensors));
    await expect(loadLora(model, out)).rejects.toThrow(/does not use: .*h\.9/);
    // the failed loads left no adapter behind
    expect([...model.namedModules().values()].some((m) => 'adapters' in m && (m.adapters as []).length > 0)).toBe(
      false,
    );
    expect(() => applyLora(model, { targetModules: ['q_proj'] })).toThrow(/c_attn/);
    expect(() => applyLora(model, { r: 0 })).toThrow(ArgumentError);
    model.dispose();
  });

  it('a LoRA fine-tune steps only the adapters: the loss falls, base weights stay bit-identical, AdamW state only for adapters', () => {
    const model = new GPT(e, tinyGptConfig(), 4);
    // a pre-trained model's embeddings are far from init scale (std 0.02, which would leave the frozen tied
    // head logits of ±0.1 at most): std 0.5 here; the task, a fixed map of each token to a label
    model.wte.weight.set(model.wte.weight.toArray().map((v) => v * 25));
    const batch = tinyGptBatch(7);
    batch.labels = batch.inputIds.map((id) => (id * 3 + 1) % 29);
    const before = snapshot(model);
    const lora = applyLora(model, { r: 4, alpha: 16, dropout: 0.1, targetModules: ['c_attn', 'c_fc'] });
    const trainer = new Trainer(lora.trainable(model), { lr: 1e-2, totalSteps: 40, weightDecay: 0 });
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) losses.push(trainer.step(batch).loss);
    expect(losses[39]!).toBeLessThan(losses[0]! * 0.6); // measured: 7.38 → 3.10
    for (const [n, t] of model.namedParameters()) {
      expect(t.toArray(), n).toEqual(before.get(n));
      expect(t.grad, `${n} has no gradient buffer`).toBeNull();
    }
    const state = new Set(trainer.stateArrays().map((a) => a.name.replace(/\.(exp_avg|exp_avg_sq|step)$/, '')));
    expect([...state].sort()).toEqual([...lora.namedParameters().keys()].sort());
    expect(state.size).toBe(2 * 2 * 2); // 2 layers × (c_attn, c_fc) × (A, B)
    model.dispose();
    trainer.dispose();
  });
});
