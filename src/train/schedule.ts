export type ScheduleName = 'constant' | 'cosine' | 'linear';

export interface Schedule {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warm-up from 0 to lr. */
  warmup: number;
  /** Total steps (decay ends here). */
  total: number;
  kind: ScheduleName;
  /** Floor of the decay, as a fraction of lr. Default 0.1 for cosine, 0 for linear. */
  minRatio?: number;
  /**
   * Warm restarts, as for snapshot ensembles (Huang et al. 2017; Loshchilov and Hutter's SGDR): the steps
   * are cut into cycles of these relative lengths (`[2, 1, 1]`: half, a quarter, a quarter). The first
   * cycle is the schedule above; each later one warms up again over `restartWarmup` steps to
   * `restartRatio` × lr and decays to the floor at its own end. One cycle (the default) is no restart.
   */
  cycles?: readonly number[];
  /** Peak of the later cycles as a fraction of lr. Default 1. */
  restartRatio?: number;
  /** Warm-up steps of the later cycles. Default 0. */
  restartWarmup?: number;
}

/** Learning rate at (0-based) step: linear warm-up, then constant, cosine or linear decay; cycles restart it. */
export function learningRate(s: Schedule, step: number): number {
  const ends = cycleEnds(s);
  if (ends.length > 1) {
    const c = ends.findIndex((end) => step < end);
    if (c === 0) return learningRate({ ...s, total: ends[0]!, cycles: undefined }, step);
    if (c === -1) return learningRate({ ...s, cycles: undefined }, s.total); // past the end: the floor
    const begin = ends[c - 1]!;
    return learningRate(
      {
        ...s,
        lr: s.lr * (s.restartRatio ?? 1),
        warmup: s.restartWarmup ?? 0,
        total: ends[c]! - begin,
        cycles: undefined,
      },
      step - begin,
    );
  }
  if (s.warmup > 0 && step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  if (s.kind === 'constant') return s.lr;
  const span = Math.max(1, s.total - s.warmup);
  const t = Math.min(1, (step - s.warmup) / span);
  const floor = s.minRatio ?? (s.kind === 'cosine' ? 0.1 : 0);
  const shape = s.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * t)) : 1 - t;
  return s.lr * (floor + (1 - floor) * shape);
}

/** The step at which each cycle ends (the last is `total`): where a snapshot ensemble takes its members. */
export function cycleEnds(s: Pick<Schedule, 'total' | 'cycles'>): number[] {
  const parts = s.cycles ?? [1];
  const sum = parts.reduce((a, b) => a + b, 0);
  let acc = 0;
  return parts.map((p, i) => (i === parts.length - 1 ? s.total : Math.round((s.total * (acc += p)) / sum)));
}
