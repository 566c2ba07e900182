import { ShapeError } from '../errors.js';
import { Runtime, type RuntimeOptions } from '../runtime/runtime.js';
import { matmulDims, matmulInto, type MatmulLayout } from './ops/matmul.js';
import { checkShape, sizeOf, Tensor, type Region, type Shape } from './tensor.js';

export type EngineOptions = RuntimeOptions;

/** The public entry point: an engine owns a memory, its threads, and the tensors made in it. */
export class Engine {
  private constructor(readonly runtime: Runtime) {}

  /** Loads the kernels, creates the memory and starts the threads. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    return new Engine(await Runtime.create(options));
  }

  /** Threads that run kernels, the caller included. */
  get threads(): number {
    return this.runtime.threads;
  }

  /** An uninitialised tensor. */
  empty(shape: Shape, region: Region = 'persistent'): Tensor {
    checkShape(shape);
    const bytes = sizeOf(shape) * 4;
    const ptr = region === 'persistent' ? this.runtime.arena.alloc(bytes, `tensor [${shape.join(', ')}]`) : this.runtime.arena.allocStep(bytes);
    return new Tensor(this.runtime, ptr, [...shape], region);
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

  /** op(A)·op(B) for 2-D tensors, as a new tensor [M, N]. */
  matmul(a: Tensor, b: Tensor, layout: Omit<MatmulLayout, 'accumulate'> = {}): Tensor {
    const [M, K, N] = matmulDims(a.shape, b.shape, layout);
    const c = this.empty([M, N]);
    matmulInto(this.runtime, c.ptr, a.ptr, b.ptr, M, N, K, layout);
    return c;
  }

  /** Ends the worker threads; tensors of this engine must not be used after. */
  async dispose(): Promise<void> {
    await this.runtime.dispose();
  }
}
