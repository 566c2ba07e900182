import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, CheckpointError, ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/io/config.js';
import { type RobertaConfig } from '../../src/io/hf/index.js';
import { getFloat32, readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { loadModel } from '../../src/models/load.js';
import { Roberta } from '../../src/models/roberta.js';
import { Engine } from '../../src/tensor/engine.js';
import { expectBitIdentical, expectClose } from '../util/check.js';
import { twinAccuracy } from '../util/mlm-twins.js';
import { expectModelGradients } from '../util/gradcheck.js';
import { createPositionIds, robertaRef, type RobertaRefHead } from '../ref/roberta.js';

const V = 37;
const PAD = 1;

function config(architecture: string, over: Record<string, unknown> = {}): RobertaConfig {
  return parseConfig({
    model_type: 'roberta',
    architectures: [architecture],
    vocab_size: V,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 24,
    max_position_embeddings: 20,
    type_vocab_size: 1,
    layer_norm_eps: 1e-5,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    ...over,
  }) as RobertaConfig;
}

const LABELS = { id2label: { 0: 'A', 1: 'B', 2: 'C' } };
const HEADS: [RobertaRefHead, string, Record<string, unknown>][] = [
  ['masked-lm', 'RobertaForMaskedLM', {}],
  ['sequence-classification', 'RobertaForSequenceClassification', LABELS],
  ['token-classification', 'RobertaForTokenClassification', LABELS],
];

/** Ids in [3, V): never <s> (0), <pad> (1) or </s> (2). */
const ids = (n: number, seed: number) => {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), 3 + (s % (V - 3))));
};

/** Every parameter random (norm weights around 1): no name or layout mistake hides behind a zero or a one. */
function randomize(m: Roberta, seed: number): void {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32 - 0.5);
  for (const [name, t] of m.namedParameters())
    t.set(Float32Array.from({ length: t.size }, () => (/norm/.test(name) && name.endsWith('weight') ? 1 : 0) + rnd()));
}

