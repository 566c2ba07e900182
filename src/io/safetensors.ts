/**
 * safetensors: read and write, bytes in, bytes out (no Node APIs, so browsers and workers can use it).
 *
 * Layout:  [u64 little-endian N] [N bytes of UTF-8 JSON header, space-padded] [data section]
 * Header:  { "__metadata__"?: {string: string}, "<name>": { dtype, shape, data_offsets: [begin, end] }, ... }
 *          offsets are relative to the start of the data section; the tensors must tile it exactly
 *          (sorted by begin: first at 0, each begins where the previous ended, the last ends at its end).
 *
 * Reading converts F32 / F16 / BF16 / F64 to Float32Array (the file's dtype is kept in `dtype`) and returns
 * I32 as Int32Array and I64 as BigInt64Array (exact: ids and counts past 2^53 stay right; use `Number()`).
 * An F32 tensor whose bytes are 4-aligned in memory is a zero-copy view into the input: writing to it writes
 * into `bytes`. Pass `{ copy: true }` to get arrays of their own.
 *
 * Writing emits F32 only, the way the Hugging Face `safetensors` library does: tensors sorted by dtype
 * alignment (largest first) then by name (byte order), header keys `__metadata__` first then tensors in data
 * order, header padded with spaces to a multiple of 8 bytes, and `{"format":"pt"}` in the metadata so
 * `transformers` accepts the file. For a file written by that library with the same tensors and metadata the
 * output is byte-identical (tests check this against a real checkpoint).
 */
import { SafetensorsError } from '../errors.js';
import { describe } from './describe.js';
import { jsonTextNestsWithin } from './json.js';

/** A tensor handed to the writer: row-major float32 data of `product(shape)` elements. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';
export type IntDtype = 'I32' | 'I64';
export type ReadableDtype = FloatDtype | IntDtype;

/** A tensor read from a file: floats come back as Float32Array whatever their stored dtype. */
export type SafetensorsTensor =
  | { name: string; dtype: FloatDtype; shape: number[]; data: Float32Array }
  | { name: string; dtype: 'I32'; shape: number[]; data: Int32Array }
  | { name: string; dtype: 'I64'; shape: number[]; data: BigInt64Array };

export interface SafetensorsFile {
  /** `__metadata__` of the header ({} when absent). */
  metadata: Record<string, string>;
  /** Every tensor, in data order (the order of their bytes in the file). */
  tensors: Map<string, SafetensorsTensor>;
}

export interface ReadOptions {
  /** Always copy tensor data out of `bytes` (default false: aligned F32 tensors are views). */
  copy?: boolean;
}

/** Bytes per element of every dtype the format defines (the Rust crate's `Dtype`), readable or not. */
export const DTYPE_SIZE: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};
const READABLE: readonly ReadableDtype[] = ['F32', 'F16', 'BF16', 'F64', 'I32', 'I64'];

/** Same cap as the Rust crate: a header past 100 MB is refused before it is decoded. */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------- read

export function readSafetensors(bytes: Uint8Array, options: ReadOptions = {}): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new SafetensorsError(`expected the file's bytes as a Uint8Array, got ${describe(bytes)}`);
  }
  const headerLen = safetensorsHeaderLength(bytes, bytes.length);
  const { metadata, entries, dataStart } = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLen), bytes.length);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    tensors.set(e.name, decodeTensor(e, bytes, dataStart, options.copy === true));
  }
  return { metadata, tensors };
}

