/**
 * Mutations for the fuzzer (bench/fuzz/cases.ts): bytes (bit flips, overwrites, truncation, insertion), JSON
 * values (a random node of a tree replaced by an interesting value, deleted, or retyped), and safetensors
 * headers (a tensor's dtype, shape or offsets changed, entries removed, renamed or added, the header length
 * wrong, the file re-encoded in another float dtype). Every mutation draws from the case's Rng and says what it
 * did, so a failing case can be told and replayed from its seed and number.
 */
import type { Rng } from '../../src/rng.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;

/** A value that stands for arrays nested thousands deep: written out as such by `jsonText`. */
export const DEEP = '\u0000deep';
const DEEP_TEXT = '['.repeat(5000) + ']'.repeat(5000);

/** JSON text of a tree, with every DEEP value written as arrays nested 5000 deep. */
export const jsonText = (v: unknown, indent?: number): string =>
  JSON.stringify(v, null, indent).replaceAll(JSON.stringify(DEEP), DEEP_TEXT);

/** Values at the edges: zero, signs, powers of two, past int32 and 2^53, fractions, the wrong types. */
export const INTERESTING: readonly Json[] = [
  0,
  -1,
  1,
  2,
  3,
  7,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 31),
  1e308,
  -1e308,
  0.5,
  1.5,
  -0,
  1e-300,
  null,
  true,
  false,
  '',
  'x',
  '0',
  '-1',
  'NaN',
  'Infinity',
  [],
  [1],
  [[1]],
  {},
  { a: 1 },
  'a'.repeat(5000),
  DEEP,
];

/** Sizes that fit the bounds and ask for a model far larger than any fuzzed file holds. */
export const LARGE_SIZES = [
  64,
  257,
  1024,
  4096,
  10_000,
  65_536,
  1_000_000,
  10_000_000,
  100_000_000,
  2 ** 31 - 1,
  2 ** 31,
];

// ------------------------------------------------------------------------------------------------ bytes

export function flipBits(bytes: Uint8Array, rng: Rng, from = 0, to = bytes.length): string {
  if (to <= from) return 'no bytes to flip';
  const n = 1 + rng.int(4);
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = from + rng.int(to - from);
    bytes[k]! ^= 1 << rng.int(8);
    at.push(k);
  }
  return `bits flipped at ${at.join(', ')}`;
}

export function overwrite(bytes: Uint8Array, rng: Rng, from = 0, to = bytes.length): string {
  if (to <= from) return 'no bytes to overwrite';
  const start = from + rng.int(to - from);
  const len = Math.min(to - start, 1 + rng.int(16));
  const fill = pick(rng, ['random', 'zero', 'ff', 'brace', 'quote']);
  for (let i = 0; i < len; i++) {
    bytes[start + i] =
      fill === 'random' ? rng.int(256) : fill === 'zero' ? 0 : fill === 'ff' ? 255 : fill === 'brace' ? 0x7b : 0x22;
  }
  return `${len} bytes at ${start} overwritten (${fill})`;
}

export function truncate(bytes: Uint8Array, rng: Rng): [Uint8Array, string] {
  const len = rng.int(bytes.length + 1);
  return [bytes.slice(0, len), `truncated to ${len} of ${bytes.length} bytes`];
}

export function insert(bytes: Uint8Array, rng: Rng): [Uint8Array, string] {
  const at = rng.int(bytes.length + 1);
  const extra = Uint8Array.from({ length: 1 + rng.int(32) }, () => rng.int(256));
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes.subarray(0, at));
  out.set(extra, at);
  out.set(bytes.subarray(at), at + extra.length);
  return [out, `${extra.length} random bytes inserted at ${at}`];
}

/** One of the byte mutations above, anywhere in the file. */
export function mutateBytes(bytes: Uint8Array, rng: Rng): [Uint8Array, string] {
  const copy = bytes.slice();
  switch (rng.int(4)) {
    case 0:
      return [copy, flipBits(copy, rng)];
    case 1:
      return [copy, overwrite(copy, rng)];
    case 2:
      return truncate(copy, rng);
    default:
      return insert(copy, rng);
  }
}

// ------------------------------------------------------------------------------------------------- JSON

