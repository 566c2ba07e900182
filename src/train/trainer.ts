import { ArgumentError, NonFiniteLossError, QuantizedError } from '../errors.js';
import type { Engine } from '../tensor/engine.js';
import { adamwStep, clipGradNorm, gradNorm, int8Of } from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { AdamWState, type NamedArray } from './adamw.js';
import { WeightAverage } from './average.js';
import { learningRate, type Schedule, type ScheduleName } from './schedule.js';

/** What the trainer needs of a model: its parameters and a loss for a batch (forward, tape on). */
export interface TrainableModel<B> {
  readonly engine: Engine;
  namedParameters(): Map<string, Tensor>;
  loss(batch: B): Tensor;
  /** Training mode on or off (dropout). */
  train?(mode: boolean): unknown;
  /** Recompute each block in backward instead of keeping its activations (TrainerOptions.gradientCheckpointing). */
  gradientCheckpointingEnable?(): unknown;
}

/**
 * The model with its training loss called with `options` (label smoothing, class weights: arguments of the
 * loss, as PyTorch's `CrossEntropyLoss(label_smoothing=…)`, not settings of the model).
 */
export function withLossOptions<B, O>(
  model: TrainableModel<B> & { loss(batch: B, options: O): Tensor },
  options: O,
): TrainableModel<B> {
  return {
    engine: model.engine,
    namedParameters: () => model.namedParameters(),
    loss: (batch) => model.loss(batch, options),
    train: (mode) => model.train?.(mode),
    gradientCheckpointingEnable: () => model.gradientCheckpointingEnable?.(),
  };
}

export interface TrainerOptions {
  /** Peak learning rate. */
  lr: number;
  /** Steps the schedule spans (decay ends here). */
  totalSteps: number;
  /** Linear warm-up steps. Default 0. */
  warmup?: number;
  schedule?: ScheduleName;
  /** Warm restarts: relative cycle lengths, the later cycles' peak (fraction of lr) and warm-up (Schedule). */
  cycles?: readonly number[];
  restartRatio?: number;
  restartWarmup?: number;
  /** AdamW: default 0.01, 0.9, 0.999, 1e-8. */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this (0: no clipping). Default 1. */
  clip?: number;
  /** Seed of the dropout masks (with the step number). Default 0. */
  seed?: number;
  /**
   * Gradient checkpointing (transformers' `TrainingArguments(gradient_checkpointing=True)`): each transformer
   * block keeps only its input and is recomputed in backward. The same bits, about a third more compute, and
   * a step's activations shrink from all blocks' to one block's. Default false.
   */
  gradientCheckpointing?: boolean;
  /** Keep an exponential moving average of the weights with this decay (`trainer.average`). Default off. */
  ema?: number;
}

export interface StepResult {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

/**
 * AdamW training with a warm-up + decay schedule, global-norm clipping and gradient accumulation over
 * micro-batches. Each micro-batch's activations live in the engine's step region and are released right
 * after its backward, so steady-state steps allocate nothing. A non-finite loss or gradient stops the
 * step before any weight changes, with a NonFiniteLossError naming the step.
 */
export class Trainer<B> {
  /** Optimizer steps taken (the next step's index), as Hugging Face's `global_step`. */
  globalStep = 0;
  optimizer: AdamWState;
  /** The moving average of the trainable weights, with `options.ema`. */
  readonly average?: WeightAverage;
  private readonly params: Tensor[];
  private stateMade = false;

  constructor(
    readonly model: TrainableModel<B>,
    readonly options: TrainerOptions,
  ) {
    if (!(options.lr > 0)) throw new ArgumentError(`lr must be > 0, got ${options.lr}`);
    if (!(options.totalSteps >= 1)) throw new ArgumentError(`totalSteps must be ≥ 1, got ${options.totalSteps}`);
    if (options.gradientCheckpointing) {
      if (!model.gradientCheckpointingEnable)
        throw new ArgumentError('gradientCheckpointing: this model has no transformer blocks to recompute');
      model.gradientCheckpointingEnable();
    }
    this.optimizer = new AdamWState(model.engine);
    // the optimizer keeps its state by parameter path (h.0.attn.qkv.weight), as checkpoints name it
    const named = model.namedParameters();
    const int8 = [...named].find(([, p]) => int8Of(p));
    if (int8) {
      throw new QuantizedError(
        `cannot train a model quantized to int8 (${int8[0]} and others are int8, for inference only): load it without quantize`,
      );
    }
    for (const [path, p] of named) p.name = path;
    this.params = [...named.values()];
    if (options.ema)
      this.average = new WeightAverage(
        this.params.filter((p) => p.requiresGrad),
        options.ema,
      );
  }

