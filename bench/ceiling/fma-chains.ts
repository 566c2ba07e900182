// @ts-nocheck  AssemblyScript (i32, f32x4, …), compiled by asc; the project tsconfig includes bench/.
// The WebAssembly SIMD ceiling of this machine: independent chains acc = acc·m + c of f32x4 (one
// f32x4.mul and one f32x4.add per chain and iteration = 8 flops), no memory traffic at all.
// Few chains are latency-bound (mul → add → next mul); enough chains hide the latency and show the
// throughput of the vector units as V8 compiles them. The host passes m = 0.999, c = 0.001: every
// lane converges to 1, no denormals, no overflow. Returns the sum of all lanes, so nothing is dead code.
// Built by bench/suites/ceiling.bench.ts: asc -O3 --runtime stub --noAssert --use abort= --enable simd.

export function fma_chains_f32__4(iters: i32, mul: f32, add: f32): f32 {
  const m = f32x4.splat(mul); // parameters, not constants: kept in registers, never re-materialised
  const c = f32x4.splat(add);
  let a0 = f32x4.splat(1.0);
  let a1 = f32x4.splat(1.01);
  let a2 = f32x4.splat(1.02);
  let a3 = f32x4.splat(1.03);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), c);
    a1 = f32x4.add(f32x4.mul(a1, m), c);
    a2 = f32x4.add(f32x4.mul(a2, m), c);
    a3 = f32x4.add(f32x4.mul(a3, m), c);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), a2), a3);
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

export function fma_chains_f32__8(iters: i32, mul: f32, add: f32): f32 {
  const m = f32x4.splat(mul); // parameters, not constants: kept in registers, never re-materialised
  const c = f32x4.splat(add);
  let a0 = f32x4.splat(1.0);
  let a1 = f32x4.splat(1.01);
  let a2 = f32x4.splat(1.02);
  let a3 = f32x4.splat(1.03);
  let a4 = f32x4.splat(1.04);
  let a5 = f32x4.splat(1.05);
  let a6 = f32x4.splat(1.06);
  let a7 = f32x4.splat(1.07);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), c);
    a1 = f32x4.add(f32x4.mul(a1, m), c);
    a2 = f32x4.add(f32x4.mul(a2, m), c);
    a3 = f32x4.add(f32x4.mul(a3, m), c);
    a4 = f32x4.add(f32x4.mul(a4, m), c);
    a5 = f32x4.add(f32x4.mul(a5, m), c);
    a6 = f32x4.add(f32x4.mul(a6, m), c);
    a7 = f32x4.add(f32x4.mul(a7, m), c);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(f32x4.add(f32x4.add(f32x4.add(f32x4.add(a0, a1), a2), a3), a4), a5), a6), a7);
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

export function fma_chains_f32__12(iters: i32, mul: f32, add: f32): f32 {
  const m = f32x4.splat(mul); // parameters, not constants: kept in registers, never re-materialised
  const c = f32x4.splat(add);
  let a0 = f32x4.splat(1.0);
  let a1 = f32x4.splat(1.01);
  let a2 = f32x4.splat(1.02);
  let a3 = f32x4.splat(1.03);
  let a4 = f32x4.splat(1.04);
  let a5 = f32x4.splat(1.05);
  let a6 = f32x4.splat(1.06);
  let a7 = f32x4.splat(1.07);
  let a8 = f32x4.splat(1.08);
  let a9 = f32x4.splat(1.09);
  let a10 = f32x4.splat(1.1);
  let a11 = f32x4.splat(1.11);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), c);
    a1 = f32x4.add(f32x4.mul(a1, m), c);
    a2 = f32x4.add(f32x4.mul(a2, m), c);
    a3 = f32x4.add(f32x4.mul(a3, m), c);
    a4 = f32x4.add(f32x4.mul(a4, m), c);
    a5 = f32x4.add(f32x4.mul(a5, m), c);
    a6 = f32x4.add(f32x4.mul(a6, m), c);
    a7 = f32x4.add(f32x4.mul(a7, m), c);
    a8 = f32x4.add(f32x4.mul(a8, m), c);
    a9 = f32x4.add(f32x4.mul(a9, m), c);
    a10 = f32x4.add(f32x4.mul(a10, m), c);
    a11 = f32x4.add(f32x4.mul(a11, m), c);
  }
  const s = f32x4.add(
    f32x4.add(
      f32x4.add(
        f32x4.add(
          f32x4.add(f32x4.add(f32x4.add(f32x4.add(f32x4.add(f32x4.add(f32x4.add(a0, a1), a2), a3), a4), a5), a6), a7),
          a8,
        ),
        a9,
      ),
      a10,
    ),
    a11,
  );
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
