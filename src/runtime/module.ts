import { SimdformerError } from '../errors.js';
import { isNode, nodeModule } from './platform.js';

/** Where the kernel wasm comes from: a compiled module (edge runtimes), bytes, or a URL / path. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | Uint8Array<ArrayBuffer> | URL | string;

export type BuildName = 'single' | 'threads' | 'relaxed';

const FILES: Record<BuildName, string> = {
  single: 'simdformer.wasm',
  threads: 'simdformer.threads.wasm',
  relaxed: 'simdformer.relaxed.wasm',
};

/** The URL of a build shipped with the package (found by bundlers through `new URL(…, import.meta.url)`). */
export function buildUrl(build: BuildName): URL {
  try {
    // spelled out, so bundlers see each asset
    if (build === 'threads') return new URL('../../build/simdformer.threads.wasm', import.meta.url);
    if (build === 'relaxed') return new URL('../../build/simdformer.relaxed.wasm', import.meta.url);
    return new URL('../../build/simdformer.wasm', import.meta.url);
  } catch {
    // workerd gives a module no URL: there the kernels come in as a module binding
    throw kernelsNotFound(build, 'this runtime gives the module no URL (import.meta.url) to find it from');
  }
}

/** The kernels are not where the package put them: a clone not built, or a bundle that left them behind. */
function kernelsNotFound(build: BuildName, why: string): SimdformerError {
  return new SimdformerError(
    'KERNELS_NOT_FOUND',
    `the ${build} kernel build ${FILES[build]} could not be loaded: ${why}. In a clone, \`npm run build\` makes it; ` +
      `a bundle whose bundler does not copy new URL(…, import.meta.url) assets (esbuild) needs simdformer/build/${FILES[build]} ` +
      `copied beside it and Engine.create({ wasm: { ${build}: <its URL or bytes, or a WebAssembly.Module> } })`,
  );
}

/** Compiles one build of the kernels from the given source, or from the file shipped with the package. */
export async function compileKernels(build: BuildName, source?: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source as BufferSource);
  const url =
    source === undefined ? buildUrl(build) : source instanceof URL ? source : new URL(source, buildUrl(build));
  if (url.protocol === 'file:' && isNode) {
    const [{ readFile }, { fileURLToPath }] = await Promise.all([
      nodeModule<typeof import('node:fs/promises')>('node:fs/promises'),
      nodeModule<typeof import('node:url')>('node:url'),
    ]);
    try {
      return await WebAssembly.compile(await readFile(fileURLToPath(url)));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') throw kernelsNotFound(build, `no file at ${fileURLToPath(url)}`);
      throw err;
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw kernelsNotFound(build, `${url}: HTTP ${response.status}`);
  if (
    typeof WebAssembly.compileStreaming === 'function' &&
    response.headers.get('content-type') === 'application/wasm'
  ) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * Makes relaxed SIMD available where the engine needs a flag for it (Node 20: V8's
 * --experimental-wasm-relaxed-simd, set before any compile; workers started later inherit it), and
 * says whether this runtime now validates a relaxed module.
 */
export async function enableRelaxedSimd(): Promise<boolean> {
  if (relaxedSimdSupported()) return true;
  if (isNode) {
    const v8 = await nodeModule<typeof import('node:v8')>('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
  return relaxedSimdSupported();
}

/** (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)) */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2,
  253, 133, 2, 11,
]);

export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** 1 + 2⁻¹²: its square is 1 + 2⁻¹¹ + 2⁻²⁴, whose last term a float32 multiply rounds away (a tie, to even). */
const PROBE_X = 1 + 2 ** -12;

/**
 * Whether a build's multiply-add is fused in this runtime: the spec lets f32x4.relaxed_madd round once
 * (fused: V8 on x64 with FMA) or twice (a multiply then an add: Bun's JavaScriptCore), and only the fused
 * one gives the relaxed build its own results. Asks the build's madd_probe export for x·x − 1: fused it
 * is 2⁻¹¹ + 2⁻²⁴, rounded twice 2⁻¹¹. The instance lives on a one-page memory of its own.
 */
export async function maddIsFused(module: WebAssembly.Module, shared: boolean): Promise<boolean> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared });
  const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
  const probe = exports.madd_probe as (a: number, b: number, c: number) => number;
  return probe(PROBE_X, PROBE_X, -1) === 2 ** -11 + 2 ** -24;
}