  /** The learning rate at a position of the schedule (default: the next step's). */
  learningRate(step = this.globalStep): number {
    return learningRate(this.schedule(), step);
  }

  /** The schedule the options describe. */
  schedule(): Schedule {
    const o = this.options;
    return {
      lr: o.lr,
      warmup: o.warmup ?? 0,
      total: o.totalSteps,
      kind: o.schedule ?? 'cosine',
      cycles: o.cycles,
      restartRatio: o.restartRatio,
      restartWarmup: o.restartWarmup,
    };
  }

  /**
   * One optimizer step over one batch, or over micro-batches whose gradients are averaged, at the
   * schedule's learning rate for this step (or `lr`, for a recipe that drives the schedule otherwise).
   */
  step(batch: B | B[], options: { lr?: number } = {}): StepResult {
    const micro = Array.isArray(batch) ? batch : [batch];
    if (micro.length === 0) throw new ArgumentError('step needs at least one batch');
    const e = this.model.engine;
    const trainable = this.params.filter((p) => p.requiresGrad);
    this.model.train?.(true);
    e.setDropoutSeed(((this.options.seed ?? 0) * 1_000_003 + this.globalStep) >>> 0);
    let total = 0;
    for (const mb of micro) {
      const loss = this.model.loss(mb);
      const value = loss.item();
      if (!Number.isFinite(value)) {
        this.abandon(trainable);
        throw new NonFiniteLossError(this.globalStep, value);
      }
      total += value;
      e.gradOf(loss).view()[0] = 1 / micro.length;
      e.tape.replay();
      e.endStep();
    }
    const clip = this.options.clip ?? 1;
    const norm = clip > 0 ? clipGradNorm(trainable, clip) : gradNorm(trainable);
    if (!Number.isFinite(norm)) {
      this.abandon(trainable);
      throw new NonFiniteLossError(this.globalStep, norm);
    }
    const lr = options.lr ?? this.learningRate();
    const o = this.options;
    if (!this.stateMade) {
      // the first step's activations are gone: their room goes to AdamW's moments, made now
      e.releaseStepMemory();
      this.stateMade = true;
    }
    adamwStep(trainable, this.optimizer, {
      lr,
      weightDecay: o.weightDecay ?? 0.01,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
    });
    zeroGrads(trainable);
    this.average?.update();
    const result = { step: this.globalStep, loss: total / micro.length, lr, gradNorm: norm };
    this.globalStep++;
    return result;
  }

  /** Mean loss over batches, with no tape. */
  evaluate(batches: Iterable<B>): number {
    const e = this.model.engine;
    this.model.train?.(false);
    let sum = 0;
    let n = 0;
    for (const b of batches) {
      sum += e.noGrad(() => this.model.loss(b).item());
      e.endStep();
      n++;
    }
    return n ? sum / n : NaN;
  }

  /** Optimizer state and step, as named arrays (for `optimizer.safetensors`). */
  stateArrays(): NamedArray[] {
    return this.optimizer.toNamed();
  }

  /** Replaces the optimizer state and step with saved ones; bad arrays are a CheckpointError and change nothing. */
  restoreState(step: number, arrays: NamedArray[]): void {
    const restored = AdamWState.fromNamed(this.model.engine, arrays);
    this.optimizer.dispose();
    this.optimizer = restored;
    this.globalStep = step;
  }

  /** Returns the optimizer state's memory (the model's parameters stay). */
  dispose(): void {
    this.optimizer.dispose();
  }

  private abandon(params: Tensor[]): void {
    this.model.engine.endStep();
    zeroGrads(params);
  }
}

function zeroGrads(params: Tensor[]): void {
  for (const p of params) p.grad?.view().fill(0);
}
