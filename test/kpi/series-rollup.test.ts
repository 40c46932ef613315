import { describe, expect, it } from "vitest";
import { pointsOf, rollUpDays, type SeriesSums } from "../../src/kpi/series.js";

// The whole WEEK and MONTH series of MEAN, SUM and COUNT KPIs are summed up from the DAY sums (one scan for
// the three buckets). ISO weeks start on Monday, months on the 1st, in UTC; a phase stays its own point.

const day = (iso: string, phase: "BEFORE" | "AFTER", w: number, vw: number): SeriesSums => ({
  start: new Date(`${iso}T00:00:00.000Z`),
  phase,
  w,
  vw,
  pct: null,
});

// Sunday 2025-03-02, Monday 03-03 (go-live that day: both phases), Sunday 03-09, Monday 03-10, Tuesday 04-01.
const days = [
  day("2025-03-02", "BEFORE", 2, 10),
  day("2025-03-03", "BEFORE", 1, 4),
  day("2025-03-03", "AFTER", 3, 3),
  day("2025-03-09", "AFTER", 1, 7),
  day("2025-03-10", "AFTER", 2, 2),
  day("2025-04-01", "AFTER", 4, 40),
];

const at = (xs: SeriesSums[]) => xs.map((x) => [x.start.toISOString().slice(0, 10), x.phase, x.w, x.vw]);

describe("rollUpDays", () => {
  it("weeks start on Monday (UTC); a week across go-live keeps a BEFORE and an AFTER point", () => {
    expect(at(rollUpDays(days, "WEEK"))).toEqual([
      ["2025-02-24", "BEFORE", 2, 10],
      ["2025-03-03", "BEFORE", 1, 4],
      ["2025-03-03", "AFTER", 4, 10],
      ["2025-03-10", "AFTER", 2, 2],
      ["2025-03-31", "AFTER", 4, 40],
    ]);
  });

  it("months start on the 1st (UTC)", () => {
    expect(at(rollUpDays(days, "MONTH"))).toEqual([
      ["2025-03-01", "BEFORE", 3, 14],
      ["2025-03-01", "AFTER", 6, 12],
      ["2025-04-01", "AFTER", 4, 40],
    ]);
  });

  it("points by aggregation: MEAN = Σvw/Σw, SUM = Σvw, COUNT = Σw", () => {
    const month = rollUpDays(days, "MONTH");
    expect(pointsOf(month, "MEAN").map((p) => p.value)).toEqual([14 / 3, 2, 10]);
    expect(pointsOf(month, "SUM").map((p) => p.value)).toEqual([14, 12, 40]);
    expect(pointsOf(month, "COUNT").map((p) => [p.value, p.count])).toEqual([
      [3, 3],
      [6, 6],
      [4, 4],
    ]);
  });
});
