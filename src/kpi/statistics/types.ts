// Shared shapes of the statistics module. Structurally the same as the entity's Direction, declared here
// so this module stays free of any database import.

export type Direction = "LOWER_IS_BETTER" | "HIGHER_IS_BETTER";

/**
 * Per-phase sufficient statistics, each observation one sample (weights not applied):
 * n = count, sum = Σ(x − shift), sumSq = Σ(x − shift)².
 *
 * `shift` (default 0) is an optional centring constant. Σx² − (Σx)²/n cancels catastrophically when the
 * spread is tiny next to the mean (e.g. values near 1e9 varying by 1); summing x − c for any c close to
 * the mean (the phase's min, first value or a previous average) keeps the variance accurate.
 */
export interface SufficientStats {
  n: number;
  sum: number;
  sumSq: number;
  shift?: number;
}

/** A confidence interval; `level` is its coverage, e.g. 0.95. */
export interface Interval {
  low: number;
  high: number;
  level: number;
}
