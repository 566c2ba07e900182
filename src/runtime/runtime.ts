import { ArgumentError } from '../errors.js';
import { Arena } from './arena.js';
import { KERNEL_ID, KERNEL_NAMES, type ArgsOf, type KernelName, type MatmulTile } from './kernels.js';
import { compileKernels, enableRelaxedSimd, maddIsFused, type BuildName, type WasmSource } from './module.js';
import { canBlock, hardwareConcurrency, sharedMemoryAvailable, workersAvailable } from './platform.js';
import { CTL_BYTES, Pool, type KernelFn } from './pool.js';

export interface RuntimeOptions {
  /**
   * Threads including the caller: a number, or 'auto' for every logical core. Default 'auto'. One where
   * the runtime has no shared memory or no workers, whatever is asked (`engine.threads` tells).
   */
  threads?: number | 'auto';
  /** The most memory the engine may use, MiB (wasm32: at most 4096). Default 4096. */
  maxMemoryMiB?: number;
  /** Memory to start with, MiB. Default 16. */
  initialMemoryMiB?: number;
  /**
   * 'relaxed' uses the build with fused multiply-add (f32x4.relaxed_madd) where the runtime has relaxed
   * SIMD and fuses it (Node 22+, Deno, Chromium, workerd given the relaxed module; Node 20 after V8's
   * flag, which this sets), falling back to 'plain' elsewhere (Bun, whose multiply-add is not fused; a
   * page without shared memory), `simdFallback` saying why. Its results are bit-identical across thread
   * counts and runtimes but not to the plain builds'. Default 'plain'.
   */
  simd?: Simd;
  /** Where the kernel builds come from (edge runtimes pass compiled modules). Default: files in the package. */
  wasm?: { single?: WasmSource; threads?: WasmSource; relaxed?: WasmSource };
}

/**
 * Told of every kernel call while set as `Runtime.profiler` (the roofline benchmark): the kernel, its arguments
 * (table order), its work items and its wall time in milliseconds, called after the kernel has returned.
 */
export type KernelProfiler = (name: KernelName, args: readonly number[], items: number, ms: number) => void;

/** The SIMD build: 'plain' (SIMD, or SIMD + threads) or 'relaxed' (fused multiply-add). */
export type Simd = 'plain' | 'relaxed';

/**
 * The relaxed build, compiled, where it can run and its multiply-add is fused; else the plain build and
 * why. Only a fused multiply-add makes the relaxed build's results its own: unfused, they are the plain
 * build's, and reporting 'relaxed' would promise results the runtime does not give.
 */
async function relaxedOrPlain(
  plain: BuildName,
  shared: boolean,
  wasm: RuntimeOptions['wasm'],
): Promise<{ build: BuildName; module: WebAssembly.Module; fallback: string | undefined }> {
  const fallBack = async (why: string) => ({
    build: plain,
    module: await compileKernels(plain, wasm?.[plain]),
    fallback: `relaxed SIMD was asked for, the plain build runs: ${why}`,
  });
  if (!shared) return fallBack('the relaxed build needs shared memory (a cross-origin isolated page)');
  if (!(await enableRelaxedSimd())) return fallBack('this runtime does not validate relaxed SIMD');
  if (wasm !== undefined && wasm.relaxed === undefined)
    return fallBack('the wasm option gives no relaxed build (wasm: { relaxed: <simdformer.relaxed.wasm> })');
  let module: WebAssembly.Module;
  try {
    module = await compileKernels('relaxed', wasm?.relaxed);
  } catch (err) {
    if ((err as { code?: string }).code !== 'KERNELS_NOT_FOUND') throw err;
    return fallBack((err as Error).message);
  }
  if (!(await maddIsFused(module, true)))
    return fallBack("this runtime's relaxed multiply-add is not fused, so the plain build's results are what it gives");
  return { build: 'relaxed', module, fallback: undefined };
}

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Work below this many multiply-adds (or element operations) runs on the caller alone. */
export const PARALLEL_THRESHOLD = 1 << 18;

/**
 * The engine's machine: one WebAssembly.Memory, the kernel module instantiated over it on every thread,
 * the arena that owns its layout, and the pool that splits kernel calls across threads. The only layer
 * that touches WebAssembly, workers and Atomics.
 */
