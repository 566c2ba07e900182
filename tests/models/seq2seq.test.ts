import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError, TokenIdError } from '../../src/errors.js';
import { beamSearch } from '../../src/generate/beam.js';
import { getFloat32, readSafetensors } from '../../src/io/safetensors.js';
import { bartRef, t5Ref } from '../ref/seq2seq.js';
import { Bart } from '../../src/models/bart.js';
import { asSeq2Seq, loadModel } from '../../src/models/load.js';
import type { EncoderDecoder } from '../../src/models/seq2seq.js';
import { T5 } from '../../src/models/t5.js';
import { relativePositionBucket } from '../../src/nn/relative-position.js';
import { Engine } from '../../src/tensor/engine.js';
import { Trainer } from '../../src/train/trainer.js';
import { expectBitIdentical, expectClose } from '../util/check.js';
import { tinyBart, tinyT5 } from '../util/seq2seq-configs.js';

const V = 23;

function ids(n: number, seed: number, lo = 3): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), lo + (s % (V - lo))));
}

const FAMILIES: [string, (e: Engine, seed: number) => EncoderDecoder][] = [
  ['T5 (ReLU, tied head)', (e, s) => new T5(e, tinyT5(), s)],
  [
    'T5 v1.1 (gated-GELU, untied head, heads × d_kv ≠ d_model, 3 decoder layers)',
    (e, s) =>
      new T5(
        e,
        tinyT5({ feed_forward_proj: 'gated-gelu', tie_word_embeddings: false, d_kv: 6, num_decoder_layers: 3 }),
        s,
      ),
  ],
  ['BART', (e, s) => new Bart(e, tinyBart(), s)],
];

describe('T5 relative position buckets', () => {
  it('match the bucketing of T5Attention._relative_position_bucket', () => {
    // bidirectional, 32 buckets, max distance 128 (T5's defaults): 16 per side, 8 exact, then log-spaced
    const bi = (r: number) => relativePositionBucket(r, true, 32, 128);
    expect([0, -1, -7, 1, 7].map(bi)).toEqual([0, 1, 7, 17, 23]);
    // r = 8…127 → 8 + ⌊log(r/8)/log(16)·8⌋, capped at 15
    expect([-8, -11, -12, -16, -32, -64, -127, -128, -1000].map(bi)).toEqual([8, 8, 9, 10, 12, 14, 15, 15, 15]);
    expect([8, 16, 1000].map(bi)).toEqual([24, 26, 31]);
    // causal (decoder): only keys at or before the query; keys after it all read bucket 0
    const uni = (r: number) => relativePositionBucket(r, false, 32, 128);
    expect([0, 3, -1, -15, -16, -32, -127, -500].map(uni)).toEqual([0, 0, 1, 15, 16, 21, 31, 31]);
  });
});

