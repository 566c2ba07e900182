/**
 * Deterministic train / validation / test splits by a hash of a stable key (document id, message id,
 * word). The same key always lands on the same side, whatever else is in the corpus, and adding items
 * never moves old ones. Sizes are close to, not exactly, the fractions asked for.
 */
import { ArgumentError } from '../errors.js';
import { hash32 } from '../rng.js';

export type SplitName = 'train' | 'validation' | 'test';

export interface Splits<T> {
  train: T[];
  validation: T[];
  test: T[];
}

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

/**
 * The side of `key`: u = hash32(salt + key) / 2^32 ∈ [0, 1); train if u < train, validation if
 * u < train + validation, else test. Fractions must sum to 1.
 */
export function splitOf(key: string, fractions: SplitFractions, salt = ''): SplitName {
  checkFractions(fractions);
  const u = hash32(salt + key) / 4294967296;
  if (u < fractions.train) return 'train';
  if (u < fractions.train + fractions.validation) return 'validation';
  return 'test';
}

/** Partition `items` by `splitOf(keyOf(item))`, keeping their order within each side. */
export function splitByKey<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  fractions: SplitFractions,
  salt = '',
): Splits<T> {
  const out: Splits<T> = { train: [], validation: [], test: [] };
  for (const item of items) out[splitOf(keyOf(item), fractions, salt)].push(item);
  return out;
}

function checkFractions(f: SplitFractions): void {
  const sum = f.train + f.validation + f.test;
  if (!(f.train >= 0 && f.validation >= 0 && f.test >= 0) || Math.abs(sum - 1) > 1e-9) {
    throw new ArgumentError(
      `split fractions must be ≥ 0 and sum to 1, got train ${f.train}, validation ${f.validation}, test ${f.test}`,
    );
  }
}