export class Runtime {
  readonly arena: Arena;
  private f32View: Float32Array;
  private i32View: Int32Array;
  private u8View: Uint8Array;
  private readonly direct: readonly KernelFn[];
  private scratchPtr = 0;
  private scratchBytes = 0;
  /**
   * The kernel variants this runtime runs (the matmul's register tile): the default until the engine pins one
   * at creation (Engine.create's `kernels`) or picks one from its first large products ('auto'), then fixed.
   */
  readonly kernels: { matmul: MatmulTile } = { matmul: '4x8' };
  /**
   * Set, every kernel call is timed and reported to it (bench/suites/roofline.bench.ts); unset (the default), a
   * call costs one comparison more.
   */
  profiler: KernelProfiler | undefined = undefined;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly build: BuildName,
    /** Why simd: 'relaxed' was asked for and a plain build runs; undefined otherwise. */
    readonly simdFallback: string | undefined,
    private readonly pool: Pool | undefined,
    exports: WebAssembly.Exports,
    arenaBase: number,
    limitBytes: number,
  ) {
    this.arena = new Arena(memory, arenaBase, limitBytes);
    this.direct = KERNEL_NAMES.map((n) => exports[n] as KernelFn);
    this.f32View = new Float32Array(memory.buffer);
    this.i32View = new Int32Array(memory.buffer);
    this.u8View = new Uint8Array(memory.buffer);
  }

  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    const cores = await hardwareConcurrency();
    const asked = options.threads ?? 'auto';
    if (asked !== 'auto' && !(Number.isInteger(asked) && asked >= 1 && asked <= 256)) {
      throw new ArgumentError(`threads must be 'auto' or an integer from 1 to 256, got ${String(asked)}`);
    }
    const maxMiB = options.maxMemoryMiB ?? 4096;
    if (!(maxMiB >= 1 && maxMiB <= 4096)) {
      throw new ArgumentError(`maxMemoryMiB must be from 1 to 4096 (wasm32 addresses 4 GiB), got ${maxMiB}`);
    }
    const shared = sharedMemoryAvailable();
    // one thread where threads cannot be had: no shared memory (a page that is not cross-origin
    // isolated) or no workers (edge runtimes have shared memory but no Worker)
    const threads = !shared || !workersAvailable() ? 1 : asked === 'auto' ? cores : asked;
    const plain: BuildName = threads > 1 ? 'threads' : 'single';
    const { build, module, fallback } =
      options.simd === 'relaxed'
        ? await relaxedOrPlain(plain, shared, options.wasm)
        : { build: plain, module: await compileKernels(plain, options.wasm?.[plain]), fallback: undefined };
    const maxPages = Math.min(MAX_PAGES, Math.floor((maxMiB * 2 ** 20) / PAGE));
    const initialPages = Math.min(
      maxPages,
      Math.max(1, Math.ceil(((options.initialMemoryMiB ?? 16) * 2 ** 20) / PAGE)),
    );
    const memory = new WebAssembly.Memory({ initial: initialPages, maximum: maxPages, shared: build !== 'single' });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const exports = instance.exports;
    const heapBase = (exports.heap_base as () => number)() >>> 0;
    // the control block sits first above the module's data, so it never moves
    const ctl = Math.ceil(heapBase / 64) * 64;
    const arenaBase = ctl + CTL_BYTES;
    const direct = KERNEL_NAMES.map((n) => {
      const fn = exports[n];
      if (typeof fn !== 'function') throw new Error(`simdformer: the kernel build lacks export ${n}; rebuild it`);
      return fn as KernelFn;
    });
    const pool =
      threads > 1
        ? await Pool.create({
            module,
            memory,
            ctl,
            fns: direct,
            names: KERNEL_NAMES,
            threads,
            cores,
            canWait: canBlock(),
          })
        : undefined;
    return new Runtime(memory, build, fallback, pool, exports, arenaBase, maxPages * PAGE);
  }

  /** Threads that run kernels, the caller included. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** The memory's bytes as float32 (re-made after every grow: never keep it across calls). */
  get f32(): Float32Array {
    if (this.f32View.buffer.byteLength !== this.memory.buffer.byteLength) this.remakeViews();
    return this.f32View;
  }
  get i32(): Int32Array {
    if (this.i32View.buffer.byteLength !== this.memory.buffer.byteLength) this.remakeViews();
    return this.i32View;
  }
  get u8(): Uint8Array {
    if (this.u8View.buffer.byteLength !== this.memory.buffer.byteLength) this.remakeViews();
    return this.u8View;
  }

  private remakeViews(): void {
    const buf = this.memory.buffer;
    this.f32View = new Float32Array(buf);
    this.i32View = new Int32Array(buf);
    this.u8View = new Uint8Array(buf);
  }

  /**
   * Runs a kernel over work items [0, items) with its arguments in table order (typed: one per name in the
   * kernel table). `cost` estimates the work in element operations: below PARALLEL_THRESHOLD the caller runs
   * it alone.
   */
  run<K extends KernelName>(name: K, args: NoInfer<ArgsOf<K>>, items: number, cost = Infinity): void {
    if (items <= 0) return;
    if (this.profiler !== undefined) {
      this.runProfiled(name, args, items, cost, this.profiler);
      return;
    }
    const id = KERNEL_ID[name];
    if (this.pool && items > 1 && cost >= PARALLEL_THRESHOLD) this.pool.run(id, args, items);
    else this.direct[id]!(...args, 0, items);
  }

  /** `run` with the call timed and reported (kept apart, so the unprofiled path stays as it was). */
  private runProfiled<K extends KernelName>(
    name: K,
    args: ArgsOf<K>,
    items: number,
    cost: number,
    profiler: KernelProfiler,
  ): void {
    const id = KERNEL_ID[name];
    const t0 = performance.now();
    if (this.pool && items > 1 && cost >= PARALLEL_THRESHOLD) this.pool.run(id, args, items);
    else this.direct[id]!(...args, 0, items);
    profiler(name, args, items, performance.now() - t0);
  }

  /**
   * A block for one kernel sequence's temporaries (packed panels): valid until the next call, grown
   * as needed and kept, so steady-state calls allocate nothing.
   */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchBytes > 0) this.arena.release(this.scratchPtr);
      this.scratchBytes = 0;
      this.scratchPtr = this.arena.alloc(bytes, 'scratch for packed panels');
      this.scratchBytes = bytes;
    }
    return this.scratchPtr;
  }

  /** Ends the worker threads. The memory stays readable until dropped. */
  async dispose(): Promise<void> {
    await this.pool?.dispose();
  }
}
