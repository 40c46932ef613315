import cron, { type ScheduledTask } from "node-cron";

// Cron arithmetic on top of node-cron (its own matcher, so schedules mean exactly what node-cron runs).
// Schedules are evaluated in UTC.
export const CRON_TIMEZONE = "UTC";

interface WithMatcher {
  timeMatcher?: { getNextMatch(d: Date): Date };
}

/** A task that never runs, for asking node-cron about a schedule. */
export function cronTask(expression: string): ScheduledTask {
  const task = cron.createTask(expression, () => undefined, { timezone: CRON_TIMEZONE });
  void task.stop();
  return task;
}

/** The first scheduled time strictly after `after`. */
export function nextOccurrence(task: ScheduledTask, after: Date): Date {
  const matcher = (task as unknown as WithMatcher).timeMatcher;
  if (matcher) return matcher.getNextMatch(after);
  // Fallback through the public API: step second by second (bounded to a year).
  const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
  for (let i = 0; i < 366 * 86400; i++, t.setTime(t.getTime() + 1000)) if (task.match(t)) return new Date(t);
  return new Date(8.64e15);
}

/**
 * The latest scheduled time in (after, now], or null when none passed: an instance that missed times
 * while no process was up runs once, for the latest of them.
 */
export function latestMissed(task: ScheduledTask, after: Date, now: Date): Date | null {
  let t = nextOccurrence(task, after);
  if (t > now) return null;
  for (let i = 0; i < 100_000; i++) {
    const next = nextOccurrence(task, t);
    if (next > now) return t;
    t = next;
  }
  // A frequent schedule after a long gap: the latest time is close to now; search back from it.
  for (let s = Math.floor(now.getTime() / 1000); s * 1000 > after.getTime(); s--) {
    const d = new Date(s * 1000);
    if (task.match(d)) return d;
  }
  return t;
}
