import { WorkerError } from '../errors.js';
import { isNode, nodeModule } from './platform.js';
import { NODE_WORKER_SOURCE, WEB_WORKER_SOURCE } from './worker-source.js';

/** Int32 slots of the control block (shared with worker-source.ts). */
export const CTL = {
  generation: 0,
  pending: 1,
  kernel: 2,
  nargs: 3,
  items: 4,
  parts: 5,
  flags: 6,
  error: 7,
  spin: 8,
  sleepingWorkers: 9,
  callerSleeping: 10,
} as const;
/** Bytes of the control block: 16 Int32 slots, then up to 16 Float64 arguments. */
export const CTL_BYTES = 64 + 16 * 8;
export const MAX_ARGS = 16;

/** How many times a worker polls the counter before it sleeps (~tens of µs), when it has a core. */
const WORKER_SPIN = 1 << 15;
/** How many times the caller polls `pending` before it sleeps. */
const CALLER_SPIN = 1 << 20;

interface PoolWorker {
  terminate(): Promise<void>;
  exited: Promise<void>;
}

let live = 0;
/** Workers alive in this process (for tests: disposing every engine brings it to 0). */
export function liveWorkers(): number {
  return live;
}

export type KernelFn = (...args: number[]) => void;

/**
 * The thread pool: `workers` threads (threads − 1) plus the caller, over one shared memory, dispatched
 * through a control block with Atomics — no message per kernel call.
 */
export class Pool {
  private readonly c: Int32Array;
  private readonly argv: Float64Array;
  private callerSpin: number;
  private disposed = false;

  private constructor(
    private readonly fns: readonly KernelFn[],
    private readonly names: readonly string[],
    memory: WebAssembly.Memory,
    ctl: number,
    private readonly workers: PoolWorker[],
    readonly threads: number,
    oversubscribed: boolean,
    private readonly canWait: boolean,
  ) {
    // Views over the control block stay valid across memory.grow: a grown SharedArrayBuffer keeps old views.
    this.c = new Int32Array(memory.buffer, ctl, 16);
    this.argv = new Float64Array(memory.buffer, ctl + 64, MAX_ARGS);
    Atomics.store(this.c, CTL.spin, oversubscribed ? 0 : WORKER_SPIN);
    this.callerSpin = oversubscribed ? 0 : CALLER_SPIN;
  }

