/** What the host JavaScript runtime offers: the only place that sniffs the environment. */

export const isNode =
  typeof process !== 'undefined' &&
  typeof process.versions === 'object' &&
  !!process.versions?.node &&
  typeof (globalThis as { Deno?: unknown }).Deno === 'undefined' &&
  typeof (globalThis as { Bun?: unknown }).Bun === 'undefined';

/**
 * A Node built-in, imported through a specifier that bundlers do not follow (Vite, webpack, esbuild): a
 * page's or worker's bundle never tries to resolve, externalise or warn about node: modules, which only
 * Node reaches (each caller checks isNode first).
 */
export function nodeModule<T>(specifier: `node:${string}`): Promise<T> {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}

/** Shared memory and Atomics.wait in workers: true in Node, Deno, Bun, and cross-origin-isolated pages. */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  const g = globalThis as { crossOriginIsolated?: boolean; window?: unknown; WorkerGlobalScope?: unknown };
  if (g.crossOriginIsolated === false) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether this runtime can start threads: worker_threads in Node, Web Workers elsewhere. Edge runtimes
 * (workerd) have shared memory but no Worker.
 */
export function workersAvailable(): boolean {
  return isNode || typeof (globalThis as { Worker?: unknown }).Worker === 'function';
}

/** Whether this thread may block in Atomics.wait (a browser page's main thread may not). */
export function canBlock(): boolean {
  if (isNode) return true;
  const g = globalThis as { document?: unknown };
  return typeof g.document === 'undefined';
}

/** Logical cores, for `threads: 'auto'`. */
export async function hardwareConcurrency(): Promise<number> {
  if (isNode) {
    const os = await nodeModule<typeof import('node:os')>('node:os');
    return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return n && n > 0 ? n : 1;
}
