import { expect } from 'vitest';

export { randn } from './random.js';

/**
 * Asserts |out − ref| ≤ atol + rtol·|ref| elementwise; on failure lists the first mismatches with
 * their index, so a stride bug shows where it starts.
 */
export function expectClose(out: ArrayLike<number>, ref: ArrayLike<number>, rtol: number, atol = 0, what = ''): void {
  expect(out.length, `${what} length`).toBe(ref.length);
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < ref.length; i++) {
    const o = out[i]!;
    const r = ref[i]!;
    const ok = Number.isNaN(r) ? Number.isNaN(o) : Math.abs(o - r) <= atol + rtol * Math.abs(r);
    if (!ok) {
      count++;
      if (bad.length < 8) bad.push(`[${i}] got ${o}, want ${r}`);
    }
  }
  if (count > 0)
    expect.fail(`${what}: ${count} of ${ref.length} elements differ (rtol ${rtol}, atol ${atol}):\n${bad.join('\n')}`);
}

/** Asserts two float arrays are bit-identical. */
export function expectBitIdentical(a: Float32Array, b: Float32Array, what = ''): void {
  expect(a.length, `${what} length`).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) expect.fail(`${what}: first differing bits at [${i}]: ${a[i]} vs ${b[i]}`);
  }
}