  static async create(opts: {
    module: WebAssembly.Module;
    memory: WebAssembly.Memory;
    ctl: number;
    fns: readonly KernelFn[];
    names: readonly string[];
    threads: number;
    cores: number;
    canWait: boolean;
  }): Promise<Pool> {
    const { module, memory, ctl, names, threads } = opts;
    const workers: PoolWorker[] = [];
    const oversubscribed = threads > opts.cores;
    const c = new Int32Array(memory.buffer, ctl, 16);
    c.fill(0);
    Atomics.store(c, CTL.spin, oversubscribed ? 0 : WORKER_SPIN);
    try {
      await Promise.all(
        Array.from({ length: threads - 1 }, async (_, index) => {
          const w = await spawn({ module, memory, ctl, argv: ctl + 64, names, index });
          workers.push(w);
        }),
      );
    } catch (err) {
      Atomics.or(c, CTL.flags, 1);
      Atomics.add(c, CTL.generation, 1);
      Atomics.notify(c, CTL.generation);
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new Pool(opts.fns, names, memory, ctl, workers, threads, oversubscribed, opts.canWait);
  }

  /** Runs kernel `id` over items [0, items), split into contiguous ranges, one per thread. */
  run(id: number, args: readonly number[], items: number): void {
    if (this.disposed) throw new WorkerError('the engine was disposed');
    const parts = Math.min(this.threads, items);
    const fn = this.fns[id]!;
    if (parts <= 1) {
      fn(...args, 0, items);
      return;
    }
    const c = this.c;
    const n = args.length;
    for (let i = 0; i < n; i++) this.argv[i] = args[i]!;
    c[CTL.kernel] = id;
    c[CTL.nargs] = n;
    c[CTL.items] = items;
    c[CTL.parts] = parts;
    Atomics.store(c, CTL.pending, this.workers.length);
    Atomics.add(c, CTL.generation, 1);
    if (Atomics.load(c, CTL.sleepingWorkers) !== 0) Atomics.notify(c, CTL.generation);
    let failure: unknown;
    try {
      fn(...args, Math.floor(((parts - 1) * items) / parts), items);
    } catch (err) {
      failure = err;
    }
    this.awaitWorkers();
    if (failure !== undefined) throw failure;
    const bad = Atomics.exchange(c, CTL.error, 0);
    if (bad !== 0) throw new WorkerError(`worker ${bad - 1} failed in kernel ${this.names[id]}`);
  }

  private awaitWorkers(): void {
    const c = this.c;
    let left = Atomics.load(c, CTL.pending);
    for (let i = 0; left !== 0 && i < this.callerSpin; i++) left = Atomics.load(c, CTL.pending);
    while (left !== 0) {
      if (this.canWait) {
        Atomics.store(c, CTL.callerSleeping, 1);
        Atomics.wait(c, CTL.pending, left, 50);
        Atomics.store(c, CTL.callerSleeping, 0);
      }
      left = Atomics.load(c, CTL.pending);
    }
  }

  /** Ends every worker and resolves once they have exited. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const c = this.c;
    Atomics.or(c, CTL.flags, 1);
    Atomics.add(c, CTL.generation, 1);
    Atomics.notify(c, CTL.generation);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctl: number;
  argv: number;
  names: readonly string[];
  index: number;
}

type Message = { type: 'ready' } | { type: 'error' | 'kernel-error'; message: string } | { type: 'exit' };

async function spawn(init: WorkerInit): Promise<PoolWorker> {
  return isNode ? spawnNode(init) : spawnWeb(init);
}

async function spawnNode(init: WorkerInit): Promise<PoolWorker> {
  const { Worker } = await nodeModule<typeof import('node:worker_threads')>('node:worker_threads');
  const w = new Worker(NODE_WORKER_SOURCE, { eval: true });
  live++;
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  void exited.then(() => live--);
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: Message) => {
      if (m.type === 'ready') {
        w.off('message', onMessage);
        resolve();
      } else if (m.type === 'error') reject(new WorkerError(`worker ${init.index} could not start: ${m.message}`));
    };
    w.on('message', onMessage);
    w.once('error', (err) => reject(new WorkerError(`worker ${init.index} died: ${err.message}`)));
    w.once('exit', (code) => reject(new WorkerError(`worker ${init.index} exited with code ${code} while starting`)));
    w.postMessage(init);
  });
  // after the listeners are set (a 'message' listener re-refs the port): a forgotten engine does not
  // keep the process alive
  w.unref();
  return {
    exited,
    terminate: async () => {
      await w.terminate();
      await exited;
    },
  };
}

async function spawnWeb(init: WorkerInit): Promise<PoolWorker> {
  const url = URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url, { type: 'module' });
  live++;
  let markExited!: () => void;
  const exited = new Promise<void>((resolve) => (markExited = resolve));
  await new Promise<void>((resolve, reject) => {
    w.onmessage = (e: MessageEvent<Message>) => {
      if (e.data.type === 'ready') resolve();
      else if (e.data.type === 'error')
        reject(new WorkerError(`worker ${init.index} could not start: ${e.data.message}`));
    };
    w.onerror = (e) => reject(new WorkerError(`worker ${init.index} died: ${e.message}`));
    w.postMessage(init);
  }).finally(() => URL.revokeObjectURL(url)); // only once loaded: Bun reads the URL after the constructor returns
  return {
    exited,
    terminate: async () => {
      w.terminate();
      live--;
      markExited();
    },
  };
}
