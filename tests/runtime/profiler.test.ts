import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/tensor/engine.js';
import { add } from '../../src/tensor/ops/elementwise.js';
import { linear } from '../../src/tensor/ops/linear.js';
import { randn } from '../util/check.js';

describe('Runtime.profiler', () => {
  it.each([1, 2])(
    'is told of every kernel call while set, with its arguments and items (%i threads)',
    async (threads) => {
      const e = await Engine.create({ threads });
      const rt = e.runtime;
      const a = e.tensor(randn(1003, 1));
      const b = e.tensor(randn(1003, 2));
      const calls: { name: string; args: number[]; items: number; ms: number }[] = [];
      rt.profiler = (name, args, items, ms) => calls.push({ name, args: [...args], items, ms });
      const y = e.noGrad(() => add(a, b));
      expect(calls).toHaveLength(1);
      expect(calls[0]!.name).toBe('add_fwd_f32');
      expect(calls[0]!.args).toEqual([y.ptr, a.ptr, b.ptr]);
      expect(calls[0]!.items).toBe(1003);
      expect(calls[0]!.ms).toBeGreaterThanOrEqual(0);
      // the profiled call computed what the unprofiled one does
      const profiled = y.toArray();
      rt.profiler = undefined;
      expect(e.noGrad(() => add(a, b)).toArray()).toEqual(profiled);
      expect(calls).toHaveLength(1);
      // a matmul: pack A, pack B, the tiles (the runtime's matmul tile)
      rt.profiler = (name, args, items, ms) => calls.push({ name, args: [...args], items, ms });
      const x = e.tensor(randn(33 * 17, 3), [33, 17]);
      const w = e.tensor(randn(17 * 9, 4), [17, 9]);
      e.noGrad(() => linear(x, w, null, 'in_out'));
      rt.profiler = undefined;
      expect(calls.slice(1).map((c) => c.name.replace(/__.*/, ''))).toEqual(['pack_a_f32', 'pack_b_f32', 'matmul_f32']);
      expect(calls[3]!.args.slice(3, 6)).toEqual([33, 9, 17]); // M, N, K
      e.endStep();
      await e.dispose();
    },
  );
});
