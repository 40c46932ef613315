// Contract "Money": every money figure is given in cents, rounded half away from zero.

/**
 * Rounds to cents, half away from zero, as the decimal the number stands for: 1.005 is 1.01 and
 * 299999.95999999996 is 299999.96. Scaling by 100 in binary leaves a tail like 100.49999999999999;
 * 15 significant digits (all a double holds exactly) remove that tail before rounding.
 */
export function cents(x: number): number {
  if (!Number.isFinite(x)) return x;
  const scaled = Number((Math.abs(x) * 100).toPrecision(15));
  const r = Math.round(scaled) / 100;
  return x < 0 ? -r : r;
}

export function centsOrNull(x: number | null | undefined): number | null {
  return x === null || x === undefined ? null : cents(x);
}
