/**
 * Writes safetensors files of any dtype from raw little-endian bytes (the library's writer emits F32
 * only), and float16 / bfloat16 helpers, for tests of readers that convert them.
 */
export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  /** The tensor's bytes as stored (little-endian). */
  bytes: Uint8Array;
}

/** A safetensors file: header (names in the given order, data in the same order), padded to 8 bytes. */
export function writeRawSafetensors(
  tensors: RawTensor[],
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset).fill(0x20, 8, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/**
 * `n` random 16-bit patterns (seeded), every one finite: for float16 exponents 0–30, for bfloat16 0–254,
 * so subnormals, zeros of both signs, the largest and the smallest values all occur in a few thousand.
 */
export function randomHalfBits(n: number, seed: number, kind: 'F16' | 'BF16'): Uint16Array {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    const sign = (r >>> 31) << 15;
    if (kind === 'F16') out[i] = sign | (((r >>> 8) % 31) << 10) | (next() & 1023);
    else out[i] = sign | (((r >>> 8) % 255) << 7) | (next() & 127);
  }
  return out;
}

export const le16 = (bits: Uint16Array): Uint8Array => {
  const out = new Uint8Array(bits.length * 2);
  const v = new DataView(out.buffer);
  bits.forEach((b, i) => v.setUint16(2 * i, b, true));
  return out;
};

export const le32 = (x: Float32Array): Uint8Array => {
  const out = new Uint8Array(x.length * 4);
  const v = new DataView(out.buffer);
  x.forEach((b, i) => v.setFloat32(4 * i, b, true));
  return out;
};

export const le64 = (x: Float64Array): Uint8Array => {
  const out = new Uint8Array(x.length * 8);
  const v = new DataView(out.buffer);
  x.forEach((b, i) => v.setFloat64(8 * i, b, true));
  return out;
};
