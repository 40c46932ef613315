import { describe, expect, it } from "vitest";
import { bucketDays, type DaySum } from "../../src/kpi/series.js";

// The WEEK and MONTH series of MEAN, SUM and COUNT KPIs are summed up from the day sums (one pass for the
// three buckets). ISO weeks start on Monday, months on the 1st, in UTC; a phase stays its own point.
// Expected sums below are added up by hand from the days.

const day = (iso: string, phase: "BEFORE" | "AFTER", w: number, vw: number): DaySum => ({
  start: Date.parse(`${iso}T00:00:00.000Z`),
  phase,
  w,
  vw,
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

const whole = { from: null, to: null } as const;
const at = (xs: ReturnType<typeof bucketDays>) =>
  xs.map((x) => [x.start.toISOString().slice(0, 10), x.phase, x.count, x.value]);

describe("bucketDays", () => {
  it("weeks start on Monday (UTC); a week across go-live keeps a BEFORE and an AFTER point", () => {
    expect(at(bucketDays(days, { ...whole, aggregation: "SUM", bucket: "WEEK" }))).toEqual([
      ["2025-02-24", "BEFORE", 2, 10],
      ["2025-03-03", "BEFORE", 1, 4],
      ["2025-03-03", "AFTER", 4, 10],
      ["2025-03-10", "AFTER", 2, 2],
      ["2025-03-31", "AFTER", 4, 40],
    ]);
  });

  it("months start on the 1st (UTC)", () => {
    expect(at(bucketDays(days, { ...whole, aggregation: "SUM", bucket: "MONTH" }))).toEqual([
      ["2025-03-01", "BEFORE", 3, 14],
      ["2025-03-01", "AFTER", 6, 12],
      ["2025-04-01", "AFTER", 4, 40],
    ]);
  });

  it("points by aggregation: MEAN = Σvw/Σw, SUM = Σvw, COUNT = Σw", () => {
    const month = (aggregation: "MEAN" | "SUM" | "COUNT") =>
      bucketDays(days, { ...whole, aggregation, bucket: "MONTH" }).map((p) => p.value);
    expect(month("MEAN")).toEqual([14 / 3, 2, 10]);
    expect(month("SUM")).toEqual([14, 12, 40]);
    expect(month("COUNT")).toEqual([3, 6, 4]);
  });

  it("keeps only buckets starting in [from, to)", () => {
    const r = {
      aggregation: "SUM",
      bucket: "WEEK",
      from: new Date("2025-03-03T00:00:00Z"),
      to: new Date("2025-03-31T00:00:00Z"),
    } as const;
    expect(at(bucketDays(days, r)).map((p) => p[0])).toEqual(["2025-03-03", "2025-03-03", "2025-03-10"]);
  });
});
