// Dropout with a counter-based mask: element k is kept iff hash(k; key0, key1) ≥ threshold (u32), where
// hash = fmix32(fmix32(k·φ ⊕ key0) + key1) (murmur3's finaliser, twice), threshold = ⌊p·2³²⌋.
// fwd: y = x·mask·scale (=), scale = 1/(1−p). bwd: dx += dy·mask·scale, the mask recomputed from (seed, k).
// Nothing is saved: the mask depends only on the keys and the global index, so any split of the work
// (any thread count) gives the same bits. One work item: 1024 elements; n < 2³¹.

const CHUNK: i32 = 1024;
const PHI: u32 = 0x9e3779b9;
const M1: u32 = 0x85ebca6b;
const M2: u32 = 0xc2b2ae35;

// @ts-ignore: decorator
@inline
function fmix32x4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(M1));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(M2));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

// @ts-ignore: decorator
@inline
function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= M1;
  h ^= h >>> 13;
  h *= M2;
  return h ^ (h >>> 16);
}

/** All-ones lanes where elements k..k+3 are kept. */
// @ts-ignore: decorator
@inline
function keep4(k: u32, key0: u32, key1: u32, threshold: u32): v128 {
  const idx = i32x4.add(i32x4.splat(k), i32x4(0, 1, 2, 3));
  let h = fmix32x4(v128.xor(i32x4.mul(idx, i32x4.splat(PHI)), i32x4.splat(key0)));
  h = fmix32x4(i32x4.add(h, i32x4.splat(key1)));
  return i32x4.ge_u(h, i32x4.splat(threshold));
}

// @ts-ignore: decorator
@inline
function keep1(k: u32, key0: u32, key1: u32, threshold: u32): bool {
  return fmix32(fmix32((k * PHI) ^ key0) + key1) >= threshold;
}

/** y = x·mask·scale for chunks [start, end) of n elements. */
export function dropout_fwd_f32(y: usize, x: usize, n: i32, key0: u32, key1: u32, threshold: u32, scale: f32,
                                start: i32, end: i32): void {
  const k0 = <u32>start * <u32>CHUNK;
  const k1 = min(<u32>n, <u32>end * <u32>CHUNK);
  const k4 = k0 + ((k1 - k0) & ~3);
  const s = f32x4.splat(scale);
  for (let k = k0; k < k4; k += 4) {
    const off = <usize>k << 2;
    v128.store(y + off, v128.and(f32x4.mul(v128.load(x + off), s), keep4(k, key0, key1, threshold)));
  }
  for (let k = k4; k < k1; k++) {
    const off = <usize>k << 2;
    store<f32>(y + off, keep1(k, key0, key1, threshold) ? load<f32>(x + off) * scale : 0);
  }
}

/** dx += dy·mask·scale for chunks [start, end) of n elements. */
export function dropout_bwd_f32(dx: usize, dy: usize, n: i32, key0: u32, key1: u32, threshold: u32, scale: f32,
                                start: i32, end: i32): void {
  const k0 = <u32>start * <u32>CHUNK;
  const k1 = min(<u32>n, <u32>end * <u32>CHUNK);
  const k4 = k0 + ((k1 - k0) & ~3);
  const s = f32x4.splat(scale);
  for (let k = k0; k < k4; k += 4) {
    const off = <usize>k << 2;
    const d = v128.and(f32x4.mul(v128.load(dy + off), s), keep4(k, key0, key1, threshold));
    v128.store(dx + off, f32x4.add(v128.load(dx + off), d));
  }
  for (let k = k4; k < k1; k++) {
    const off = <usize>k << 2;
    if (keep1(k, key0, key1, threshold)) store<f32>(dx + off, load<f32>(dx + off) + load<f32>(dy + off) * scale);
  }
}
