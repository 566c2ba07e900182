import { ShapeError } from '../errors.js';
import type { ArenaStats } from '../runtime/arena.js';
import { Runtime, type RuntimeOptions, type Simd } from '../runtime/runtime.js';
import { chooseKernels, kernelsOf, type Kernels, type KernelsOption } from './kernel-select.js';
import { Tape } from './tape.js';
import { checkShape, sizeOf, Tensor, type Region, type Shape } from './tensor.js';

export interface EngineOptions extends RuntimeOptions {
  /**
   * Kernel variants: 'auto' (default) picks the matmul tile by timing the engine's own first large products
   * (once per process, build and thread count; kernel-select.ts); '4x8', '4x8s', '4x8p', '2x16', '2x16p', '3x12' (or `{ matmul: '2x16' }`)
   * pins one; `{ gemv: 'fixed' }` keeps decoding's GEMV at its fixed rows instead of timing it per shape. All give
   * the same bits; `engine.kernels` says which runs.
   */
  kernels?: KernelsOption;
}
export type { Kernels, KernelsOption };
export type { Simd };

/** Bytes of the engine's memory in use (Engine.memoryStats). */
export interface MemoryStats extends ArenaStats {
  /** The linear memory's current size (what the host has committed; it only grows). */
  memoryBytes: number;
  /** The most it may grow to (maxMemoryMiB; 4 GiB at most). */
  limitBytes: number;
}

/** Where the dropout seeds stand (Engine.dropoutState), to replay a forward's masks in recomputation. */
export interface DropoutState {
  readonly base: number;
  readonly calls: number;
}

/** The public entry point: an engine owns a memory, its threads, and the tensors made in it. */
export class Engine {
  private currentTape = new Tape();
  private dropoutBase = 0;
  private dropoutCalls = 0;
  private onesAt = 0;
  private onesLength = 0;

  private constructor(readonly runtime: Runtime) {}

  /** Loads the kernels, creates the memory and starts the threads. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const runtime = await Runtime.create(options);
    try {
      runtime.kernels.matmul = chooseKernels(runtime, options.kernels);
    } catch (err) {
      await runtime.dispose();
      throw err;
    }
    return new Engine(runtime);
  }

  /** The tape ops record on (swapped for a sub-tape while a checkpointed block runs, see ops.checkpoint). */
  get tape(): Tape {
    return this.currentTape;
  }

  /** Runs fn with `tape` as the engine's tape, then puts the previous one back. */
  withTape<T>(tape: Tape, fn: () => T): T {
    const was = this.currentTape;
    this.currentTape = tape;
    try {
      return fn();
    } finally {
      this.currentTape = was;
    }
  }

  /**
   * Bytes in use now and at their peak: persistent blocks (parameters, gradients, optimizer state, packing
   * scratch) and the step region (activations and their gradients), as benchmarks report them.
   * `resetPeak()` starts the peak over.
   */
  memoryStats(): MemoryStats {
    const arena = this.runtime.arena;
    return { ...arena.stats, memoryBytes: this.runtime.memory.buffer.byteLength, limitBytes: arena.limitBytes };
  }

  resetPeak(): void {
    this.runtime.arena.resetPeak();
  }

  /** The kernel variants this engine runs (pinned, or picked by 'auto' from its first large products), e.g. `{ matmul: '2x16' }`. */
  get kernels(): Kernels {
    return kernelsOf(this.runtime);
  }

  /** Threads that run kernels, the caller included. */
  get threads(): number {
    return this.runtime.threads;
  }

  /**
   * The SIMD build running: 'relaxed' (fused multiply-add) only when asked for, available and fused in
   * this runtime. Runs with the same value give the same bits in every runtime.
   */
  get simd(): Simd {
    return this.runtime.build === 'relaxed' ? 'relaxed' : 'plain';
  }

  /** Why simd: 'relaxed' was asked for and a plain build runs (undefined when it was not asked for, or runs). */
  get simdFallback(): string | undefined {
    return this.runtime.simdFallback;
  }

  /** The most memory this engine may use, in bytes (its `maxMemoryMiB`; wasm32 addresses 4 GiB at most). */
  get memoryLimitBytes(): number {
    return this.runtime.arena.limitBytes;
  }

  /**
   * Bytes still free for persistent tensors: the limit less the module's own data and the blocks held. What a
   * model will need is checked against this before it allocates anything (src/models/size.ts).
   */
  get memoryAvailableBytes(): number {
    const arena = this.runtime.arena;
    return Math.max(0, arena.limitBytes - arena.base - arena.usedBytes);
  }

  /** An uninitialised tensor. */
  empty(shape: Shape, region: Region = 'persistent'): Tensor {
    checkShape(shape);
    const bytes = sizeOf(shape) * 4;
    const ptr =
      region === 'persistent'
        ? this.runtime.arena.alloc(bytes, `tensor [${shape.join(', ')}]`)
        : this.runtime.arena.allocStep(bytes);
    return new Tensor(this, ptr, [...shape], region);
  }

