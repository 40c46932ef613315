import { CronExpressionParser } from "cron-parser";

// Cron arithmetic on cron-parser's public API: one dialect for validating a schedule, for when the
// scheduler runs it, and for which time an instance missed while no process was up. Schedules are
// evaluated in UTC; an optional sixth leading field gives seconds.
export const CRON_TIMEZONE = "UTC";

function parse(expression: string, currentDate: Date) {
  return CronExpressionParser.parse(expression, { currentDate, tz: CRON_TIMEZONE, strict: false });
}

/** Why a schedule is not a cron expression, or null when it is one. */
export function cronProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/).length;
  if (!expression.trim().startsWith("@") && (fields < 5 || fields > 6))
    return `expected 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields}`;
  try {
    parse(expression, new Date()).next();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The first scheduled time strictly after `after`. */
export function nextOccurrence(expression: string, after: Date): Date {
  return parse(expression, after).next().toDate();
}

/**
 * The latest scheduled time in (after, now], or null when none passed: an instance that missed times
 * while no process was up runs once, for the latest of them.
 */
export function latestMissed(expression: string, after: Date, now: Date): Date | null {
  // prev() is strictly before its start: start a millisecond after now so that now itself counts.
  const latest = parse(expression, new Date(now.getTime() + 1))
    .prev()
    .toDate();
  return latest > after ? latest : null;
}