/** A file's header: what readers that stream the data section (src/io/tensor-stream.ts) need. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** Every tensor, in data order; offsets relative to the data section, which starts at `dataStart`. */
  entries: SafetensorsEntry[];
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/**
 * The header's length N from the file's first 8 bytes, checked against the file's size and the format's
 * limits: the header is bytes [8, 8 + N) and the data section follows it.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new SafetensorsError(
      `file is ${fileSize} bytes: too short for the 8-byte header length that starts every safetensors file (truncated?)`,
    );
  }
  const headerLen64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const room = fileSize - 8;
  if (headerLen64 > BigInt(room)) {
    throw new SafetensorsError(
      `header length ${headerLen64} is larger than the ${room} bytes that follow it (file of ${fileSize} bytes; truncated, or not a safetensors file)`,
    );
  }
  const headerLen = Number(headerLen64);
  if (headerLen > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`header length ${headerLen} is past the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (headerLen < 2) {
    throw new SafetensorsError(`header length ${headerLen} is too short for a JSON object (expected at least "{}")`);
  }
  return headerLen;
}

/**
 * Parses and checks a header (its N bytes of JSON) for a file of `fileSize` bytes: every entry's dtype,
 * shape and offsets, and that the tensors tile the data section exactly.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const header = parseHeaderJson(headerBytes);
  const dataStart = 8 + headerBytes.length;
  const dataLen = fileSize - dataStart;
  const metadata = parseMetadata(header['__metadata__']);
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    entries.push(parseEntry(name, value, dataLen));
  }
  checkCoverage(entries, dataLen);
  return { metadata, entries, dataStart };
}

/** One tensor of a header: its bytes are [begin, end) of the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: ReadableDtype;
  shape: number[];
  begin: number;
  end: number;
}
type Entry = SafetensorsEntry;

function parseHeaderJson(headerBytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(`header (${headerBytes.length} bytes) is not valid UTF-8`);
  }
  if (!jsonTextNestsWithin(text, 8)) {
    throw new SafetensorsError(`header nests objects or arrays deeper than 8 levels (a header nests 3)`);
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError(
      `header should be a JSON object starting with "{", it starts with ${JSON.stringify(text.slice(0, 16))}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header (${headerBytes.length} bytes) is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SafetensorsError(`header should be a JSON object of tensors, got ${describe(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SafetensorsError(`__metadata__ should be an object of string values, got ${describe(raw)}`);
  }
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(`__metadata__.${k} should be a string, got ${describe(v)}`);
    }
  }
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>; // own keys, "__proto__" too
}

function parseEntry(name: string, raw: unknown, dataLen: number): Entry {
  const where = `tensor '${name}'`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SafetensorsError(`${where}: expected {dtype, shape, data_offsets}, got ${describe(raw)}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;

  if (typeof dtype !== 'string') {
    throw new SafetensorsError(`${where}: dtype should be a string such as "F32", got ${describe(dtype)}`);
  }
  if (!(dtype in DTYPE_SIZE)) {
    throw new SafetensorsError(
      `${where}: unknown dtype ${JSON.stringify(dtype)} (safetensors dtypes: ${Object.keys(DTYPE_SIZE).join(', ')})`,
    );
  }
  if (!(READABLE as readonly string[]).includes(dtype)) {
    throw new SafetensorsError(
      `${where}: dtype ${dtype} is valid safetensors but not readable here (readable: ${READABLE.join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new SafetensorsError(`${where}: shape should be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
  ) {
    throw new SafetensorsError(
      `${where}: data_offsets should be [begin, end], two non-negative integers, got ${describe(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  }
  if (end > dataLen) {
    throw new SafetensorsError(
      `${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLen} bytes; truncated file?)`,
    );
  }
  let elements = 1;
  for (const d of shape as number[]) elements *= d;
  const expected = elements * DTYPE_SIZE[dtype]!;
  if (!Number.isSafeInteger(expected) || end - begin !== expected) {
    throw new SafetensorsError(
      `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape [${(shape as number[]).join(', ')}] ` +
        `of ${dtype} needs ${elements} × ${DTYPE_SIZE[dtype]} = ${expected} bytes`,
    );
  }
  return { name, dtype: dtype as ReadableDtype, shape: (shape as number[]).slice(), begin, end };
}

/** The tensors must tile the data section: no overlap, no gap, nothing left over. */
function checkCoverage(entries: Entry[], dataLen: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.begin < at) {
      throw new SafetensorsError(
        `tensor '${e.name}' data_offsets [${e.begin}, ${e.end}] overlap tensor '${prev!.name}' [${prev!.begin}, ${prev!.end}]`,
      );
    }
    if (e.begin > at) {
      throw new SafetensorsError(
        `tensor '${e.name}' begins at ${e.begin}, but ` +
          (prev ? `the previous tensor '${prev.name}' ends at ${at}` : 'the first tensor should begin at 0') +
          ` (gap of ${e.begin - at} bytes; tensors must be contiguous)`,
      );
    }
    at = e.end;
    prev = e;
  }
  if (at !== dataLen) {
    throw new SafetensorsError(
      `data section is ${dataLen} bytes, but the tensors cover only ${at} (${dataLen - at} trailing bytes belong to no tensor)`,
    );
  }
}

