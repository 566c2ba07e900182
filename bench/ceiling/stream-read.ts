// @ts-nocheck  AssemblyScript (usize, f32x4, …), compiled by asc; the project tsconfig includes bench/.
// The memory read bandwidth WebAssembly sees here: sums `bytes` bytes from p (a multiple of 128) with
// eight independent f32x4 accumulators, eight 16-byte loads per iteration, so the loads, not the adds,
// bound it. The host passes a buffer several times the last-level cache (32 MiB here), so every byte
// comes from DRAM, as a decoding step's weights do. Returns the sum of all lanes, so nothing is dead code.
// Built by bench/suites/ceiling.bench.ts with its own memory (exported), grown by the host.

export function stream_read_f32(p: usize, bytes: usize): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0);
  let a5 = f32x4.splat(0);
  let a6 = f32x4.splat(0);
  let a7 = f32x4.splat(0);
  const end = p + bytes;
  while (p < end) {
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
    a4 = f32x4.add(a4, v128.load(p, 64));
    a5 = f32x4.add(a5, v128.load(p, 80));
    a6 = f32x4.add(a6, v128.load(p, 96));
    a7 = f32x4.add(a7, v128.load(p, 112));
    p += 128;
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
