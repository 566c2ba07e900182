import { isNode } from './platform.js';

/** Where the kernel wasm comes from: a compiled module (edge runtimes), bytes, or a URL / path. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | Uint8Array<ArrayBuffer> | URL | string;

export type BuildName = 'single' | 'threads';

const FILES: Record<BuildName, string> = {
  single: 'simdformer.wasm',
  threads: 'simdformer.threads.wasm',
};

/** The URL of a build shipped with the package (found by bundlers through `new URL(…, import.meta.url)`). */
export function buildUrl(build: BuildName): URL {
  return build === 'threads'
    ? new URL('../../build/simdformer.threads.wasm', import.meta.url)
    : new URL('../../build/simdformer.wasm', import.meta.url);
}

/** Compiles one build of the kernels from the given source, or from the file shipped with the package. */
export async function compileKernels(build: BuildName, source?: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source as BufferSource);
  const url = source === undefined ? buildUrl(build) : source instanceof URL ? source : new URL(source, buildUrl(build));
  if (url.protocol === 'file:' && isNode) {
    const [{ readFile }, { fileURLToPath }] = await Promise.all([import('node:fs/promises'), import('node:url')]);
    try {
      return await WebAssembly.compile(await readFile(fileURLToPath(url)));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') {
        throw new Error(`simdformer: the ${build} kernel build ${FILES[build]} is missing at ${url.pathname}; run \`npm run build\``);
      }
      throw err;
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`simdformer: could not load ${url}: HTTP ${response.status}`);
  if (typeof WebAssembly.compileStreaming === 'function' && response.headers.get('content-type') === 'application/wasm') {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}