/** Paths to every node of a JSON tree (arrays sampled: at most 8 entries each). */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (out.length > 4000) return out;
  if (Array.isArray(v)) {
    const step = Math.max(1, Math.floor(v.length / 8));
    for (let i = 0; i < v.length; i += step) paths(v[i]!, [...at, i], out);
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) paths(v[k]!, [...at, k], out);
  }
  return out;
}

function getAt(v: Json, path: (string | number)[]): Json {
  let x = v;
  for (const k of path) x = (x as Record<string | number, Json>)[k]!;
  return x;
}

/** A node of `root` (a copy is changed and returned): replaced, deleted, retyped, or a sibling added. */
export function mutateJson(root: Json, rng: Rng, prefer?: (path: (string | number)[]) => boolean): [Json, string] {
  const tree = structuredClone(root);
  let all = paths(tree);
  if (prefer && rng.int(2) === 0) {
    const preferred = all.filter(prefer);
    if (preferred.length > 0) all = preferred;
  }
  const path = pick(rng, all);
  const where = path.length === 0 ? '(root)' : path.join('.');
  const op = rng.int(5);
  const value =
    op === 0
      ? pick(rng, INTERESTING)
      : op === 1
        ? JSON.stringify(getAt(tree, path) ?? null)
        : op === 2 && typeof getAt(tree, path) === 'number'
          ? (getAt(tree, path) as number) + pick(rng, [-1, 1, 1e6, -1e6, 0.5])
          : pick(rng, INTERESTING);
  if (path.length === 0) return [value, `the whole JSON replaced by ${show(value)}`];
  const parent = getAt(tree, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  if (op === 3) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return [tree, `${where} deleted`];
  }
  if (op === 4 && !Array.isArray(parent)) {
    parent[`${String(key)}_${rng.int(100)}`] = pick(rng, INTERESTING);
    parent[key] = pick(rng, INTERESTING);
    return [tree, `${where} set to ${show(parent[key])}, and a sibling added`];
  }
  parent[key] = value;
  return [tree, `${where} set to ${show(value)}`];
}

export const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const jsonBytes = (v: unknown): Uint8Array => utf8(jsonText(v, 2));

/** The JSON of `bytes`, or undefined when they are not JSON. */
export function parseJson(bytes: Uint8Array): Json | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as Json;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------ safetensors

interface Parts {
  header: Record<string, Json>;
  data: Uint8Array;
}

function split(bytes: Uint8Array): Parts | undefined {
  if (bytes.length < 8) return undefined;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (n > bytes.length - 8) return undefined;
  const header = parseJson(bytes.subarray(8, 8 + n));
  if (header === undefined || header === null || typeof header !== 'object' || Array.isArray(header)) return undefined;
  return { header, data: bytes.slice(8 + n) };
}

