// Fine-tuning a loaded checkpoint on pasted text, for the page's worker and for the tests in Node: a causal
// LM (GPT-2 or LLaMA family) from a folder URL in the hub's layout or a dropped folder, trained on windows of
// the text. Whether the whole model trains or only adapters is chosen from what the engine's memory holds.
// No DOM, no Node APIs.
import {
  applyLora,
  ArgumentError,
  Engine,
  loadModel,
  Trainer,
  type GPT,
  type Llama,
  type LmBatch,
  type LoadProgress,
  type ModelSource,
} from '../../src/index.js';
import { randomWindows } from './windows.js';

export type CausalLM = GPT | Llama;
export type TuneMode = 'full' | 'lora';

/** The windows each step trains on. */
export const TUNE_BATCH = { B: 4, T: 64 } as const;

/**
 * What a training step of a model of `parameters` float32 values needs, roughly: the weights, their gradients
 * and AdamW's two moments (16 bytes a parameter) plus the activations of a batch. Full fine-tuning is chosen
 * when that is within the limit; LoRA adapters otherwise (the weights alone, plus the activations).
 */
export function fullTrainingBytes(parameters: number, activationBytes: number): number {
  return 16 * parameters + activationBytes;
}

export class TuneSession {
  private trainer?: Trainer<LmBatch>;
  private ids: number[] = [];
  private seed = 1;

  private constructor(
    readonly engine: Engine,
    readonly model: CausalLM,
    readonly parameters: number,
  ) {}

  /** Loads a causal LM with its tokenizer into a new engine of at most `memoryMiB`. */
  static async load(
    source: ModelSource,
    opts: { threads: number; memoryMiB: number; onProgress?: (p: LoadProgress) => void },
  ): Promise<TuneSession> {
    const engine = await Engine.create({ threads: opts.threads, maxMemoryMiB: opts.memoryMiB });
    try {
      const model = await loadModel(engine, source, { onProgress: opts.onProgress });
      if (model.kind !== 'causal-lm') {
        model.dispose();
        throw new ArgumentError(
          `this page fine-tunes causal language models (gpt2, llama); the checkpoint is a ${model.config.model_type}`,
        );
      }
      if (!model.tokenizer) {
        model.dispose();
        throw new ArgumentError('the checkpoint has no tokenizer.json: the page needs it to read the text');
      }
      let parameters = 0;
      for (const p of model.namedParameters().values()) parameters += p.size;
      return new TuneSession(engine, model, parameters);
    } catch (err) {
      await engine.dispose();
      throw err;
    }
  }

  /** Bytes the engine holds now, and its limit. */
  memory(): { usedBytes: number; limitBytes: number } {
    const m = this.engine.memoryStats();
    return { usedBytes: m.reservedBytes, limitBytes: m.limitBytes };
  }

  /** Full fine-tuning when its optimizer state and a batch's activations fit in what is free, adapters otherwise. */
  chooseMode(): TuneMode {
    const { B, T } = TUNE_BATCH;
    const c = this.model.config;
    const width = c.model_type === 'gpt2' ? c.n_embd : c.hidden_size;
    const layers = c.model_type === 'gpt2' ? c.n_layer : c.num_hidden_layers;
    // recomputed blocks (gradient checkpointing): each block's input kept, one block's ~16 activations of
    // B·T·width at a time, and the logits with their gradient
    const activations = 4 * B * T * (width * layers + 16 * width + 2 * this.model.vocabSize);
    const extra = fullTrainingBytes(this.parameters, activations) - 4 * this.parameters; // the weights are in
    return extra <= this.engine.memoryAvailableBytes ? 'full' : 'lora';
  }

  /** Prepares training on `text` for `steps` steps (the windows come from the seed and the step only). */
  start(text: string, opts: { steps: number; seed: number; lr?: number; mode?: TuneMode }): TuneMode {
    if (this.trainer) throw new ArgumentError('this session has trained: load the checkpoint again to start over');
    const mode = opts.mode ?? this.chooseMode();
    const T = Math.min(TUNE_BATCH.T, this.model.contextLength - 1);
    this.ids = this.model.tokenizer!.encode(text, undefined, { addSpecialTokens: false }).ids;
    if (this.ids.length < T + 2)
      throw new ArgumentError(`the text needs at least ${T + 2} tokens, it has ${this.ids.length}`);
    this.seed = opts.seed;
    this.model.train(true);
    // LoRA (r 8, alpha 16, PEFT's default targets): the base stays frozen, so neither its gradients nor
    // AdamW's moments are allocated; blocks are recomputed in backward either way
    const lora = mode === 'lora' ? applyLora(this.model, { r: 8, alpha: 16, seed: opts.seed }) : undefined;
    this.trainer = new Trainer(lora ? lora.trainable(this.model) : this.model, {
      lr: opts.lr ?? 1e-3,
      totalSteps: opts.steps,
      warmup: Math.min(10, Math.floor(opts.steps / 10)),
      schedule: 'cosine',
      weightDecay: 0.01,
      clip: 1,
      seed: opts.seed,
      gradientCheckpointing: true,
    });
    return mode;
  }

  /** Tokens each step trains on. */
  get tokensPerStep(): number {
    return TUNE_BATCH.B * Math.min(TUNE_BATCH.T, this.model.contextLength - 1);
  }

  /** One step on B windows of the text. */
  step(): { step: number; loss: number } {
    if (!this.trainer) throw new ArgumentError('start() first');
    const T = Math.min(TUNE_BATCH.T, this.model.contextLength - 1);
    const batch = randomWindows(this.ids, TUNE_BATCH.B, T, this.seed, this.trainer.globalStep);
    const res = this.trainer.step(batch);
    return { step: res.step, loss: res.loss };
  }

  /** Greedy continuation of the prompt, as text. */
  async continueText(prompt: string, maxNewTokens: number): Promise<string> {
    this.model.train(false);
    const tok = this.model.tokenizer!;
    const ids = tok.encode(prompt, undefined, { addSpecialTokens: false }).ids;
    const out: number[] = [];
    for await (const t of this.model.generate(ids, { maxNewTokens, truncate: 'left', contextFull: 'slide' }))
      out.push(t);
    return tok.decode(out);
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}
