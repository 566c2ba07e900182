/**
 * Streaming safetensors: the header is read first, then the data section flows through in file order,
 * each tensor's bytes landing in a buffer its target hands out (for float32, the destination itself;
 * for float16 / bfloat16 / float64, a small staging buffer converted into the destination), so a reader
 * never holds a whole file. No Node APIs: a file handle, a Blob and an HTTP body are all `ByteReader`s.
 */
import { SafetensorsError } from '../errors.js';
import {
  DTYPE_SIZE,
  f16ToF32,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from './safetensors.js';

/** A file read front to back. */
export interface ByteReader {
  /** Fills `into` from the current position; returns the bytes read, fewer only at the end of the file. */
  read(into: Uint8Array): Promise<number>;
  /** Moves `n` bytes forward without keeping them; fewer than `n` left is an error of the caller's making. */
  skip(n: number): Promise<void>;
  /** Releases the file (closes a handle, cancels a body). Safe to call twice. */
  close(): Promise<void>;
}

/** Where the bytes of one tensor go. Each buffer's length is a whole number of elements. */
export interface TensorTarget {
  /** A buffer for the tensor's raw bytes [at, at + length), at most `bytes` long and at least one element. */
  buffer(at: number, bytes: number): Uint8Array;
  /** The last buffer is full: bytes [at, at + bytes) of the tensor are in it. */
  commit(at: number, bytes: number): void;
}

/** Reads a safetensors header from the start of `reader`, leaving it at the data section. */
export async function readSafetensorsHeader(
  reader: ByteReader,
  fileSize: number,
  where: string,
): Promise<SafetensorsHeader> {
  try {
    const first8 = new Uint8Array(8);
    const got = await reader.read(first8);
    const headerLen = safetensorsHeaderLength(first8.subarray(0, got), got < 8 ? got : fileSize);
    const header = new Uint8Array(headerLen);
    if ((await reader.read(header)) < headerLen) {
      throw new SafetensorsError(`file ended inside its ${headerLen}-byte header (truncated)`);
    }
    return parseSafetensorsHeader(header, fileSize);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${where}: ${e.message}`);
    throw e;
  }
}

/**
 * Streams the data section (the reader stands at its start) tensor by tensor in file order: a tensor
 * with a target is read into the target's buffers, one without is skipped. One read stays in flight while
 * the previous buffer is committed (converted), so reading and converting overlap: a target must not hand
 * out the buffer it was last given for its next call (two staging halves, used in turn, will do). With
 * `overlap` false each buffer is committed before the next is asked for (targets whose commits allocate).
 * `onBytes(n)` reports progress.
 */
export async function streamSafetensors(
  reader: ByteReader,
  header: SafetensorsHeader,
  targetFor: (entry: SafetensorsEntry) => TensorTarget | undefined,
  where: string,
  onBytes?: (n: number) => void,
  overlap = true,
): Promise<void> {
  type Step = { entry: SafetensorsEntry; target?: TensorTarget; at: number; bytes: number; buf?: Uint8Array };
  function* steps(): Generator<Step> {
    for (const entry of [...header.entries].sort((a, b) => a.begin - b.begin)) {
      const size = entry.end - entry.begin;
      const target = targetFor(entry);
      if (!target) {
        yield { entry, at: 0, bytes: size };
        continue;
      }
      for (let at = 0; at < size;) {
        const buf = target.buffer(at, size - at);
        const bytes = buf.length; // read now: a commit that grows the memory detaches buf (its length becomes 0)
        yield { entry, target, at, bytes, buf };
        at += bytes;
      }
    }
  }
  const start = (s: Step): Promise<number> => {
    const p = s.buf ? reader.read(s.buf) : reader.skip(s.bytes).then(() => s.bytes);
    p.catch(() => undefined); // awaited below; never an unhandled rejection if a commit throws first
    return p;
  };
  const it = steps();
  let pending: Promise<number> | undefined;
  /** The next step, its read started. */
  const next = (): IteratorResult<Step> => {
    const r = it.next();
    pending = r.done ? undefined : start(r.value);
    return r;
  };
  let step = next();
  while (!step.done) {
    const s = step.value;
    const n = await pending!;
    if (n < s.bytes) {
      throw new SafetensorsError(
        `${where}: file ended inside tensor '${s.entry.name}' (byte ${header.dataStart + s.entry.begin + s.at + n} of ${header.dataStart + s.entry.end}; truncated)`,
      );
    }
    // overlapped, the next read runs while this buffer is committed; otherwise the next buffer is made after the
    // commit (a commit that allocates may grow the memory, detaching a buffer handed out before it)
    if (overlap) step = next();
    s.target?.commit(s.at, n);
    onBytes?.(n);
    if (!overlap) step = next();
  }
}

// ----------------------------------------------------------------------------------------- dtypes

let F16_TABLE: Float32Array | undefined;
/** Every float16 bit pattern's value as float32 (exact: float32 holds every float16), 256 KiB, made once. */
function f16Table(): Float32Array {
  if (!F16_TABLE) {
    F16_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) F16_TABLE[h] = f16ToF32(h);
  }
  return F16_TABLE;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts `count` elements of a float dtype (little-endian, as safetensors stores them) from `src` into
 * `dst` as float32. Exact for F32, F16 and BF16 (float32 holds every value of both); F64 rounds to nearest.
 */
export function convertToF32(dtype: string, src: Uint8Array, dst: Float32Array, count: number): void {
  const size = DTYPE_SIZE[dtype];
  if (size === undefined || !['F32', 'F16', 'BF16', 'F64'].includes(dtype)) {
    throw new SafetensorsError(`dtype ${dtype} is not a float dtype (F32, F16, BF16, F64)`);
  }
  if (src.length < count * size || dst.length < count) {
    throw new SafetensorsError(`convert ${count} ${dtype} elements: ${src.length} source bytes, ${dst.length} slots`);
  }
  const aligned = LITTLE_ENDIAN_HOST && src.byteOffset % size === 0;
  if (dtype === 'F32') {
    new Uint8Array(dst.buffer, dst.byteOffset, count * 4).set(src.subarray(0, count * 4));
  } else if (dtype === 'F16' || dtype === 'BF16') {
    const u16 = aligned ? new Uint16Array(src.buffer, src.byteOffset, count) : readU16(src, count);
    if (dtype === 'F16') {
      const table = f16Table();
      for (let i = 0; i < count; i++) dst[i] = table[u16[i]!]!;
    } else {
      const bits = new Uint32Array(dst.buffer, dst.byteOffset, count); // bf16 is the top half of a float32
      for (let i = 0; i < count; i++) bits[i] = u16[i]! << 16;
    }
  } else {
    const view = new DataView(src.buffer, src.byteOffset, count * 8);
    for (let i = 0; i < count; i++) dst[i] = view.getFloat64(8 * i, true);
  }
}

function readU16(src: Uint8Array, count: number): Uint16Array {
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = src[2 * i]! | (src[2 * i + 1]! << 8);
  return out;
}

// ---------------------------------------------------------------------------------------- readers

/** A reader over a stream of byte chunks (an HTTP body, `Blob.stream()`). */
export function streamReader(stream: ReadableStream<Uint8Array>): ByteReader {
  const it = stream.getReader();
  let chunk: Uint8Array = new Uint8Array(0);
  let done = false;
  const next = async (): Promise<boolean> => {
    if (done) return false;
    const r = await it.read();
    if (r.done) {
      done = true;
      return false;
    }
    chunk = r.value;
    return true;
  };
  return {
    async read(into) {
      let n = 0;
      while (n < into.length) {
        if (chunk.length === 0 && !(await next())) break;
        const take = Math.min(chunk.length, into.length - n);
        into.set(chunk.subarray(0, take), n);
        chunk = chunk.subarray(take);
        n += take;
      }
      return n;
    },
    async skip(n) {
      while (n > 0) {
        if (chunk.length === 0 && !(await next())) throw new SafetensorsError(`file ended ${n} bytes early`);
        const take = Math.min(chunk.length, n);
        chunk = chunk.subarray(take);
        n -= take;
      }
    },
    async close() {
      if (!done) {
        done = true;
        await it.cancel().catch(() => undefined);
      }
    },
  };
}

/** A reader over a Blob or File (a dropped file in a page, say), read in slices. */
export function blobReader(blob: Blob, sliceBytes = 16 * 2 ** 20): ByteReader {
  let pos = 0;
  return {
    async read(into) {
      let n = 0;
      while (n < into.length && pos < blob.size) {
        const end = Math.min(blob.size, pos + Math.min(sliceBytes, into.length - n));
        const part = new Uint8Array(await blob.slice(pos, end).arrayBuffer());
        into.set(part, n);
        n += part.length;
        pos += part.length;
      }
      return n;
    },
    skip(n) {
      if (pos + n > blob.size)
        return Promise.reject(new SafetensorsError(`file ended ${pos + n - blob.size} bytes early`));
      pos += n;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
