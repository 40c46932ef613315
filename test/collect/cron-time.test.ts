import { describe, expect, it } from "vitest";
import { cronProblem, latestMissed, nextOccurrence } from "../../src/domain/cron-time.js";

// One cron dialect (cron-parser's) for validation, the scheduler's next time and overdue arithmetic.
// Expected times worked out by hand on the calendar (UTC).

const d = (s: string) => new Date(s);

describe("schedules", () => {
  it("validates 5- and 6-field expressions and says what is wrong", () => {
    expect(cronProblem("*/15 * * * *")).toBeNull();
    expect(cronProblem("*/30 * * * * *")).toBeNull();
    expect(cronProblem("* * *")).toMatch(/expected 5 fields .* got 3/);
    expect(cronProblem("61 * * * *")).toMatch(/61/);
    expect(cronProblem("every hour")).not.toBeNull();
  });

  it("gives the next time strictly after an instant", () => {
    expect(nextOccurrence("0 * * * *", d("2025-03-01T10:00:00Z"))).toEqual(d("2025-03-01T11:00:00Z"));
    expect(nextOccurrence("0 * * * *", d("2025-03-01T10:59:59.999Z"))).toEqual(d("2025-03-01T11:00:00Z"));
    expect(nextOccurrence("30 2 * * 1", d("2025-03-01T00:00:00Z"))).toEqual(d("2025-03-03T02:30:00Z")); // a Monday
    expect(nextOccurrence("*/20 * * * * *", d("2025-03-01T00:00:05Z"))).toEqual(d("2025-03-01T00:00:20Z"));
  });

  it("finds the latest missed time in (after, now], without stepping through every second", () => {
    const after = d("2024-01-01T00:00:00Z");
    // Every second for a year and more: the latest is now itself when now is on a second.
    expect(latestMissed("* * * * * *", after, d("2025-03-01T10:00:07Z"))).toEqual(d("2025-03-01T10:00:07Z"));
    expect(latestMissed("0 * * * *", after, d("2025-03-01T10:59:00Z"))).toEqual(d("2025-03-01T10:00:00Z"));
    expect(latestMissed("0 * * * *", d("2025-03-01T10:00:00Z"), d("2025-03-01T10:59:00Z"))).toBeNull();
    expect(latestMissed("0 0 1 1 *", d("2025-01-01T00:00:00Z"), d("2025-12-31T23:59:59Z"))).toBeNull();
  });
});
