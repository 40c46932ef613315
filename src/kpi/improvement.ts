import type { Direction } from "../db/entities/metric.js";

/** Change in the metric's own units, signed so that positive is better: b − a or a − b. */
export function improvementInUnits(direction: Direction, b: number | null, a: number | null): number | null {
  if (b === null || a === null) return null;
  return direction === "LOWER_IS_BETTER" ? b - a : a - b;
}

/** (b − a)/|b|·100 for LOWER_IS_BETTER, (a − b)/|b|·100 otherwise; null when either is null or b = 0. */
export function improvementPct(direction: Direction, b: number | null, a: number | null): number | null {
  const delta = improvementInUnits(direction, b, a);
  if (delta === null || b === null || b === 0) return null;
  return finiteOrNull((delta / Math.abs(b)) * 100);
}

/** Current at or better than target: ≤ for LOWER_IS_BETTER, ≥ otherwise; null when either is null. */
export function targetMet(
  direction: Direction,
  current: number | null,
  target: number | null,
): boolean | null {
  if (current === null || target === null) return null;
  return direction === "LOWER_IS_BETTER" ? current <= target : current >= target;
}

export function finiteOrNull(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x;
}
