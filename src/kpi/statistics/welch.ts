// Welch's unequal-variance t-test and interval, from per-phase sufficient statistics (contract "KPI
// figures": pValue and the MEAN confidence). Every result is finite or null, never NaN or ±Infinity.

import { studentTQuantile, studentTTwoSidedP } from "./student-t.js";
import type { Direction, Interval, SufficientStats } from "./types.js";

/**
 * Σ(x − x̄)² = Σx² − Σx·x̄ cancels: summing n equal values by plain addition leaves up to ~0.6·n·ε·Σx²
 * of round-off (measured), so anything below this many n·ε·Σx² is round-off, not spread, and counts as
 * zero variance (which keeps "both phases constant" → null reliable). Use `shift` for data whose spread
 * is tiny next to its mean.
 */
const ZERO_SPREAD_TOLERANCE = 4;

export interface PhaseMoments {
  n: number;
  /** Mean of x − shift. */
  centredMean: number;
  shift: number;
  /** Sample variance (n − 1 denominator); exactly 0 when the spread is below round-off. */
  variance: number;
}

export interface WelchTest {
  /** (mean after − mean before)/SE. */
  t: number;
  /** Welch–Satterthwaite degrees of freedom (not an integer in general). */
  df: number;
  /** Two-sided. */
  pValue: number;
}

/** Mean and sample variance from the sums; null when n < 2 or an input is not finite. */
export function phaseMoments(s: SufficientStats): PhaseMoments | null {
  const { n, sum, sumSq } = s;
  const shift = s.shift ?? 0;
  if (!(n >= 2) || ![n, sum, sumSq, shift].every(Number.isFinite)) return null;
  const centredMean = sum / n;
  const spread = sumSq - sum * centredMean;
  const roundOff = ZERO_SPREAD_TOLERANCE * n * Number.EPSILON * sumSq;
  return { n, centredMean, shift, variance: spread > roundOff ? spread / (n - 1) : 0 };
}

/** Sufficient statistics of raw values, for callers that hold them in memory. */
export function sufficientStats(values: ArrayLike<number>, shift = 0): SufficientStats {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - shift;
    sum += d;
    sumSq += d * d;
  }
  return { n: values.length, sum, sumSq, shift };
}

interface WelchParts {
  before: PhaseMoments;
  after: PhaseMoments;
  /** mean(after) − mean(before), the shifts subtracted first so equal shifts cancel exactly. */
  difference: number;
  se: number;
  df: number;
}

function welchParts(before: SufficientStats, after: SufficientStats): WelchParts | null {
  const b = phaseMoments(before);
  const a = phaseMoments(after);
  if (!b || !a) return null;
  const vb = b.variance / b.n;
  const va = a.variance / a.n;
  const se2 = vb + va;
  if (!(se2 > 0) || !Number.isFinite(se2)) return null; // both variances zero: no test, no interval
  // Welch–Satterthwaite in shares of se² so that the fourth powers cannot overflow or underflow.
  const wb = vb / se2;
  const wa = va / se2;
  const df = 1 / ((wb * wb) / (b.n - 1) + (wa * wa) / (a.n - 1));
  const difference = a.shift - b.shift + (a.centredMean - b.centredMean);
  if (!Number.isFinite(difference) || !Number.isFinite(df)) return null;
  return { before: b, after: a, difference, se: Math.sqrt(se2), df };
}

/**
 * Two-sided Welch t-test of the BEFORE against the AFTER sample. Null when a phase has fewer than 2
 * samples or when both variances are zero; one zero variance is fine (df then equals the other n − 1).
 */
export function welchTTest(before: SufficientStats, after: SufficientStats): WelchTest | null {
  const w = welchParts(before, after);
  if (!w) return null;
  const t = w.difference / w.se;
  if (!Number.isFinite(t)) return null;
  return { t, df: w.df, pValue: studentTTwoSidedP(t, w.df) };
}

/**
 * Welch interval of the mean difference in the improving direction (b − a for LOWER_IS_BETTER, a − b
 * otherwise), as a percentage of |b|, b = the BEFORE sample mean. Null when a phase has fewer than 2
 * samples, b = 0, or both variances are zero: the interval would collapse to a point that claims
 * certainty the data cannot give.
 */
export function welchImprovementInterval(
  before: SufficientStats,
  after: SufficientStats,
  direction: Direction,
  level = 0.95,
): Interval | null {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const w = welchParts(before, after);
  if (!w) return null;
  const baseline = w.before.shift + w.before.centredMean;
  if (baseline === 0 || !Number.isFinite(baseline)) return null;
  const improvement = direction === "LOWER_IS_BETTER" ? -w.difference : w.difference;
  const halfWidth = studentTQuantile(1 - (1 - level) / 2, w.df) * w.se;
  const low = ((improvement - halfWidth) / Math.abs(baseline)) * 100;
  const high = ((improvement + halfWidth) / Math.abs(baseline)) * 100;
  if (!Number.isFinite(low) || !Number.isFinite(high)) return null;
  return { low, high, level };
}