function decodeTensor(e: Entry, bytes: Uint8Array, dataStart: number, copy: boolean): SafetensorsTensor {
  const abs = bytes.byteOffset + dataStart + e.begin; // offset into bytes.buffer
  const nbytes = e.end - e.begin;
  const view = new DataView(bytes.buffer, abs, nbytes);
  const { name, shape } = e;
  switch (e.dtype) {
    case 'F32': {
      const n = nbytes / 4;
      if (LITTLE_ENDIAN_HOST && abs % 4 === 0) {
        const v = new Float32Array(bytes.buffer, abs, n);
        return { name, dtype: 'F32', shape, data: copy ? v.slice() : v };
      }
      const data = new Float32Array(n); // (n)
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(4 * i, true);
      return { name, dtype: 'F32', shape, data };
    }
    case 'F16': {
      const n = nbytes / 2;
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = f16ToF32(view.getUint16(2 * i, true));
      return { name, dtype: 'F16', shape, data };
    }
    case 'BF16': {
      const n = nbytes / 2;
      const bits = new Uint32Array(n); // bf16 is the top half of an f32
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return { name, dtype: 'BF16', shape, data: new Float32Array(bits.buffer) };
    }
    case 'F64': {
      const n = nbytes / 8;
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat64(8 * i, true);
      return { name, dtype: 'F64', shape, data };
    }
    case 'I32': {
      const n = nbytes / 4;
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getInt32(4 * i, true);
      return { name, dtype: 'I32', shape, data };
    }
    case 'I64': {
      const n = nbytes / 8;
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getBigInt64(8 * i, true);
      return { name, dtype: 'I64', shape, data };
    }
  }
}

/**
 * The float data of one tensor, checked: present, a float dtype, and (when given) the expected shape.
 * This is what a model loader wants for each parameter; errors name the tensor and what was expected.
 */
export function getFloat32(file: SafetensorsFile, name: string, shape?: readonly number[]): Float32Array {
  const t = file.tensors.get(name);
  if (t === undefined) {
    throw new SafetensorsError(`no tensor '${name}' in the file (it has ${file.tensors.size} tensors)`);
  }
  if (t.dtype === 'I32' || t.dtype === 'I64') {
    throw new SafetensorsError(`tensor '${name}' is ${t.dtype}, expected a float dtype (${FLOAT_DTYPES.join(', ')})`);
  }
  if (shape !== undefined && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
    throw new SafetensorsError(`tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t.data;
}
const FLOAT_DTYPES: readonly FloatDtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** IEEE 754 binary16 → number (subnormals, ±0, ±Inf and NaN included). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// --------------------------------------------------------------------------------------------- write

export function writeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const meta: Record<string, string> = { format: 'pt', ...metadata };
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new SafetensorsError(`metadata.${k} should be a string, got ${describe(v)}`);
  }
  const seen = new Set<string>();
  for (const t of tensors) checkWritable(t, seen);

  // All F32, so "by dtype alignment, then name" is by name, compared as UTF-8 bytes like Rust's String.
  const enc = new TextEncoder();
  const sorted = tensors
    .map((t) => ({ t, key: enc.encode(t.name) }))
    .sort((a, b) => compareBytes(a.key, b.key))
    .map((x) => x.t);

  const header: Record<string, unknown> = { __metadata__: meta };
  let offset = 0;
  for (const t of sorted) {
    const nbytes = t.data.length * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  const json = enc.encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded); // spaces

  const dataStart = 8 + padded; // a multiple of 8: every F32 tensor is 4-aligned in `out`
  offset = 0;
  for (const t of sorted) {
    if (LITTLE_ENDIAN_HOST) {
      new Float32Array(out.buffer, dataStart + offset, t.data.length).set(t.data);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(dataStart + offset + 4 * i, t.data[i]!, true);
    }
    offset += t.data.length * 4;
  }
  return out;
}

function checkWritable(t: NamedTensor, seen: Set<string>): void {
  if (typeof t?.name !== 'string' || t.name.length === 0) {
    throw new SafetensorsError(`every tensor needs a non-empty string name, got ${describe(t?.name)}`);
  }
  const where = `tensor '${t.name}'`;
  if (t.name === '__metadata__')
    throw new SafetensorsError(`${where}: the name __metadata__ is reserved by the format`);
  if (seen.has(t.name)) throw new SafetensorsError(`${where}: name given twice`);
  seen.add(t.name);
  if (!(t.data instanceof Float32Array)) {
    throw new SafetensorsError(
      `${where}: data should be a Float32Array (only F32 is written), got ${describe(t.data)}`,
    );
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`${where}: shape should be an array of non-negative integers, got ${describe(t.shape)}`);
  }
  const elements = t.shape.reduce((a, d) => a * d, 1);
  if (elements !== t.data.length) {
    throw new SafetensorsError(
      `${where}: shape [${t.shape.join(', ')}] has ${elements} elements but data has ${t.data.length}`,
    );
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