describe('encoder-decoder models', () => {
  let e: Engine;
  beforeAll(async () => {
    e = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e.dispose();
  });

  const logitsOf = (m: EncoderDecoder, src: number[][], dec: number[][], mask?: number[][]) => {
    const out = e.noGrad(() => {
      const r = m.forward({ inputIds: src, attentionMask: mask, decoderInputIds: dec });
      return { logits: r.logits.toArray(), memory: r.encoderLastHiddenState.toArray() };
    });
    e.endStep();
    return out;
  };

  for (const [name, make] of FAMILIES) {
    describe(name, () => {
      it('a source whose mask is all 0 (nothing for cross-attention to see): its labels are not counted', () => {
        const m = make(e, 5);
        const src = ids(6, 3);
        const target = ids(5, 4);
        const one = e.noGrad(() => m.forward({ inputIds: [src], labels: [target] }).loss!);
        e.endStep();
        const both = e.noGrad(
          () =>
            m.forward({
              inputIds: [src, ids(6, 5)],
              attentionMask: [src.map(() => 1), src.map(() => 0)],
              labels: [target, ids(5, 6)],
            }).loss!,
        );
        e.endStep();
        expectClose([both], [one], 1e-6, 0, 'loss');
        const batch = m.batch([
          { source: src, target },
          { source: [], target: ids(5, 6) },
        ]);
        expectClose([m.heldOutLoss([batch])], [one], 1e-6, 0, 'held-out loss');
        e.endStep();
        m.dispose();
      });

      it('the decoder at step t is unaffected by target tokens after t; the encoder by the decoder input', () => {
        const m = make(e, 1);
        const src = [ids(9, 1)];
        const a = ids(12, 2);
        const b = [...a.slice(0, 5), ...ids(7, 77)];
        const ra = logitsOf(m, src, [a]);
        const rb = logitsOf(m, src, [b]);
        expectBitIdentical(ra.logits.subarray(0, 5 * V), rb.logits.subarray(0, 5 * V), 'positions before the change');
        expect(ra.logits.subarray(5 * V, 6 * V)).not.toEqual(rb.logits.subarray(5 * V, 6 * V));
        expectBitIdentical(ra.memory, rb.memory, 'encoder output');
        m.dispose();
      });

      it('changing the source changes every decoder position through cross-attention; source padding is masked', () => {
        const m = make(e, 2);
        const dec = [ids(6, 3)];
        const src = ids(8, 4);
        const base = logitsOf(m, [src], dec).logits;
        const changed = logitsOf(m, [[...src.slice(0, 7), ((src[7]! + 1 - 3) % (V - 3)) + 3]], dec).logits;
        for (let t = 0; t < 6; t++)
          expect(changed.subarray(t * V, (t + 1) * V)).not.toEqual(base.subarray(t * V, (t + 1) * V));
        // the same source padded to 11 with two different fillers: the same logits
        const mask = [[...new Array(8).fill(1), 0, 0, 0]];
        const p1 = logitsOf(m, [[...src, 5, 6, 7]], dec, mask).logits;
        const p2 = logitsOf(m, [[...src, 9, 3, 4]], dec, mask).logits;
        expectBitIdentical(p1, p2, 'padded sources');
        if (m instanceof T5) expectClose(p1, base, 1e-5, 1e-5, 'padded vs unpadded');
        m.dispose();
      });

      it('KV-cached decoding gives the logits of a full decoder pass at every step', () => {
        const m = make(e, 3);
        const src = ids(7, 5);
        const dec = ids(10, 6);
        const full = logitsOf(m, [src], [dec]).logits;
        const { memoryKV, memory } = e.noGrad(() => {
          const memory = m.encode(Int32Array.from(src), 1, 7);
          return { memory, memoryKV: m.projectMemory(memory) };
        });
        expect(memory.shape).toEqual([1, 7, m instanceof T5 ? m.config.d_model : 16]);
        const caches = m.newCaches(1, 10);
        let pos = 0;
        for (const chunk of [dec.slice(0, 3), ...dec.slice(3).map((t) => [t])]) {
          const logits = e.noGrad(() =>
            m.head(m.decode(Int32Array.from(chunk), 1, chunk.length, memoryKV, { start: pos, caches })).toArray(),
          );
          expectClose(logits, full.subarray(pos * V, (pos + chunk.length) * V), 1e-5, 1e-5, `positions ${pos}…`);
          pos += chunk.length;
        }
        e.endStep();
        for (const c of caches) {
          c.k.dispose();
          c.v.dispose();
        }
        m.dispose();
      });

      it('labels are shifted right into decoder inputs, -100 ignored; the loss is the mean over labelled positions', () => {
        const m = make(e, 4);
        const src = [ids(5, 7), ids(5, 8)];
        const labels = [ids(4, 9), [...ids(2, 10), -100, -100]];
        const dec = m.shiftRight(Int32Array.from(labels.flat()), 2, 4);
        expect([...dec]).toEqual([
          m.decoderStartId,
          ...labels[0]!.slice(0, 3),
          m.decoderStartId,
          ...labels[1]!.slice(0, 2),
          m.padId,
        ]);
        const r = e.noGrad(() => m.forward({ inputIds: src, labels }));
        const logits = r.logits.toArray();
        let sum = 0;
        let n = 0;
        labels.flat().forEach((y, p) => {
          if (y < 0) return;
          const row = logits.subarray(p * V, (p + 1) * V);
          const max = Math.max(...row);
          sum += max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) - row[y]!;
          n++;
        });
        expect(r.loss).toBeCloseTo(sum / n, 5);
        e.endStep();
        // label smoothing: the training loss mixes in the mean of −log p over the vocabulary; held-out stays plain
        const b = m.batch(src.map((source, i) => ({ source, target: labels[i]!.filter((y) => y >= 0) })));
        let smooth = 0;
        labels.flat().forEach((y, p) => {
          if (y < 0) return;
          const row = logits.subarray(p * V, (p + 1) * V);
          const max = Math.max(...row);
          const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
          smooth += 0.8 * (lse - row[y]!) + (0.2 / V) * row.reduce((s, x) => s + lse - x, 0);
        });
        m.train(true);
        expect(e.noGrad(() => m.loss(b, { labelSmoothing: 0.2 }).item())).toBeCloseTo(smooth / n, 5);
        e.endStep();
        expect(m.heldOutLoss([b])).toBeCloseTo(sum / n, 5);
        m.dispose();
      });

      it('saves with the Hugging Face names and loads back the same model (loadModel picks the family)', async () => {
        const m = make(e, 5);
        const dir = await mkdtemp(join(tmpdir(), 'sf-s2s-'));
        try {
          await m.save(dir);
          const st = readSafetensors(
            new Uint8Array(await (await import('node:fs/promises')).readFile(join(dir, 'model.safetensors'))),
          );
          const names = [...st.tensors.keys()];
          if (m instanceof T5) {
            expect(names).toContain('shared.weight');
            expect(names).toContain('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
            expect(names).toContain('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
            expect(names).not.toContain('encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight');
            expect(names).toContain('decoder.block.1.layer.1.EncDecAttention.k.weight');
            expect(names).toContain('decoder.final_layer_norm.weight');
            if (m.config.feed_forward_proj === 'gated-gelu') {
              expect(names).toContain('decoder.block.2.layer.2.DenseReluDense.wi_0.weight');
              expect(names).toContain('lm_head.weight');
              expect(st.tensors.get('encoder.block.0.layer.0.SelfAttention.q.weight')!.shape).toEqual([24, 16]);
            } else {
              expect(names).toContain('encoder.block.1.layer.1.DenseReluDense.wi.weight');
              expect(names).not.toContain('lm_head.weight');
            }
          } else {
            expect(names).toContain('model.shared.weight');
            expect(st.tensors.get('model.encoder.embed_positions.weight')!.shape).toEqual([34, 16]);
            expect(names).toContain('model.decoder.layernorm_embedding.bias');
            expect(names).toContain('model.decoder.layers.1.encoder_attn.v_proj.bias');
            expect(names).toContain('model.encoder.layers.0.final_layer_norm.weight');
            expect(st.tensors.get('final_logits_bias')!.shape).toEqual([1, V]);
          }
          const back = asSeq2Seq(await loadModel(e, dir));
          expect(back.constructor).toBe(m.constructor);
          const src = [ids(6, 11)];
          const dec = [ids(5, 12)];
          expectBitIdentical(
            logitsOf(back, src, dec).logits,
            logitsOf(m, src, dec).logits,
            'logits after the round trip',
          );
          back.dispose();
        } finally {
          await rm(dir, { recursive: true, force: true });
          m.dispose();
        }
      });

      it('logits match a float64 forward written from the Hugging Face modeling code, reading the saved tensors by name', async () => {
        const m = make(e, 9);
        // every parameter random (norm weights around 1), so no name or layout mistake can hide behind a zero or a one
        let seed = 77;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0), seed / 2 ** 32 - 0.5);
        for (const [name, t] of m.namedParameters())
          t.set(
            Float32Array.from(
              { length: t.size },
              () => (/norm|layer_norm/.test(name) && name.endsWith('weight') ? 1 : 0) + 0.8 * rnd(),
            ),
          );
        const dir = await mkdtemp(join(tmpdir(), 'sf-s2s-ref-'));
        try {
          await m.save(dir);
          const st = readSafetensors(
            new Uint8Array(await (await import('node:fs/promises')).readFile(join(dir, 'model.safetensors'))),
          );
          const get = (n: string) => {
            if (!st.tensors.has(n)) throw new Error(`no ${n} in the checkpoint`);
            return Float64Array.from(getFloat32(st, n));
          };
          const srcs = [ids(7, 41), [...ids(4, 42), 0, 0, 0]];
          const masks = [
            [1, 1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 0, 0, 0],
          ];
          const decs = [ids(5, 43), ids(5, 44)];
          const got = logitsOf(m, srcs, decs, masks).logits;
          for (let b = 0; b < 2; b++) {
            const want =
              m instanceof T5
                ? t5Ref(get, m.config, srcs[b]!, masks[b]!, decs[b]!)
                : bartRef(get, (m as Bart).config, srcs[b]!, masks[b]!, decs[b]!);
            expectClose(got.subarray(b * 5 * V, (b + 1) * 5 * V), want, 1e-4, 1e-4, `row ${b}`);
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
          m.dispose();
        }
      });

      it('beam search with one beam equals greedy decoding by full re-computation', () => {
        const m = make(e, 6);
        const sources = [ids(6, 13), ids(4, 14), ids(9, 15)];
        const beams = beamSearch(m, sources, { numBeams: 1, maxNewTokens: 8 });
        sources.forEach((src, i) => {
          const out: number[] = [];
          for (let step = 0; step < 8; step++) {
            const logits = logitsOf(m, [src], [[m.decoderStartId, ...out]]).logits.subarray(step * V, (step + 1) * V);
            let best = 0;
            for (let v = 1; v < V; v++) if (logits[v]! > logits[best]!) best = v;
            out.push(best);
            if (best === m.eosId) break;
          }
          expect(beams[i]![0]!.tokens).toEqual(out);
        });
        m.dispose();
      });
    });
  }

  it('beam search returns the highest-scoring sequence (checked against exhaustive search), n-best in order; for an ensemble too', () => {
    // a vocabulary of 5 (eos = 1) and 3 target tokens: 5 + 5² + 5³ sequences, scored exactly
    const m = new T5(e, tinyT5({ vocab_size: 5, eos_token_id: 1 }), 21);
    const m2 = new T5(e, tinyT5({ vocab_size: 5, eos_token_id: 1, d_ff: 40 }), 22);
    const VV = 5;
    const src = [3, 4, 2, 3];
    const probs = (model: EncoderDecoder, prefix: number[]) => {
      const l = logitsOf(model, [src], [[model.decoderStartId, ...prefix]]).logits.subarray(
        prefix.length * VV,
        (prefix.length + 1) * VV,
      );
      const max = Math.max(...l);
      const z = l.reduce((s, x) => s + Math.exp(x - max), 0);
      return Array.from(l, (x) => Math.exp(x - max) / z);
    };
    // the ensemble's distribution is the mean of the two models' probabilities
    for (const [models, logProbs] of [
      [m, (prefix: number[]) => probs(m, prefix).map(Math.log)],
      [[m, m2], (prefix: number[]) => probs(m, prefix).map((p, v) => Math.log((p + probs(m2, prefix)[v]!) / 2))],
    ] as const)
      for (const lengthPenalty of [1, 0, -0.5]) {
        const all: { tokens: number[]; score: number }[] = [];
        const walk = (prefix: number[], lp: number) => {
          const p = logProbs(prefix);
          for (let v = 0; v < VV; v++) {
            const tokens = [...prefix, v];
            const s = lp + p[v]!;
            if (v === 1 || tokens.length === 3) all.push({ tokens, score: s / tokens.length ** lengthPenalty });
            else walk(tokens, s);
          }
        };
        walk([], 0);
        all.sort((a, b) => b.score - a.score);
        // 25 beams hold every prefix of length ≤ 2: the search is exhaustive
        const got = beamSearch(models, [src], {
          numBeams: 25,
          maxNewTokens: 3,
          lengthPenalty,
          earlyStopping: true,
          numReturnSequences: 5,
        })[0]!;
        expect(got.map((h) => h.tokens)).toEqual(all.slice(0, 5).map((h) => h.tokens));
        got.forEach((h, i) => expect(h.score).toBeCloseTo(all[i]!.score, 4));
      }
    // a model in an ensemble with itself decodes as it does alone
    const alone = beamSearch(m2, [src, [2, 3]], { numBeams: 3, maxNewTokens: 3, numReturnSequences: 3 });
    const twice = beamSearch([m2, m2], [src, [2, 3]], { numBeams: 3, maxNewTokens: 3, numReturnSequences: 3 });
    expect(twice.map((hs) => hs.map((h) => h.tokens))).toEqual(alone.map((hs) => hs.map((h) => h.tokens)));
    twice.flat().forEach((h, i) => expect(h.logProb).toBeCloseTo(alone.flat()[i]!.logProb, 10));
    const other = new T5(e, tinyT5({ vocab_size: 6, eos_token_id: 1 }), 23);
    expect(() => beamSearch([m, other], [src], { numBeams: 2, maxNewTokens: 3 })).toThrow(
      /ensemble: model 2 has vocabulary size 6, model 1 has 5/,
    );
    for (const x of [m, m2, other]) x.dispose();
  });

  it('generate streams greedy tokens, samples with a seed, and yields the best beam', async () => {
    const m = new Bart(e, tinyBart(), 8);
    const src = ids(6, 31);
    const collect = async (it: AsyncGenerator<number>) => {
      const out: number[] = [];
      for await (const t of it) out.push(t);
      return out;
    };
    const greedy = await collect(m.generate(src, { maxNewTokens: 7 }));
    expect(greedy).toEqual(beamSearch(m, [src], { numBeams: 1, maxNewTokens: 7 })[0]![0]!.tokens);
    const s1 = await collect(m.generate(src, { maxNewTokens: 7, doSample: true, temperature: 2, seed: 4 }));
    expect(await collect(m.generate(src, { maxNewTokens: 7, doSample: true, temperature: 2, seed: 4 }))).toEqual(s1);
    const beam = await collect(m.generate(src, { maxNewTokens: 7, numBeams: 3 }));
    expect(beam).toEqual(beamSearch(m, [src], { numBeams: 3, maxNewTokens: 7 })[0]![0]!.tokens);
    expect(() => beamSearch(m, [src], { numBeams: 2, maxNewTokens: 7, numReturnSequences: 3 })).toThrow(ArgumentError);
    expect(() => m.forward({ inputIds: [[1, 2, 99]], decoderInputIds: [[2]] })).toThrow(TokenIdError);
    expect(() => m.forward({ inputIds: [new Array(40).fill(5)], decoderInputIds: [[2]] })).toThrow(
      /longer than the 32 positions/,
    );
    m.dispose();
  });

  it("generate says why it ended: 'eos', 'length', or 'context' when BART's positions fill first (never an error)", async () => {
    const src = ids(6, 31);
    /** The tokens, the generator's return value, and what onFinish got (the same). */
    const run = async (m: Bart, opts: object) => {
      let told: unknown;
      const stream = m.generate(src, { maxNewTokens: 7, ...opts, onFinish: (r) => (told = r) });
      const tokens: number[] = [];
      let next = await stream.next();
      for (; !next.done; next = await stream.next()) tokens.push(next.value);
      expect(told).toEqual(next.value);
      return { tokens, result: next.value };
    };
    const m = new Bart(e, tinyBart(), 8);
    // eos never the likeliest: decoding runs to maxNewTokens, or to the 32 positions when asked for more
    const bias = new Float32Array(V);
    bias[m.eosId] = -100;
    m.namedParameters().get('final_logits_bias')!.set(bias);
    const seven = await run(m, {});
    expect(seven.result).toEqual({ finishReason: 'length', newTokens: 7, slides: 0 });
    const long = await run(m, { maxNewTokens: 100 });
    expect(long.result).toEqual({ finishReason: 'context', newTokens: 32, slides: 0 });
    expect(long.tokens.slice(0, 7)).toEqual(seven.tokens);
    const beams = await run(m, { maxNewTokens: 100, numBeams: 3 });
    expect(beams.result).toEqual({ finishReason: 'context', newTokens: 32, slides: 0 });
    // eos always the likeliest: the first token ends it
    bias[m.eosId] = 100;
    m.namedParameters().get('final_logits_bias')!.set(bias);
    for (const opts of [{}, { numBeams: 3 }]) {
      const eos = await run(m, opts);
      expect(eos.tokens).toEqual([m.eosId]);
      expect(eos.result).toEqual({ finishReason: 'eos', newTokens: 1, slides: 0 });
    }
    m.dispose();
  });

  // BART learns these in a few hundred steps; T5, whose only position signal is the bucketed relative
  // bias, needs a higher rate and twice the steps
  const LEARNERS = [
    ['BART', 'copy', 400, 3e-3],
    ['BART', 'reverse', 400, 3e-3],
    ['T5', 'reverse', 800, 1e-2],
  ] as const;
  for (const [family, task, steps, lr] of LEARNERS) {
    it(`a tiny ${family} learns to ${task} short sequences (greedy decoding of 50 distinct fresh draws)`, () => {
      const target = (x: number[]) => (task === 'copy' ? x : [...x].reverse());
      const m: EncoderDecoder =
        family === 'T5'
          ? new T5(
              e,
              tinyT5({
                vocab_size: 10,
                d_model: 32,
                d_kv: 8,
                d_ff: 64,
                num_heads: 4,
                num_layers: 2,
                relative_attention_num_buckets: 32,
              }),
              3,
            )
          : new Bart(
              e,
              tinyBart({
                vocab_size: 10,
                d_model: 32,
                encoder_ffn_dim: 64,
                decoder_ffn_dim: 64,
                pad_token_id: 0,
                eos_token_id: 1,
                decoder_start_token_id: 0,
                bos_token_id: null,
              }),
              3,
            );
      const trainer = new Trainer(m, {
        lr,
        totalSteps: steps,
        warmup: 20,
        schedule: 'linear',
        weightDecay: 0,
        clip: 1,
        seed: 1,
      });
      let s = 12345;
      const rand = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
      const sample = () => Array.from({ length: 3 + Math.floor(rand() * 3) }, () => 2 + Math.floor(rand() * 8));
      const batchOf = (srcs: number[][]) => m.batch(srcs.map((x) => ({ source: x, target: [...target(x), 1] })));
      for (let step = 0; step < steps; step++) trainer.step(batchOf(Array.from({ length: 32 }, sample)));
      const seen = new Set<string>();
      const tests: number[][] = [];
      while (tests.length < 50) {
        const x = sample();
        if (!seen.has(x.join())) {
          seen.add(x.join());
          tests.push(x);
        }
      }
      const out = beamSearch(m, tests, { numBeams: 1, maxNewTokens: 7 });
      const correct = tests.filter((x, i) => out[i]![0]!.tokens.join() === [...target(x), 1].join()).length;
      expect(correct).toBeGreaterThanOrEqual(48);
      m.dispose();
    });
  }
});