describe('RoBERTa', () => {
  let e: Engine;
  let dir: string;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
    dir = await mkdtemp(join(tmpdir(), 'simdformer-roberta-'));
  });
  afterAll(async () => {
    await e.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (m: Roberta, inputIds: number[][], attentionMask?: number[][]) => {
    const out = e.noGrad(() => m.forward({ inputIds, attentionMask }).logits.toArray());
    e.endStep();
    return out;
  };

  it('position ids count the non-padding tokens from pad_token_id + 1, as create_position_ids_from_input_ids', () => {
    expect(createPositionIds([0, 5, 6, 2, 1, 1], 1)).toEqual([2, 3, 4, 5, 1, 1]);
    expect(createPositionIds([1, 1, 0, 5, 2], 1)).toEqual([1, 1, 2, 3, 4]);
    // the model's own ids, through a subclass that exposes them
    class Open extends Roberta {
      ids(inputIds: number[], T: number) {
        return Array.from(this.positionIds({ inputIds: Int32Array.from(inputIds), B: inputIds.length / T, T }));
      }
    }
    const m = new Open(e, config('RobertaForMaskedLM'), 1);
    expect(m.ids([0, 5, 6, 2, 1, 1, 1, 1, 0, 5, 2, 1], 6)).toEqual([2, 3, 4, 5, 1, 1, 1, 1, 2, 3, 4, 1]);
    m.dispose();
  });

  for (const [head, architecture, over] of HEADS) {
    it(`${architecture}: logits match a float64 forward written from modeling_roberta.py, reading the saved tensors by name`, async () => {
      const m = new Roberta(
        e,
        config(architecture, { hidden_act: head === 'masked-lm' ? 'gelu_new' : 'gelu', ...over }),
        2,
      );
      randomize(m, 77);
      const out = join(dir, `ref-${head}`);
      await m.save(out);
      const st = readSafetensors(await readFile(join(out, 'model.safetensors')));
      const get = (n: string) => {
        if (!st.tensors.has(n)) throw new Error(`no ${n} in the checkpoint`);
        return Float64Array.from(getFloat32(st, n));
      };
      // a full row and a right-padded one: <s> … </s> <pad> <pad> <pad>
      const rows = [
        [0, ...ids(7, 3), 2],
        [0, ...ids(4, 4), 2, PAD, PAD, PAD],
      ];
      const masks = rows.map((r) => r.map((id) => (id === PAD ? 0 : 1)));
      const got = run(m, rows, masks);
      const K = head === 'masked-lm' ? V : 3;
      const per = head === 'sequence-classification' ? K : 9 * K;
      rows.forEach((r, b) => {
        const want = robertaRef(get, m.config, r, masks[b]!, head);
        const n = head === 'sequence-classification' ? K : r.filter((id) => id !== PAD).length * K;
        expectClose(got.subarray(b * per, b * per + n), want.subarray(0, n), 1e-4, 1e-4, `row ${b}`);
      });
      m.dispose();
    });
  }

  it('left- and right-padded batches give the same outputs for the real tokens, and the same as each row alone', () => {
    const m = new Roberta(e, config('RobertaForTokenClassification', LABELS), 3);
    randomize(m, 5);
    const a = [0, ...ids(6, 9), 2];
    const b = [0, ...ids(3, 10), 2];
    const pad = (r: number[], n: number, left: boolean) => {
      const p = new Array<number>(n - r.length).fill(PAD);
      return left ? [...p, ...r] : [...r, ...p];
    };
    const mask = (r: number[]) => r.map((id) => (id === PAD ? 0 : 1));
    const right = [a, pad(b, 8, false)];
    const left = [a, pad(b, 8, true)];
    const outRight = run(m, right, right.map(mask));
    const outLeft = run(m, left, left.map(mask));
    const alone = run(m, [b]);
    const real = (out: Float32Array, from: number) => out.subarray((8 + from) * 3, (8 + from + 5) * 3);
    expectClose(real(outRight, 0), alone, 1e-5, 1e-5, 'right-padded row against the row alone');
    expectClose(real(outLeft, 3), alone, 1e-5, 1e-5, 'left-padded row against the row alone');
    expectBitIdentical(outRight.subarray(0, 8 * 3), outLeft.subarray(0, 8 * 3), 'the unpadded row');
    m.dispose();
  });

  it('a row longer than the positions allow (max_position_embeddings − pad_token_id − 1) is an ArgumentError', () => {
    const m = new Roberta(e, config('RobertaForMaskedLM'), 4);
    expect(m.maxLength).toBe(18);
    expect(() => run(m, [[0, ...ids(16, 1), 2]])).not.toThrow();
    expect(() => run(m, [[0, ...ids(17, 1), 2]])).toThrow(ArgumentError);
    expect(() => run(m, [[0, ...ids(17, 1), 2]])).toThrow(/at most 18 fit/);
    // padding does not count
    expect(() => run(m, [[0, ...ids(16, 1), 2, PAD, PAD, PAD]])).not.toThrow();
    m.dispose();
  });

  it('checkpoints round-trip by the Hugging Face names; a file with the tied decoder, a pooler and buffers loads', async () => {
    for (const [head, architecture, over] of HEADS) {
      const m = new Roberta(e, config(architecture, over), 6);
      randomize(m, 11);
      const out = join(dir, `trip-${head}`);
      await m.save(out);
      const st = readSafetensors(await readFile(join(out, 'model.safetensors')));
      const names = [...st.tensors.keys()];
      const want = {
        'masked-lm': ['lm_head.dense.weight', 'lm_head.layer_norm.bias', 'lm_head.bias'],
        'sequence-classification': [
          'classifier.dense.weight',
          'classifier.out_proj.weight',
          'classifier.out_proj.bias',
        ],
        'token-classification': ['classifier.weight', 'classifier.bias'],
      }[head];
      for (const n of [
        'roberta.embeddings.word_embeddings.weight',
        'roberta.embeddings.position_embeddings.weight',
        'roberta.embeddings.token_type_embeddings.weight',
        'roberta.embeddings.LayerNorm.weight',
        'roberta.encoder.layer.1.attention.self.value.bias',
        'roberta.encoder.layer.0.output.LayerNorm.weight',
        ...want,
      ])
        expect(names).toContain(n);
      expect(names.some((n) => /pooler|cls\.|nsp|bert\./.test(n))).toBe(false);
      expect(st.tensors.get('roberta.embeddings.token_type_embeddings.weight')!.shape).toEqual([1, 16]);
      const cfg = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
      expect(cfg).toMatchObject({ model_type: 'roberta', architectures: [architecture], pad_token_id: 1 });
      const back = await loadModel(e, out);
      expect(back).toBeInstanceOf(Roberta);
      expect((back as Roberta).task).toBe(head);
      const input = [[0, ...ids(9, 2), 2]];
      expectBitIdentical(run(back as Roberta, input), run(m, input), `${head} logits after a save and load`);
      back.dispose();
      m.dispose();
    }
    // what transformers writes beside the weights: the tied decoder, RobertaModel's pooler, position_ids
    const src = join(dir, 'trip-masked-lm');
    const st = readSafetensors(await readFile(join(src, 'model.safetensors')));
    const tensors = [...st.tensors.keys()].map((n) => ({
      name: n,
      shape: st.tensors.get(n)!.shape,
      data: getFloat32(st, n),
    }));
    const word = tensors.find((t) => t.name === 'roberta.embeddings.word_embeddings.weight')!;
    const extra = join(dir, 'hf-style');
    await rm(extra, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(extra);
    await writeFile(join(extra, 'config.json'), await readFile(join(src, 'config.json')));
    await writeFile(
      join(extra, 'model.safetensors'),
      writeSafetensors([
        ...tensors,
        { ...word, name: 'lm_head.decoder.weight' },
        { name: 'lm_head.decoder.bias', shape: [V], data: new Float32Array(V) },
        { name: 'roberta.pooler.dense.weight', shape: [16, 16], data: new Float32Array(256) },
        { name: 'roberta.pooler.dense.bias', shape: [16], data: new Float32Array(16) },
        { name: 'roberta.embeddings.position_ids', shape: [1, 20], data: new Float32Array(20) },
      ]),
    );
    const loaded = await loadModel(e, extra);
    loaded.dispose();
    // a tensor of another family is not silently dropped
    await writeFile(
      join(extra, 'model.safetensors'),
      writeSafetensors([
        ...tensors,
        { name: 'cls.seq_relationship.weight', shape: [2, 16], data: new Float32Array(32) },
      ]),
    );
    await expect(loadModel(e, extra)).rejects.toThrow(CheckpointError);
  });

  it("a masked-LM checkpoint's body loads under a new classification head (fine-tuning)", async () => {
    const mlm = new Roberta(e, config('RobertaForMaskedLM'), 8);
    randomize(mlm, 13);
    const out = join(dir, 'body');
    await mlm.save(out);
    const st = readSafetensors(await readFile(join(out, 'model.safetensors')));
    const cls = new Roberta(e, config('RobertaForSequenceClassification', LABELS), 9);
    cls.loadHF(
      (n) => (st.tensors.has(n) ? { shape: st.tensors.get(n)!.shape, data: getFloat32(st, n) } : undefined),
      [...st.tensors.keys()],
      true,
    );
    expectBitIdentical(cls.word.weight.toArray(), mlm.word.weight.toArray(), 'word embeddings');
    expect(cls.classificationHead().length).toBe(2);
    cls.dispose();
    mlm.dispose();
  });

  it("config.json defaults are RobertaConfig's: vocabulary 50,265, pad 1, bos 0, eos 2; BertConfig's others", () => {
    const c = parseConfig({ model_type: 'roberta' }) as RobertaConfig;
    expect(c).toMatchObject({
      vocab_size: 50265,
      pad_token_id: 1,
      bos_token_id: 0,
      eos_token_id: 2,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
    });
    expect(() => parseConfig({ model_type: 'roberta', max_position_embeddings: 2 })).toThrow(ConfigError);
    expect(() => parseConfig({ model_type: 'roberta', architectures: ['RobertaForPreTraining'] })).not.toThrow();
    expect(() => new Roberta(e, config('RobertaForPreTraining'))).toThrow(
      /RoBERTa architecture RobertaForPreTraining is not supported/,
    );
  });

  it('gradients of the sequence-classification and masked-LM losses against finite differences', () => {
    const batch = {
      inputIds: Int32Array.from([0, 5, 9, 2, 0, 7, 2, 1]),
      attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0]),
      B: 2,
      T: 4,
    };
    const small = { hidden_size: 8, intermediate_size: 16, vocab_size: 12 };
    const c = new Roberta(e, config('RobertaForSequenceClassification', { ...small, ...LABELS }), 10);
    expectModelGradients(
      e,
      c,
      () => c.loss({ ...batch, labels: Int32Array.from([2, 0]) }),
      [
        'embeddings.word.weight',
        'embeddings.position.weight',
        'layer.1.attn.qkv.weight',
        'pooler.weight',
        'classifier.bias',
      ],
      1e-3,
    );
    c.dispose();
    const m = new Roberta(e, config('RobertaForMaskedLM', small), 11);
    expectModelGradients(
      e,
      m,
      () => m.loss({ ...batch, labels: Int32Array.from([-100, 5, -100, -100, -100, 7, -100, -100]) }),
      ['embeddings.word.weight', 'mlm.transform.weight', 'mlm.norm.weight', 'mlm.bias'],
      1e-3,
    );
    m.dispose();
  });

  it('the masked LM learns to use context: on doubled tokens it predicts a masked token from its twin', () => {
    const m = new Roberta(
      e,
      config('RobertaForMaskedLM', {
        hidden_size: 32,
        num_attention_heads: 4,
        intermediate_size: 64,
        max_position_embeddings: 24,
      }),
      7,
    );
    expect(twinAccuracy(m, { V, lo: 3, maskId: 2 })).toBeGreaterThan(0.9);
    m.dispose();
  });
});
