/**
 * gemv_f32__nk's sum, emulated in float32 arithmetic (Math.fround after every operation, the plain build's
 * mul then add): four lane-wise sums over k mod 16, vectors of four past the last 16, then a zero-padded
 * tail, combined as (s0 + s1) + (s2 + s3) and lanes (l0 + l1) + (l2 + l3). Bit for bit what the kernel gives.
 */
export function dotF32(x: ArrayLike<number>, w: ArrayLike<number>, K: number): number {
  const f = Math.fround;
  const s = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
  const madd = (v: number[], k: number, n: number) => {
    for (let l = 0; l < 4; l++) v[l] = l < n ? f(f(x[k + l]! * w[k + l]!) + v[l]!) : f(f(0 * 0) + v[l]!);
  };
  const k16 = K & ~15;
  let k = 0;
  for (; k < k16; k += 16) for (let j = 0; j < 4; j++) madd(s[j]!, k + 4 * j, 4);
  for (; k + 4 <= K; k += 4) madd(s[0]!, k, 4);
  if (K & 3) madd(s[0]!, k, K & 3);
  const v = [0, 1, 2, 3].map((l) => f(f(s[0]![l]! + s[1]![l]!) + f(s[2]![l]! + s[3]![l]!)));
  return f(f(v[0]! + v[1]!) + f(v[2]! + v[3]!));
}
