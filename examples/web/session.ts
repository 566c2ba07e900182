// A training session the page's worker runs, and the tests run in Node with the same seed: a small
// byte-level GPT trained on the text it is given, then sampled. No DOM, no Node APIs.
import {
  encodeCheckpoint,
  Engine,
  GPT,
  parseConfig,
  trainBpe,
  Tokenizer,
  Trainer,
  type GenerateResult,
  type Gpt2Config,
  type LmBatch,
} from '../../src/index.js';
import { randomWindows } from './windows.js';

export const SESSION_MODEL = { layers: 2, dModel: 64, heads: 4, ffn: 256, context: 64, batch: 8 } as const;

export class Session {
  private constructor(
    readonly engine: Engine,
    readonly model: GPT,
    private readonly trainer: Trainer<LmBatch>,
    private readonly ids: number[],
    private readonly seed: number,
  ) {}

  static async start(
    text: string,
    opts: { threads: number; seed: number; steps: number; lr?: number },
  ): Promise<Session> {
    const engine = await Engine.create({ threads: opts.threads });
    const s = SESSION_MODEL;
    const config = parseConfig({
      model_type: 'gpt2',
      vocab_size: 256,
      n_positions: s.context,
      n_embd: s.dModel,
      n_layer: s.layers,
      n_head: s.heads,
      n_inner: s.ffn,
      bos_token_id: null,
      eos_token_id: null,
      resid_pdrop: 0,
      embd_pdrop: 0,
      attn_pdrop: 0,
    }) as Gpt2Config;
    const model = new GPT(engine, config, opts.seed);
    model.tokenizer = Tokenizer.fromJson(trainBpe([text], { vocabSize: 256 }));
    const ids = model.tokenizer.encode(text, undefined, { addSpecialTokens: false }).ids;
    if (ids.length < s.context + 2) throw new Error(`the text needs at least ${s.context + 2} bytes`);
    const trainer = new Trainer(model, {
      lr: opts.lr ?? 3e-3,
      totalSteps: opts.steps,
      warmup: 10,
      schedule: 'cosine',
      weightDecay: 0.01,
      clip: 1,
    });
    return new Session(engine, model, trainer, ids, opts.seed);
  }

  /** One step on B random windows, chosen from (seed, step) only: the same in every runtime. */
  step(): { step: number; loss: number } {
    const { batch: B, context: T } = SESSION_MODEL;
    const batch = randomWindows(this.ids, B, T, this.seed, this.trainer.globalStep);
    const res = this.trainer.step(batch);
    return { step: res.step, loss: res.loss };
  }

  /**
   * Text pieces as the tokens come: greedy, or sampled with the seed. A long prompt keeps its end, and
   * when the context is full the window slides (its last half is kept), so maxNewTokens always come.
   * Returns how generation ended.
   */
  async *generate(
    prompt: string,
    opts: {
      maxNewTokens: number;
      greedy: boolean;
      temperature: number;
      topK: number;
      topP: number;
      seed: number;
    },
  ): AsyncGenerator<string, GenerateResult | undefined> {
    const tok = this.model.tokenizer!;
    const ids = tok.encode(prompt, undefined, { addSpecialTokens: false }).ids;
    const out: number[] = [];
    let shown = '';
    let finish: GenerateResult | undefined;
    const { maxNewTokens, temperature, topK, topP, seed } = opts;
    for await (const t of this.model.generate(ids, {
      maxNewTokens,
      doSample: !opts.greedy,
      temperature,
      topK,
      topP,
      seed,
      truncate: 'left',
      contextFull: 'slide',
      onFinish: (r) => (finish = r),
    })) {
      out.push(t);
      const text = tok.decode(out);
      if (!text.endsWith('\uFFFD')) {
        yield text.slice(shown.length);
        shown = text;
      }
    }
    return finish;
  }

  /** The checkpoint's files (Hugging Face layout), for download. */
  files(): Map<string, Uint8Array> {
    return encodeCheckpoint({
      config: { ...this.model.config, architectures: ['GPT2LMHeadModel'] },
      tensors: this.model.hfTensors(),
      tokenizer: this.model.tokenizer!.toJson(),
    });
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}
