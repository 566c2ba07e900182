// float16 / bfloat16 → float32, for loading half-precision checkpoints: y[i] = x[i] (=), exact (float32 holds
// every half value). x holds 16-bit little-endian patterns, y float32. Work items = elements (a range may
// start anywhere; 8 per v128 step, scalar tail). float16: the magnitude's bits moved into a float32's place
// and scaled by 2^112 (exact for normals and subnormals, which wasm keeps); exponent 31 (Inf, NaN, payload
// kept) becomes 255; the sign is or-ed back. bfloat16 is the top half of a float32: shifted up by 16.

const TWO_112: f32 = 5.192296858534828e33; // 2^112: float16's exponent bias 15 → float32's 127

/** float16 → float32 of four lanes held as u32 (0 … 0xffff). */
@inline
function f16x4(h: v128): v128 {
  const abs = v128.and(h, i32x4.splat(0x7fff));
  const f = f32x4.mul(i32x4.shl(abs, 13), f32x4.splat(TWO_112));
  const special = i32x4.ge_u(abs, i32x4.splat(0x7c00)); // Inf or NaN
  const g = v128.bitselect(v128.or(f, i32x4.splat(0x7f800000)), f, special);
  return v128.or(g, i32x4.shl(v128.xor(h, abs), 16));
}

/** y[i] = float16 x[i] as float32 for elements [start, end). */
export function convert_f16_f32(y: usize, x: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const h = v128.load(x + ((<usize>i) << 1));
    v128.store(y + ((<usize>i) << 2), f16x4(i32x4.extend_low_i16x8_u(h)));
    v128.store(y + ((<usize>i) << 2) + 16, f16x4(i32x4.extend_high_i16x8_u(h)));
  }
  for (; i < end; i++) {
    const h = <u32>load<u16>(x + ((<usize>i) << 1));
    const abs = h & 0x7fff;
    let bits = reinterpret<u32>(reinterpret<f32>(abs << 13) * TWO_112);
    if (abs >= 0x7c00) bits |= 0x7f800000;
    store<u32>(y + ((<usize>i) << 2), bits | ((h & 0x8000) << 16));
  }
}

/** y[i] = bfloat16 x[i] as float32 for elements [start, end). */
export function convert_bf16_f32(y: usize, x: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const h = v128.load(x + ((<usize>i) << 1));
    v128.store(y + ((<usize>i) << 2), i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    v128.store(y + ((<usize>i) << 2) + 16, i32x4.shl(i32x4.extend_high_i16x8_u(h), 16));
  }
  for (; i < end; i++) {
    store<u32>(y + ((<usize>i) << 2), (<u32>load<u16>(x + ((<usize>i) << 1))) << 16);
  }
}