function join(header: Json, data: Uint8Array, lengthDelta = 0n): Uint8Array {
  const json = utf8(jsonText(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(padded) + lengthDelta), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  out.set(data, 8 + padded);
  return out;
}

const DTYPES: readonly Json[] = [
  'F32',
  'F16',
  'BF16',
  'F64',
  'I32',
  'I64',
  'BOOL',
  'U8',
  'F8_E4M3',
  'f32',
  'X',
  5,
  null,
];

/** A change to the header of a safetensors file: a tensor's dtype, shape or offsets, its entry, or the length. */
export function mutateSafetensors(bytes: Uint8Array, rng: Rng): [Uint8Array, string] {
  const parts = split(bytes);
  if (!parts) return mutateBytes(bytes, rng);
  const { header, data } = parts;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names.length > 0 ? pick(rng, names) : '__none__';
  const entry = header[name] as Record<string, Json> | undefined;
  const offsets = (entry?.data_offsets as number[] | undefined) ?? [0, 0];
  const shape = (entry?.shape as number[] | undefined) ?? [];
  switch (rng.int(10)) {
    case 0:
      if (entry) entry.dtype = pick(rng, DTYPES);
      return [join(header, data), `${name}: dtype ${show(entry?.dtype)}`];
    case 1: {
      const total = shape.reduce((a, d) => a * d, 1);
      const choices: Json[] = [
        [],
        [0],
        [1],
        [-1],
        [2 ** 31],
        [2 ** 53],
        [1.5],
        ['3'],
        [...shape].reverse(),
        [...shape, 1],
        [total],
        [total * 2],
        [2, total / 2],
        shape.map((d) => d + 1),
        null,
      ];
      if (entry) entry.shape = pick(rng, choices);
      return [join(header, data), `${name}: shape ${show(entry?.shape)}`];
    }
    case 2: {
      const [b, e] = offsets;
      const choices: Json[] = [
        [e!, b!],
        [b! + 1, e! + 1],
        [b!, e! - 1],
        [b! - 1, e!],
        [b!, 2 ** 53],
        [-1, e!],
        [b! + 0.5, e!],
        [String(b), e!],
        [b!],
        [b!, e!, 0],
        [0, data.length],
        null,
      ];
      if (entry) entry.data_offsets = pick(rng, choices);
      return [join(header, data), `${name}: data_offsets ${show(entry?.data_offsets)}`];
    }
    case 3:
      delete header[name];
      return [join(header, data), `${name}: entry removed`];
    case 4: {
      const other = name.replace(/\d+/, (d) => String(Number(d) + 1 + rng.int(3))).replace(/weight$/, 'bias');
      if (entry) {
        delete header[name];
        header[other === name ? `${name}.x` : other] = entry;
      }
      return [join(header, data), `${name}: renamed`];
    }
    case 5:
      header[`extra.${rng.int(1000)}`] = { dtype: 'F32', shape: pick(rng, [[0], [2]]), data_offsets: [0, 0] };
      return [join(header, data), 'an extra entry added'];
    case 6:
      header['__metadata__'] = pick<Json>(rng, [{ format: 'pt' }, { format: 5 }, [], 'x', null, { a: { b: 1 } }]);
      return [join(header, data), `__metadata__ ${show(header['__metadata__'])}`];
    case 7: {
      const delta = pick(rng, [-8n, -1n, 1n, 8n, 2n ** 32n, 2n ** 63n, -(2n ** 63n)]);
      return [join(header, data, delta), `header length off by ${delta}`];
    }
    case 8:
      try {
        return recode(structuredClone(parts), rng);
      } catch {
        return [join(header, data), 'not recoded (offsets outside the data)'];
      }
    default: {
      const copy = bytes.slice();
      const headerEnd = bytes.length - data.length;
      return [copy, `body ${flipBits(copy, rng, headerEnd)}`];
    }
  }
}

/** The file re-encoded, valid, in another float dtype (F16, BF16 or F64): what half-precision checkpoints hold. */
function recode({ header, data }: Parts, rng: Rng): [Uint8Array, string] {
  const dtype = pick(rng, ['F16', 'BF16', 'F64'] as const);
  const size = dtype === 'F64' ? 8 : 2;
  const entries = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .sort(
      (a, b) =>
        (a[1] as { data_offsets: number[] }).data_offsets[0]! - (b[1] as { data_offsets: number[] }).data_offsets[0]!,
    );
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const [, raw] of entries) {
    const e = raw as { dtype: string; data_offsets: number[] };
    if (e.dtype !== 'F32') return [join(header, data), 'not recoded (not all F32)'];
    const [b, end] = e.data_offsets as [number, number];
    const src = new DataView(data.buffer, data.byteOffset + b, end - b);
    const n = (end - b) / 4;
    const out = new Uint8Array(n * size);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      const x = src.getFloat32(4 * i, true);
      if (dtype === 'F64') dv.setFloat64(8 * i, x, true);
      else if (dtype === 'BF16') dv.setUint16(2 * i, new Uint32Array(new Float32Array([x]).buffer)[0]! >>> 16, true);
      else dv.setUint16(2 * i, toF16(x), true);
    }
    e.dtype = dtype;
    e.data_offsets = [at, at + out.length];
    at += out.length;
    chunks.push(out);
  }
  const body = new Uint8Array(at);
  let o = 0;
  for (const c of chunks) {
    body.set(c, o);
    o += c.length;
  }
  return [join(header, body), `re-encoded as ${dtype}`];
}

/** float32 → IEEE binary16 bits (round toward zero; enough for the fuzzer). */
function toF16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const frac = (u >>> 13) & 0x3ff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00 | (Number.isNaN(x) ? 1 : 0);
  return sign | (exp << 10) | frac;
}