  zeros(shape: Shape, region: Region = 'persistent'): Tensor {
    const t = this.empty(shape, region);
    t.view().fill(0);
    return t;
  }

  /** A tensor holding a copy of `data` (row-major) in the given shape. */
  tensor(data: ArrayLike<number>, shape: Shape = [data.length]): Tensor {
    checkShape(shape);
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(`tensor: ${data.length} values do not fill shape [${shape.join(', ')}] (${sizeOf(shape)})`);
    }
    return this.empty(shape).set(data);
  }

  /**
   * Dropout seeds: a trainer sets a base per step (from its seed and step number), and each dropout
   * call takes the next seed after it, so masks depend only on (seed, step, call order): a resumed run
   * draws the same masks.
   */
  setDropoutSeed(base: number): void {
    this.dropoutBase = base >>> 0;
    this.dropoutCalls = 0;
  }

  nextDropoutSeed(): number {
    return this.dropoutBase * 65536 + (this.dropoutCalls++ % 65536);
  }

  /** Where the dropout seeds stand: restoring it makes the next dropout calls draw the same masks again. */
  dropoutState(): DropoutState {
    return { base: this.dropoutBase, calls: this.dropoutCalls };
  }

  restoreDropoutState(s: DropoutState): void {
    this.dropoutBase = s.base;
    this.dropoutCalls = s.calls;
  }

  /** Pointer to at least n float32 ones (kept and grown; never write to it), e.g. a row of ones to sum rows by matmul. */
  onesPtr(n: number): number {
    if (n > this.onesLength) {
      if (this.onesLength > 0) this.runtime.arena.release(this.onesAt);
      this.onesLength = 0;
      this.onesAt = this.runtime.arena.alloc(n * 4, 'ones');
      this.runtime.f32.fill(1, this.onesAt >>> 2, (this.onesAt >>> 2) + n);
      this.onesLength = n;
    }
    return this.onesAt;
  }

  /** A trainable parameter: persistent, requires grad, named by its path. */
  parameter(name: string, data: ArrayLike<number>, shape: Shape): Tensor {
    const t = this.tensor(data, shape);
    t.requiresGrad = true;
    t.name = name;
    return t;
  }

  // ---- autograd -------------------------------------------------------------------------------

  /** Whether an op on these inputs must record its backward. */
  needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
    return this.tape.enabled && inputs.some((t) => t?.requiresGrad);
  }

  /** Records an op's backward; its outputs become tensors that require grad. */
  record(outputs: readonly Tensor[], backward: () => void): void {
    this.tape.record(outputs, backward);
  }

  /** t.grad, created zero-filled (in t's region) when first asked for. Backward kernels add into it. */
  gradOf(t: Tensor): Tensor {
    if (!t.grad) t.grad = this.zeros(t.shape, t.region);
    return t.grad;
  }

  /**
   * Where a backward that can write (=) or add (+=) puts t's gradient: t.grad to add into, or, the first time, a
   * new one left unfilled, which the caller must write whole (accumulate false). Spares zero-filling it: the
   * d 512 GPT's step zero-filled ~150 MB of activation gradients from JavaScript (0.6 % of its time).
   */
  gradTarget(t: Tensor): { ptr: number; accumulate: boolean } {
    if (t.grad) return { ptr: t.grad.ptr, accumulate: true };
    t.grad = this.empty(t.shape, t.region);
    return { ptr: t.grad.ptr, accumulate: false };
  }

  /** Seeds ∂loss/∂loss = 1 and replays the tape in reverse. */
  backward(loss: Tensor): void {
    if (loss.size !== 1)
      throw new ShapeError(`backward() starts from a scalar loss, got shape [${loss.shape.join(', ')}]`);
    this.gradOf(loss).view()[0] = 1;
    this.tape.replay();
  }

  /** Runs fn with the tape off: inference records nothing and keeps no activations for backward. */
  noGrad<T>(fn: () => T): T {
    const was = this.tape.enabled;
    this.tape.enabled = false;
    try {
      return fn();
    } finally {
      this.tape.enabled = was;
    }
  }

  /** Ends a step: forgets the tape and rewinds the per-step region (every step tensor is invalid after). */
  endStep(): void {
    this.tape.clear();
    this.runtime.arena.resetStep();
  }

  /**
   * Returns the step region's chunks to the persistent heap (every step tensor must be dead: call after
   * endStep). The Trainer does this once before its first optimizer step, so AdamW's moments (made then)
   * take the room the first step's activations held instead of adding to it.
   */
  releaseStepMemory(): void {
    this.tape.clear();
    this.runtime.arena.releaseStep();
  }

  /** Ends the worker threads; tensors of this engine must not be used after. */
  async dispose(): Promise<void> {
    await this.runtime.dispose();
  }
}
