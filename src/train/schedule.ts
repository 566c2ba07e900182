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
}

/** Learning rate at (0-based) step: linear warm-up, then constant, cosine or linear decay. */
export function learningRate(s: Schedule, step: number): number {
  if (s.warmup > 0 && step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  if (s.kind === 'constant') return s.lr;
  const span = Math.max(1, s.total - s.warmup);
  const t = Math.min(1, (step - s.warmup) / span);
  const floor = s.minRatio ?? (s.kind === 'cosine' ? 0.1 : 0);
  const shape = s.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * t)) : 1 - t;
  return s.lr * (floor + (1 - floor) * shape);
}
