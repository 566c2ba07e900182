import { describe, expect, it } from 'vitest';
import { SafetensorsError } from '../../src/errors.js';
import { type NamedTensor, f16ToF32, getFloat32, readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';

/** Deterministic generator (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensor(name: string, shape: number[], rand: () => number): NamedTensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rand() - 0.5) * 2000;
  return { name, shape, data };
}

/** A file from a header given as text and a data section given as bytes. */
function build(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function headerOf(file: Uint8Array): string {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(file.subarray(8, 8 + n));
}

function expectError(bytes: Uint8Array, message: RegExp): void {
  let err: unknown;
  try {
    readSafetensors(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(message);
}

describe('writeSafetensors → readSafetensors', () => {
  it('round-trips several tensors of odd shapes bit for bit, with metadata', () => {
    const rand = rng(1);
    const shapes = [[1], [3], [4, 5], [7, 17], [64, 67], [3, 1, 5], [5, 3, 4, 7], [], [0], [0, 3]];
    const tensors = shapes.map((s, i) => randomTensor(`layer.${i}.weight`, s, rand));
    tensors[0]!.data[0] = NaN;
    tensors[1]!.data.set([-0, Infinity, -Infinity]);
    const file = writeSafetensors(tensors, { step: '1200', note: 'ünïcode ✓' });
    const back = readSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt', step: '1200', note: 'ünïcode ✓' });
    expect(back.tensors.size).toBe(tensors.length);
    for (const t of tensors) {
      const r = back.tensors.get(t.name)!;
      expect(r.dtype).toBe('F32');
      expect(r.shape).toEqual(t.shape);
      // bit-exact, NaN and -0 included
      expect(new Uint32Array((r.data as Float32Array).slice().buffer)).toEqual(new Uint32Array(t.data.slice().buffer));
    }
  });

  it('lays the file out as the HF library does: metadata first, padded header, tensors by name', () => {
    const rand = rng(2);
    const file = writeSafetensors([randomTensor('b', [3], rand), randomTensor('a', [2, 2], rand)]);
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = headerOf(file);
    expect(header.trimEnd()).toBe(
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},' +
        '"b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}}',
    );
    expect(header.slice(header.trimEnd().length)).toMatch(/^ *$/);
    expect(file.length).toBe(8 + n + 28);
  });

  it('sorts names by UTF-8 bytes like Rust, not by UTF-16 code units', () => {
    // U+FF5E is 0xFF5E in UTF-16 but EF BD 9E in UTF-8; U+1F600 is D83D.. in UTF-16 but F0 9F .. in UTF-8.
    const tensors = ['a\u{1F600}', 'a\uFF5E', 'a'].map((name) => ({ name, shape: [1], data: new Float32Array([1]) }));
    const names = [...readSafetensors(writeSafetensors(tensors)).tensors.keys()];
    expect(names).toEqual(['a', 'a\uFF5E', 'a\u{1F600}']);
  });

  it('lets the caller override format, and writes any metadata string', () => {
    const file = writeSafetensors([], { format: 'mlx' });
    expect(readSafetensors(file).metadata).toEqual({ format: 'mlx' });
    expect(readSafetensors(file).tensors.size).toBe(0);
    const proto = readSafetensors(build('{"__metadata__":{"__proto__":"x"}}'));
    expect(Object.hasOwn(proto.metadata, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(proto.metadata)).toBe(Object.prototype);
  });

  it('reads aligned F32 as a view of the input, and copies when asked or unaligned', () => {
    const t = randomTensor('w', [5, 7], rng(3));
    const file = writeSafetensors([t]);
    const view = readSafetensors(file).tensors.get('w')!.data;
    expect(view.buffer).toBe(file.buffer);
    const copied = readSafetensors(file, { copy: true }).tensors.get('w')!.data;
    expect(copied.buffer).not.toBe(file.buffer);
    expect(copied).toEqual(t.data);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const unaligned = readSafetensors(shifted.subarray(1)).tensors.get('w')!.data;
    expect(unaligned).toEqual(t.data);
  });

  it('refuses tensors it cannot write, naming them', () => {
    const ok = { name: 'x', shape: [2], data: new Float32Array(2) };
    expect(() => writeSafetensors([{ ...ok, shape: [3] }])).toThrow(
      /tensor 'x': shape \[3\] has 3 elements but data has 2/,
    );
    expect(() => writeSafetensors([ok, ok])).toThrow(/tensor 'x': name given twice/);
    expect(() => writeSafetensors([{ ...ok, name: '__metadata__' }])).toThrow(SafetensorsError);
    expect(() => writeSafetensors([{ ...ok, shape: [-2] }])).toThrow(/non-negative integers/);
    expect(() => writeSafetensors([{ ...ok, data: new Float64Array(2) as unknown as Float32Array }])).toThrow(
      /Float32Array/,
    );
  });
});

describe('readSafetensors dtypes', () => {
  it('converts F16 (normal, subnormal, ±Inf, NaN) to Float32Array and keeps the dtype', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const data = new Uint8Array(new Uint16Array(bits).buffer);
    const t = readSafetensors(build(`{"h":{"dtype":"F16","shape":[2,4],"data_offsets":[0,16]}}`, data)).tensors.get(
      'h',
    )!;
    expect(t.dtype).toBe('F16');
    expect(Array.from(t.data as Float32Array)).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity, -Infinity, NaN]);
    expect(f16ToF32(0x3555)).toBeCloseTo(1 / 3, 3);
  });

  it('converts BF16 and F64 to Float32Array', () => {
    const f32 = new Float32Array([1.5, -3.25, 1e30]);
    const hi = new Uint16Array(3);
    new Uint32Array(f32.buffer).forEach((b, i) => (hi[i] = b >>> 16));
    const bf = readSafetensors(
      build(`{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}  `, new Uint8Array(hi.buffer)),
    );
    expect(bf.tensors.get('b')!.dtype).toBe('BF16');
    const truncated = new Float32Array(new Uint32Array(Array.from(hi, (h) => h << 16)).buffer); // bf16 = top half
    expect(Array.from(bf.tensors.get('b')!.data as Float32Array)).toEqual(Array.from(truncated));
    expect(truncated[2]).toBeCloseTo(1e30, -28);
    const f64 = new Float64Array([0.1, -2, 1e-300]);
    const d = readSafetensors(
      build(`{"d":{"dtype":"F64","shape":[3],"data_offsets":[0,24]}}`, new Uint8Array(f64.buffer)),
    );
    expect(d.tensors.get('d')!.dtype).toBe('F64');
    expect(Array.from(d.tensors.get('d')!.data as Float32Array)).toEqual([Math.fround(0.1), -2, 0]);
  });

  it('returns I32 as Int32Array and I64 as BigInt64Array (exact past 2^53)', () => {
    const i32 = new Int32Array([-1, 0, 2147483647]);
    const i64 = new BigInt64Array([-5n, 2n ** 53n + 1n]);
    const data = new Uint8Array(28);
    data.set(new Uint8Array(i32.buffer), 0);
    data.set(new Uint8Array(i64.buffer), 12);
    const f = readSafetensors(
      build(
        `{"ids":{"dtype":"I32","shape":[3],"data_offsets":[0,12]},"pos":{"dtype":"I64","shape":[1,2],"data_offsets":[12,28]}}`,
        data,
      ),
    );
    const ids = f.tensors.get('ids')!;
    const pos = f.tensors.get('pos')!;
    expect(ids.data).toBeInstanceOf(Int32Array);
    expect(Array.from(ids.data as Int32Array)).toEqual([-1, 0, 2147483647]);
    expect(pos.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(pos.data as BigInt64Array)).toEqual([-5n, 2n ** 53n + 1n]);
    expect(() => getFloat32(f, 'pos')).toThrow(/tensor 'pos' is I64, expected a float dtype/);
  });

  it('getFloat32 checks presence, dtype and shape', () => {
    const f = readSafetensors(writeSafetensors([{ name: 'w', shape: [2, 3], data: new Float32Array(6).fill(7) }]));
    expect(Array.from(getFloat32(f, 'w', [2, 3]))).toEqual([7, 7, 7, 7, 7, 7]);
    expect(() => getFloat32(f, 'w', [3, 2])).toThrow(/tensor 'w' has shape \[2, 3\], expected \[3, 2\]/);
    expect(() => getFloat32(f, 'v')).toThrow(/no tensor 'v' in the file/);
  });
});

describe('readSafetensors on corrupt files', () => {
  const good = writeSafetensors([randomTensor('a', [3, 5], rng(4)), randomTensor('b', [7], rng(5))]);
  const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));

  it('gives a SafetensorsError for every truncation point (length prefix, header, data)', () => {
    for (let cut = 0; cut < good.length; cut++) {
      const where =
        cut < 8
          ? /8-byte header length/
          : cut < 8 + headerLen
            ? /header length \d+ is larger/
            : /run past the end|cover only/;
      expectError(good.subarray(0, cut), where);
    }
  });

  it('names the tensor that runs past a truncated data section', () => {
    expectError(good.subarray(0, good.length - 1), /tensor 'b'.*run past the end of the data section/);
  });

  it('rejects a header length larger than the file', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setBigUint64(0, 2n ** 63n, true);
    expectError(bad, /header length 9223372036854775808 is larger than the \d+ bytes/);
  });

  it('rejects bad JSON, non-objects, non-UTF-8 and bad metadata', () => {
    expectError(build('{"a": {"dtype": "F32",'), /not valid JSON/);
    expectError(build('[1,2,3]'), /should be a JSON object starting with "\{"/);
    expectError(build('{}'.padEnd(8, ' ').replace('{', '\xff')), /should be a JSON object|not valid UTF-8/);
    const invalidUtf8 = build('{"a":1}');
    invalidUtf8[10] = 0xff;
    expectError(invalidUtf8, /not valid UTF-8/);
    expectError(build('{"__metadata__":{"format":1}}'), /__metadata__\.format should be a string, got number 1/);
    expectError(build('{"__metadata__":[1]}'), /__metadata__ should be an object/);
    expectError(build('{"a":5}'), /tensor 'a': expected \{dtype, shape, data_offsets\}/);
  });

  it('rejects offsets out of range, reversed, overlapping or leaving gaps', () => {
    const d16 = new Uint8Array(16);
    expectError(
      build('{"a":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}}', d16),
      /tensor 'a': data_offsets \[4, 20\] run past the end of the data section \(16 bytes/,
    );
    expectError(
      build('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}', d16),
      /tensor 'a': data_offsets \[8, 4\] end before they begin/,
    );
    expectError(
      build(
        '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}',
        new Uint8Array(12),
      ),
      /tensor 'b' data_offsets \[8, 12\] overlap tensor 'a' \[0, 12\]/,
    );
    expectError(
      build(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}',
        d16,
      ),
      /tensor 'b' begins at 12, but the previous tensor 'a' ends at 8 \(gap of 4 bytes/,
    );
    expectError(
      build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', new Uint8Array(12)),
      /first tensor should begin at 0/,
    );
    expectError(
      build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', d16),
      /data section is 16 bytes, but the tensors cover only 8/,
    );
    expectError(
      build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}}', d16),
      /data_offsets should be \[begin, end\]/,
    );
    expectError(
      build('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', d16),
      /data_offsets should be \[begin, end\]/,
    );
  });

  it('rejects a byte length that does not match the shape and dtype', () => {
    expectError(
      build('{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}', new Uint8Array(16)),
      /tensor 'w': data_offsets \[0, 16\] hold 16 bytes, but shape \[2, 3\] of F32 needs 6 × 4 = 24 bytes/,
    );
    expectError(
      build('{"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /tensor 'w': shape should be an array of non-negative integers/,
    );
    expectError(
      build('{"w":{"dtype":"F32","shape":[1e300,1e300],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /tensor 'w'/,
    );
  });

  it('rejects unknown and unsupported dtypes, listing what is known', () => {
    expectError(
      build('{"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      /tensor 'w': unknown dtype "F31" \(safetensors dtypes: BOOL, U8/,
    );
    expectError(
      build('{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}', new Uint8Array(4)),
      /tensor 'w': dtype U8 is valid safetensors but not readable here \(readable: F32, F16, BF16, F64, I32, I64\)/,
    );
    expectError(
      build('{"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      /tensor 'w': dtype should be a string/,
    );
  });

  it('never throws anything but SafetensorsError on randomly damaged files', () => {
    const rand = rng(6);
    for (let trial = 0; trial < 2000; trial++) {
      const bad = good.slice();
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) bad[Math.floor(rand() * (8 + headerLen))] = Math.floor(rand() * 256);
      try {
        readSafetensors(bad);
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`trial ${trial}: ${String(e)}`, { cause: e });
      }
    }
  });
});
