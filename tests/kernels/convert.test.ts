import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { convertHalf } from '../../src/tensor/ops/convert.js';
import { ArgumentError } from '../../src/errors.js';
import { refBF16, refF16 } from '../ref/convert.js';
import { expectBitIdentical } from '../util/check.js';

// Kernels: convert_f16_f32 convert_bf16_f32 (no backward: loaders' ops).

const SIZES = [1, 3, 4, 5, 7, 8, 9, 17, 64, 67, 40_003];
const REFS = { F16: refF16, BF16: refBF16 } as const;

/** The converted values through convertHalf: `bits` staged in engine memory, written at `offset` of a fresh tensor. */
function convert(e: Engine, bits: Uint16Array, dtype: 'F16' | 'BF16', offset = 0): Float32Array {
  const staging = e.empty([Math.ceil(bits.length / 2)]);
  const v = staging.view();
  new Uint16Array(v.buffer, v.byteOffset, bits.length).set(bits);
  const dst = e.zeros([offset + bits.length + 3]);
  convertHalf(dst, offset, staging, bits.length, dtype);
  const out = dst.toArray();
  expect(
    out.subarray(0, offset).every((x) => x === 0) && out.subarray(offset + bits.length).every((x) => x === 0),
  ).toBe(true);
  staging.dispose();
  dst.dispose();
  return out.subarray(offset, offset + bits.length);
}

/** Exact: the same float32 bits as the float64 reference rounded to float32 (a NaN is any NaN, its payload kept). */
function expectExact(out: Float32Array, bits: Uint16Array, dtype: 'F16' | 'BF16', what: string): void {
  const want = Float32Array.from(bits, REFS[dtype]);
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) {
    if (Number.isNaN(want[i])) {
      if (!Number.isNaN(out[i]))
        expect.fail(`${what}: [${i}] bits ${bits[i]!.toString(16)} should be NaN, got ${out[i]}`);
      // the payload moves up with the mantissa: float16's 10 bits to float32's top 10, bfloat16's 7 to the top 7
      const payload = dtype === 'F16' ? (bits[i]! & 1023) << 13 : (bits[i]! & 127) << 16;
      expect(outBits[i]! & 0x7fffff, `${what}: NaN payload at [${i}]`).toBe(payload);
      continue;
    }
    if (!Object.is(out[i], want[i]))
      expect.fail(`${what}: [${i}] bits ${bits[i]!.toString(16)}: got ${out[i]}, want ${want[i]}`);
  }
}

describe('half-precision → float32 kernels against the formats’ definitions', () => {
  const engines: Engine[] = [];
  beforeAll(async () => {
    for (const threads of [1, 2, 3]) engines.push(await Engine.create({ threads }));
  });
  afterAll(async () => {
    for (const e of engines) await e.dispose();
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`${dtype}: every one of the 65,536 bit patterns (±0, subnormals, the extremes, ±Inf, NaN) exactly`, () => {
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
      expectExact(convert(engines[1]!, all, dtype), all, dtype, `${dtype} all patterns`);
    });

    it.each(SIZES)(`${dtype}: n = %i at an odd offset, bit-identical on 1, 2 and 3 threads`, (n) => {
      const bits = Uint16Array.from({ length: n }, (_, i) => (Math.imul(i + n, 2654435761) >>> 16) & 0xffff);
      const outs = engines.map((e) => convert(e, bits, dtype, 3));
      expectExact(outs[0]!, bits, dtype, `${dtype} n = ${n}`);
      expectBitIdentical(outs[1]!, outs[0]!, `${dtype} n = ${n}, 2 threads vs 1`);
      expectBitIdentical(outs[2]!, outs[0]!, `${dtype} n = ${n}, 3 threads vs 1`);
    });
  }

  it('refuses ranges that do not fit the destination or the source', () => {
    const e = engines[0]!;
    const src = e.empty([2]); // 8 bytes: 4 half values
    const dst = e.empty([5]);
    expect(() => convertHalf(dst, 2, src, 4, 'F16')).toThrow(ArgumentError);
    expect(() => convertHalf(dst, 0, src, 5, 'BF16')).toThrow(
      /5 half values need 10 bytes, the source has 8 from element 0/,
    );
    expect(() => convertHalf(dst, -1, src, 1, 'F16')).toThrow(ArgumentError);
    src.dispose();
    dst.dispose();
  });
});
