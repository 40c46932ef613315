// Percentile bootstrap of improvementPct for MEDIAN and P90 KPIs (contract "KPI figures": confidence).
//
// Resampling n values with replacement and taking their k-th smallest is, in distribution, the same
// as taking sorted[floor(n·U)] with U ~ Beta(k, n − k + 1): the resample is floor(n·Uᵢ) for n uniform
// Uᵢ, floor is monotone, and the k-th smallest of n uniforms is Beta(k, n − k + 1). So each resample
// costs two gamma variates instead of n draws plus a selection, and 2,000 resamples of phases of any
// size take a few milliseconds after one sort per phase. The interval is the same bootstrap interval;
// only the way its resamples are drawn differs.

import { betaVariate, type Rng, xoshiro128ss } from "./random.js";
import type { Direction, Interval } from "./types.js";

/** Fixed seed of the contract's bootstrap: the ASCII bytes of "uplf". */
export const BOOTSTRAP_SEED = 0x75706c66;
export const BOOTSTRAP_RESAMPLES = 2000;

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  level?: number;
}

/**
 * 1-based rank of the contract's percentile among n sorted values: the smallest value whose cumulative
 * count reaches p of the total is the k-th smallest, k = ⌈p·n⌉. In doubles ⌈0.9·n⌉ still equals the
 * exact ⌈9n/10⌉ (when 9n/10 is whole, 0.9·n rounds back onto it), so the rank never overshoots.
 */
export function percentileRank(n: number, p: number): number {
  return Math.min(n, Math.max(1, Math.ceil(p * n)));
}

/** The contract's unweighted percentile of ascending values. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  return sorted[percentileRank(sorted.length, p) - 1];
}

/**
 * Index into the sorted phase of the k-th smallest of n draws with replacement from it: one draw of
 * the bootstrap distribution of that order statistic (see the top of this file).
 */
export function resampledOrderStatisticIndex(n: number, k: number, rng: Rng): number {
  if (n === 1) return 0;
  return Math.min(n - 1, Math.floor(n * betaVariate(k, n - k + 1, rng)));
}

/** Linear interpolation between order statistics (R's default quantile, type 7). */
function quantileOfSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  if (lo + 1 >= sorted.length) return sorted[sorted.length - 1];
  return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

/**
 * Percentile-bootstrap interval of improvementPct for the p-th percentile (0.5 or 0.9), each
 * observation one sample. Resamples whose baseline percentile is 0 have no improvementPct and are
 * skipped; null when more than half are, when a phase has fewer than 2 values, or when the result is
 * not finite. Deterministic for a given seed.
 */
export function bootstrapImprovementInterval(
  beforeValues: ArrayLike<number>,
  afterValues: ArrayLike<number>,
  percentile: number,
  direction: Direction,
  { resamples = BOOTSTRAP_RESAMPLES, seed = BOOTSTRAP_SEED, level = 0.95 }: BootstrapOptions = {},
): Interval | null {
  if (!(percentile > 0 && percentile <= 1))
    throw new RangeError(`percentile must be in (0, 1], got ${percentile}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`resamples must be ≥ 1, got ${resamples}`);
  if (beforeValues.length < 2 || afterValues.length < 2) return null;
  const before = Float64Array.from(beforeValues).sort();
  const after = Float64Array.from(afterValues).sort();
  // Typed-array sort puts NaN last, so the two ends tell whether every value is finite.
  for (const phase of [before, after]) {
    if (!Number.isFinite(phase[0]) || !Number.isFinite(phase[phase.length - 1])) return null;
  }
  const kBefore = percentileRank(before.length, percentile);
  const kAfter = percentileRank(after.length, percentile);
  const rng = xoshiro128ss(seed);

  const improvements = new Float64Array(resamples);
  let kept = 0;
  for (let r = 0; r < resamples; r++) {
    const b = before[resampledOrderStatisticIndex(before.length, kBefore, rng)];
    const a = after[resampledOrderStatisticIndex(after.length, kAfter, rng)];
    if (b === 0) continue;
    improvements[kept++] = ((direction === "LOWER_IS_BETTER" ? b - a : a - b) / Math.abs(b)) * 100;
  }
  if (2 * (resamples - kept) > resamples) return null;
  const sorted = improvements.subarray(0, kept).sort();
  const tail = (1 - level) / 2;
  const low = quantileOfSorted(sorted, tail);
  const high = quantileOfSorted(sorted, 1 - tail);
  if (!Number.isFinite(low) || !Number.isFinite(high)) return null;
  return { low, high, level };
}
