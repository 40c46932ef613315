import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import {
  type Agg,
  bucketStart,
  createProject,
  defineMetric,
  expectSeries,
  type Obs,
  record,
  series,
  seriesRef,
  trackKpi,
} from "./reference.js";

// KPI series through GraphQL. Expected points are written out by hand (the comments show the arithmetic)
// and cross-checked with the plain reference in ./reference.ts.
//
// Buckets are UTC whatever the database server's TimeZone (a DATABASE_URL server often runs in local
// time), so this file's app talks to PostgreSQL in Europe/Berlin, a zone with summer time: node-postgres
// reads PGOPTIONS for every connection it opens, and every connection of this file is opened while it is set.

let t: TestApp;
const previousPgOptions = process.env.PGOPTIONS;
beforeAll(async () => {
  process.env.PGOPTIONS = `${previousPgOptions ?? ""} -c TimeZone=Europe/Berlin`.trim();
  t = await startTestApp();
  const [{ TimeZone }] = await t.app.db.ds.query("SHOW TimeZone");
  expect(TimeZone).toBe("Europe/Berlin");
});
afterAll(async () => {
  await t?.stop();
  if (previousPgOptions === undefined) delete process.env.PGOPTIONS;
  else process.env.PGOPTIONS = previousPgOptions;
});

const pt = (start: string, phase: "BEFORE" | "AFTER", value: number, count: number) => ({
  start,
  phase,
  value,
  count,
});

async function setUp(slug: string, key: string, agg: Agg, goLiveAt: string | null, obs: Obs[], kpi = {}) {
  await createProject(t, slug, goLiveAt);
  await defineMetric(t, key, "LOWER_IS_BETTER", agg);
  await trackKpi(t, { projectSlug: slug, metricKey: key, ...kpi });
  await record(t, slug, key, obs);
}

describe("the reference's buckets", () => {
  it("are UTC days, ISO weeks (Monday) and calendar months", () => {
    expect(bucketStart("2025-03-09T23:59:59Z", "WEEK")).toBe("2025-03-03T00:00:00.000Z"); // Sunday
    expect(bucketStart("2025-03-10T00:00:00Z", "WEEK")).toBe("2025-03-10T00:00:00.000Z"); // Monday
    expect(bucketStart("2025-03-03T23:30:00-05:00", "DAY")).toBe("2025-03-04T00:00:00.000Z");
    expect(bucketStart("2025-02-01T00:30:00+01:00", "MONTH")).toBe("2025-01-01T00:00:00.000Z");
    expect(bucketStart("2025-01-01T12:00:00Z", "WEEK")).toBe("2024-12-30T00:00:00.000Z"); // across a year
  });
});

describe("DAY buckets", () => {
  const GO_LIVE = "2025-03-05T12:00:00.000Z";
  const obs: Obs[] = [
    { at: "2025-03-03T01:00:00Z", value: 10 },
    { at: "2025-03-03T22:00:00Z", value: 14, weight: 3 },
    { at: "2025-03-04T04:30:00+05:00", value: 6 }, // = 2025-03-03T23:30Z: still 3 March in UTC
    { at: "2025-03-03T23:30:00-05:00", value: 8 }, // = 2025-03-04T04:30Z: 4 March in UTC
    { at: "2025-03-05T06:00:00Z", value: 9 }, // go-live day, before go-live
    { at: "2025-03-05T12:00:00Z", value: 3 }, // exactly at go-live: AFTER
    { at: "2025-03-05T18:00:00Z", value: 5, weight: 3 },
    // nothing on 6 March
    { at: "2025-03-07T00:00:00Z", value: 2 },
  ];

  it("one point per UTC day and phase; the go-live day gives BEFORE then AFTER; empty days left out", async () => {
    await setUp("day", "day.time", "MEAN", GO_LIVE, obs);
    const s = await series(t, "day", "day.time", "DAY");
    // 3 March: (10 + 42 + 6) / 5 = 11.6; 4 March: 8; 5 March BEFORE 9, AFTER (3 + 15) / 4 = 4.5; 7 March: 2
    expect(s).toEqual([
      pt("2025-03-03T00:00:00.000Z", "BEFORE", 11.6, 5),
      pt("2025-03-04T00:00:00.000Z", "BEFORE", 8, 1),
      pt("2025-03-05T00:00:00.000Z", "BEFORE", 9, 1),
      pt("2025-03-05T00:00:00.000Z", "AFTER", 4.5, 4),
      pt("2025-03-07T00:00:00.000Z", "AFTER", 2, 1),
    ]);
    expectSeries(s, seriesRef("MEAN", obs, { before: [null, GO_LIVE], after: [GO_LIVE, null] }, "DAY"));
  });

  it("SUM and COUNT per bucket, weights applied", async () => {
    await setUp("day-sum", "day.sum", "SUM", GO_LIVE, obs);
    await setUp("day-count", "day.count", "COUNT", GO_LIVE, obs);
    const windows = { before: [null, GO_LIVE] as [null, string], after: [GO_LIVE, null] as [string, null] };
    const sum = await series(t, "day-sum", "day.sum", "DAY");
    expect(sum.map((p) => p.value)).toEqual([58, 8, 9, 18, 2]); // 10 + 42 + 6; 8; 9; 3 + 15; 2
    expectSeries(sum, seriesRef("SUM", obs, windows, "DAY"));
    const count = await series(t, "day-count", "day.count", "DAY");
    expect(count.map((p) => p.value)).toEqual([5, 1, 1, 4, 1]);
    expectSeries(count, seriesRef("COUNT", obs, windows, "DAY"));
  });
});

describe("WEEK buckets (ISO: Monday 00:00 UTC)", () => {
  const GO_LIVE = "2025-03-12T00:00:00.000Z"; // a Wednesday
  const obs: Obs[] = [
    { at: "2025-03-02T23:59:59Z", value: 100 }, // Sunday → week of Monday 24 February
    { at: "2025-03-03T00:00:00Z", value: 10 }, // Monday → week of 3 March
    { at: "2025-03-09T23:59:59Z", value: 20 }, // Sunday 23:59:59 → still the week of 3 March
    { at: "2025-03-10T00:00:00Z", value: 30 }, // Monday → week of 10 March
    { at: "2025-03-11T23:59:59.999Z", value: 40 },
    { at: "2025-03-12T00:00:00Z", value: 4 }, // go-live: AFTER, same week
    { at: "2025-03-16T23:59:59Z", value: 6 }, // Sunday → week of 10 March
    { at: "2025-03-17T01:00:00+02:00", value: 5 }, // = Sunday 16 March 23:00Z → week of 10 March
    // week of 17 March empty
    { at: "2025-03-24T08:00:00Z", value: 1 },
  ];
  const windows = { before: [null, GO_LIVE] as [null, string], after: [GO_LIVE, null] as [string, null] };

  it("Sunday 23:59:59Z belongs to the previous Monday's week; a straddling week gives two points", async () => {
    await setUp("week", "week.time", "MEAN", GO_LIVE, obs);
    const s = await series(t, "week", "week.time", "WEEK");
    expect(s).toEqual([
      pt("2025-02-24T00:00:00.000Z", "BEFORE", 100, 1),
      pt("2025-03-03T00:00:00.000Z", "BEFORE", 15, 2), // (10 + 20) / 2
      pt("2025-03-10T00:00:00.000Z", "BEFORE", 35, 2), // (30 + 40) / 2
      pt("2025-03-10T00:00:00.000Z", "AFTER", 5, 3), // (4 + 6 + 5) / 3
      pt("2025-03-24T00:00:00.000Z", "AFTER", 1, 1),
    ]);
    expectSeries(s, seriesRef("MEAN", obs, windows, "WEEK"));
  });

  it("from/to keep the buckets whose start lies in [from, to)", async () => {
    // from on a Wednesday: the week of 3 March starts before it and is left out, although its Sunday
    // observation (9 March) is after `from`. to on Tuesday 11 March: the week of 10 March starts before it
    // and is kept whole, with its observations after `to` (the 12th, the 16th).
    const s = await series(t, "week", "week.time", "WEEK", "2025-03-05T00:00:00Z", "2025-03-11T00:00:00Z");
    expect(s).toEqual([
      pt("2025-03-10T00:00:00.000Z", "BEFORE", 35, 2),
      pt("2025-03-10T00:00:00.000Z", "AFTER", 5, 3),
    ]);
    expectSeries(s, seriesRef("MEAN", obs, windows, "WEEK", "2025-03-05T00:00:00Z", "2025-03-11T00:00:00Z"));

    // Bounds exactly at bucket starts: from is inclusive, to exclusive.
    const exact = await series(
      t,
      "week",
      "week.time",
      "WEEK",
      "2025-03-03T00:00:00Z",
      "2025-03-24T00:00:00Z",
    );
    expect(exact.map((p) => `${p.start.slice(0, 10)} ${p.phase}`)).toEqual([
      "2025-03-03 BEFORE",
      "2025-03-10 BEFORE",
      "2025-03-10 AFTER",
    ]);
    expectSeries(
      exact,
      seriesRef("MEAN", obs, windows, "WEEK", "2025-03-03T00:00:00Z", "2025-03-24T00:00:00Z"),
    );

    // Only `from`, only `to`.
    const fromOnly = await series(t, "week", "week.time", "WEEK", "2025-03-10T00:00:00.001Z");
    expect(fromOnly.map((p) => p.start)).toEqual(["2025-03-24T00:00:00.000Z"]);
    const toOnly = await series(t, "week", "week.time", "WEEK", null, "2025-03-03T00:00:00Z");
    expect(toOnly).toEqual([pt("2025-02-24T00:00:00.000Z", "BEFORE", 100, 1)]);

    // A range holding no bucket start.
    expect(
      await series(t, "week", "week.time", "WEEK", "2025-03-18T00:00:00Z", "2025-03-24T00:00:00Z"),
    ).toEqual([]);
  });

  it("from/to with offsets are instants (compared in UTC)", async () => {
    // 2025-03-10T01:00+02:00 = 2025-03-09T23:00Z: the week of 10 March starts after it and is kept; the
    // week of 3 March starts before it and is not.
    const s = await series(
      t,
      "week",
      "week.time",
      "WEEK",
      "2025-03-10T01:00:00+02:00",
      "2025-03-17T00:00:00Z",
    );
    expect(s.map((p) => `${p.start} ${p.phase}`)).toEqual([
      "2025-03-10T00:00:00.000Z BEFORE",
      "2025-03-10T00:00:00.000Z AFTER",
    ]);
  });
});

describe("MONTH buckets", () => {
  const GO_LIVE = "2025-02-15T00:00:00.000Z";
  const obs: Obs[] = [
    { at: "2024-12-31T23:00:00-02:00", value: 15 }, // = 2025-01-01T01:00Z → January
    { at: "2025-01-31T23:59:59Z", value: 10 },
    { at: "2025-02-01T00:30:00+01:00", value: 20 }, // = 2025-01-31T23:30Z → January
    { at: "2025-02-01T00:00:00Z", value: 8 },
    { at: "2025-02-14T23:59:59.999Z", value: 12 },
    { at: "2025-02-15T00:00:00Z", value: 2 },
    { at: "2025-02-28T23:59:59Z", value: 4 },
    // March empty
    { at: "2025-04-01T00:00:00Z", value: 1 },
  ];

  it("calendar months in UTC; the go-live month gives BEFORE and AFTER", async () => {
    await setUp("month", "month.time", "MEAN", GO_LIVE, obs);
    const s = await series(t, "month", "month.time", "MONTH");
    expect(s).toEqual([
      pt("2025-01-01T00:00:00.000Z", "BEFORE", 15, 3), // (15 + 10 + 20) / 3
      pt("2025-02-01T00:00:00.000Z", "BEFORE", 10, 2), // (8 + 12) / 2
      pt("2025-02-01T00:00:00.000Z", "AFTER", 3, 2), // (2 + 4) / 2
      pt("2025-04-01T00:00:00.000Z", "AFTER", 1, 1),
    ]);
    expectSeries(s, seriesRef("MEAN", obs, { before: [null, GO_LIVE], after: [GO_LIVE, null] }, "MONTH"));
    // Month bounds: from = 1 February keeps February and April.
    const fromFeb = await series(t, "month", "month.time", "MONTH", "2025-02-01T00:00:00Z");
    expect(fromFeb.map((p) => `${p.start.slice(0, 7)} ${p.phase}`)).toEqual([
      "2025-02 BEFORE",
      "2025-02 AFTER",
      "2025-04 AFTER",
    ]);
  });
});

describe("phases in series", () => {
  it("follow explicit windows: observations outside both are left out", async () => {
    const obs: Obs[] = [
      { at: "2025-01-01T00:00:00Z", value: 999 }, // before baselineFrom
      { at: "2025-01-02T00:00:00Z", value: 10 },
      { at: "2025-01-03T00:00:00Z", value: 999 }, // between baselineTo and afterFrom
      { at: "2025-01-04T00:00:00Z", value: 3 },
      { at: "2025-01-05T00:00:00Z", value: 999 }, // at afterTo
    ];
    const windows = {
      baselineFrom: "2025-01-02T00:00:00Z",
      baselineTo: "2025-01-03T00:00:00Z",
      afterFrom: "2025-01-04T00:00:00Z",
      afterTo: "2025-01-05T00:00:00Z",
    };
    await setUp("win-series", "win.series", "MEAN", "2025-01-03T12:00:00Z", obs, windows);
    const s = await series(t, "win-series", "win.series", "DAY");
    expect(s).toEqual([
      pt("2025-01-02T00:00:00.000Z", "BEFORE", 10, 1),
      pt("2025-01-04T00:00:00.000Z", "AFTER", 3, 1),
    ]);
    const week = await series(t, "win-series", "win.series", "WEEK");
    expect(week).toEqual([
      pt("2024-12-30T00:00:00.000Z", "BEFORE", 10, 1),
      pt("2024-12-30T00:00:00.000Z", "AFTER", 3, 1),
    ]);
  });

  it("without goLiveAt or bounds every point is AFTER", async () => {
    const obs: Obs[] = [
      { at: "2025-01-02T00:00:00Z", value: 10 },
      { at: "2025-01-02T05:00:00Z", value: 20 },
      { at: "2025-01-09T00:00:00Z", value: 3 },
    ];
    await setUp("no-go-series", "ng.series", "MEAN", null, obs);
    expect(await series(t, "no-go-series", "ng.series", "DAY")).toEqual([
      pt("2025-01-02T00:00:00.000Z", "AFTER", 15, 2),
      pt("2025-01-09T00:00:00.000Z", "AFTER", 3, 1),
    ]);
  });
});

describe("weighted percentiles per bucket", () => {
  const GO_LIVE = "2025-06-02T00:00:00.000Z";
  const obs: Obs[] = [
    // 1 June (BEFORE): 1(1) 2(1) 10(5): total 7; 50 % = 3.5 → 10 (unweighted median: 2); 90 % = 6.3 → 10
    { at: "2025-06-01T01:00:00Z", value: 2 },
    { at: "2025-06-01T02:00:00Z", value: 10, weight: 5 },
    { at: "2025-06-01T03:00:00Z", value: 1 },
    // 2 June (AFTER): 4(2) 6(2): 50 % = 2 reached exactly at 4; 90 % = 3.6 → 6
    { at: "2025-06-02T05:00:00Z", value: 6, weight: 2 },
    { at: "2025-06-02T06:00:00Z", value: 4, weight: 2 },
    // 3 June (AFTER): 0.1/0.2/0.3 weights: 50 % = 0.3 = 0.1 + 0.2 → 20; 90 % = 0.54 → 30
    { at: "2025-06-03T05:00:00Z", value: 30, weight: 0.3 },
    { at: "2025-06-03T06:00:00Z", value: 20, weight: 0.2 },
    { at: "2025-06-03T07:00:00Z", value: 10, weight: 0.1 },
    // 4 June (AFTER): 1(0.1) 2(0.7) 3(0.8): 50 % of 1.6 = 0.8 = 0.1 + 0.7 exactly → 2 (float 0.1 + 0.7 is
    // 0.7999999999999999); 90 % = 1.44 → 3
    { at: "2025-06-04T05:00:00Z", value: 3, weight: 0.8 },
    { at: "2025-06-04T06:00:00Z", value: 2, weight: 0.7 },
    { at: "2025-06-04T07:00:00Z", value: 1, weight: 0.1 },
  ];
  const windows = { before: [null, GO_LIVE] as [null, string], after: [GO_LIVE, null] as [string, null] };

  it("MEDIAN", async () => {
    await setUp("median-series", "median.series", "MEDIAN", GO_LIVE, obs);
    const s = await series(t, "median-series", "median.series", "DAY");
    expect(s.map((p) => [p.start.slice(0, 10), p.phase, p.value])).toEqual([
      ["2025-06-01", "BEFORE", 10],
      ["2025-06-02", "AFTER", 4],
      ["2025-06-03", "AFTER", 20],
      ["2025-06-04", "AFTER", 2],
    ]);
    expectSeries(s, seriesRef("MEDIAN", obs, windows, "DAY"));
    // A WEEK bucket pools the days: 2 June is a Monday, so 1 June (Sunday) is the previous week.
    const w = await series(t, "median-series", "median.series", "WEEK");
    // Week of 2 June (AFTER): 1(.1) 2(.7) 3(.8) 4(2) 6(2) 10(.1) 20(.2) 30(.3): total 6.2, 50 % = 3.1 →
    // cumulative .1, .8, 1.6, 3.6 → 4
    expect(w.map((p) => [p.start.slice(0, 10), p.phase, p.value])).toEqual([
      ["2025-05-26", "BEFORE", 10],
      ["2025-06-02", "AFTER", 4],
    ]);
    expectSeries(w, seriesRef("MEDIAN", obs, windows, "WEEK"));
  });

  it("P90", async () => {
    await setUp("p90-series", "p90.series", "P90", GO_LIVE, obs);
    const s = await series(t, "p90-series", "p90.series", "DAY");
    expect(s.map((p) => p.value)).toEqual([10, 6, 30, 3]);
    expectSeries(s, seriesRef("P90", obs, windows, "DAY"));
  });
});

describe("weighted percentile series, each bucket ∩ window sorted on its own", () => {
  // 400 observations over three months, seeded; weights and cohorts vary. The windows overlap (an
  // observation in both counts in both phases) and leave days outside both.
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const obs: Obs[] = Array.from({ length: 400 }, (_, i) => ({
    at: new Date(Date.UTC(2025, 2, 1) + Math.floor(next() * 92 * 86_400_000)).toISOString(),
    value: Math.round(next() * 50) / 2, // ties on purpose
    weight: [1, 0.5, 2, 3][i % 4],
    dimensions: { team: next() < 0.7 ? "ai" : "classic" },
  }));
  const windows = {
    baselineFrom: "2025-03-03T00:00:00.000Z",
    baselineTo: "2025-04-20T12:00:00.000Z",
    afterFrom: "2025-04-10T06:00:00.000Z",
    afterTo: "2025-05-25T00:00:00.000Z",
  };
  const ref = {
    before: [windows.baselineFrom, windows.baselineTo] as [string, string],
    after: [windows.afterFrom, windows.afterTo] as [string, string],
  };
  const treatment = obs.filter((o) => o.dimensions?.team === "ai");

  it.each(["MEDIAN", "P90"] as const)(
    "%s: DAY, WEEK and MONTH, whole and from/to, equal the reference",
    async (agg) => {
      const slug = `pct-win-${agg.toLowerCase()}`;
      await setUp(slug, `${slug}.m`, agg, null, obs, {
        ...windows,
        cohort: { dimension: "team", treatment: "ai", control: "classic" },
      });
      for (const bucket of ["DAY", "WEEK", "MONTH"] as const) {
        for (const [from, to] of [
          [null, null],
          ["2025-03-20T00:00:00.000Z", "2025-05-01T00:00:00.000Z"],
        ] as const) {
          const got = await series(t, slug, `${slug}.m`, bucket, from, to);
          const want = seriesRef(agg, treatment, ref, bucket, from, to);
          expect(want.length).toBeGreaterThan(bucket === "MONTH" ? 1 : 4);
          expectSeries(got, want);
        }
      }
    },
  );
});

describe("a cohort KPI's series", () => {
  it("uses only the treatment cohort's observations", async () => {
    const GO_LIVE = "2025-05-10T00:00:00.000Z";
    const obs: Obs[] = [
      { at: "2025-05-05T00:00:00Z", value: 10, dimensions: { team: "ai" } },
      { at: "2025-05-05T01:00:00Z", value: 12, dimensions: { team: "ai" } },
      { at: "2025-05-05T02:00:00Z", value: 100, dimensions: { team: "classic" } },
      { at: "2025-05-05T03:00:00Z", value: 1000 },
      { at: "2025-05-06T00:00:00Z", value: 100, dimensions: { team: "classic" } }, // control only: no point
      { at: "2025-05-11T00:00:00Z", value: 2, weight: 3, dimensions: { team: "ai" } },
      { at: "2025-05-11T01:00:00Z", value: 6, dimensions: { team: "ai", region: "emea" } },
      { at: "2025-05-11T02:00:00Z", value: 100, dimensions: { team: "other" } },
      { at: "2025-05-11T03:00:00Z", value: 100, dimensions: { region: "ai" } },
    ];
    await setUp("cohort-series", "cohort.series", "MEAN", GO_LIVE, obs, {
      cohort: { dimension: "team", treatment: "ai", control: "classic" },
    });
    const s = await series(t, "cohort-series", "cohort.series", "DAY");
    expect(s).toEqual([
      pt("2025-05-05T00:00:00.000Z", "BEFORE", 11, 2), // (10 + 12) / 2
      pt("2025-05-11T00:00:00.000Z", "AFTER", 3, 4), // (6 + 6) / 4
    ]);
    const treatment = obs.filter((o) => o.dimensions?.team === "ai");
    expectSeries(s, seriesRef("MEAN", treatment, { before: [null, GO_LIVE], after: [GO_LIVE, null] }, "DAY"));
  });
});

describe("arguments", () => {
  it("from ≥ to is refused as BAD_USER_INPUT", async () => {
    await setUp("args", "args.time", "MEAN", null, [{ at: "2025-03-10T00:00:00Z", value: 1 }]);
    const r = await t.gql(
      `{ project(slug: "args") { kpi(metricKey: "args.time") { series(bucket: WEEK, from: "2025-03-10T00:00:00Z", to: "2025-03-10T00:00:00Z") { start } } } }`,
    );
    expect(r.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

describe("across a daylight-saving change of the session's TimeZone", () => {
  // Europe/Berlin moves to summer time on 2025-03-30 at 01:00Z: a calendar day or month added in that
  // zone is 23 hours or a month minus an hour, which must not cut observations off the last bucket.
  const obs: Obs[] = [
    { at: "2025-03-09T23:30:00Z", value: 50 }, // Sunday in UTC, Monday 00:30 in Berlin → week of 3 March
    { at: "2025-03-30T10:00:00Z", value: 1 },
    { at: "2025-03-30T23:30:00Z", value: 7 }, // 30 March in UTC (31 March 01:30 in Berlin)
    { at: "2025-03-31T23:30:00Z", value: 9 }, // still March in UTC (April in Berlin)
  ];

  it("DAY/WEEK/MONTH buckets are UTC", async () => {
    await createProject(t, "tz", null);
    await defineMetric(t, "tz.time", "LOWER_IS_BETTER", "MEAN");
    await trackKpi(t, { projectSlug: "tz", metricKey: "tz.time" });
    await record(t, "tz", "tz.time", obs);
    expect(await series(t, "tz", "tz.time", "DAY")).toEqual([
      pt("2025-03-09T00:00:00.000Z", "AFTER", 50, 1),
      pt("2025-03-30T00:00:00.000Z", "AFTER", 4, 2),
      pt("2025-03-31T00:00:00.000Z", "AFTER", 9, 1),
    ]);
    expect(await series(t, "tz", "tz.time", "WEEK")).toEqual([
      pt("2025-03-03T00:00:00.000Z", "AFTER", 50, 1),
      pt("2025-03-24T00:00:00.000Z", "AFTER", 4, 2),
      pt("2025-03-31T00:00:00.000Z", "AFTER", 9, 1),
    ]);
    expect(await series(t, "tz", "tz.time", "MONTH")).toEqual([
      pt("2025-03-01T00:00:00.000Z", "AFTER", (50 + 1 + 7 + 9) / 4, 4),
    ]);
  });

  it("`to` just after a bucket start keeps that whole bucket, across the DST change", async () => {
    // The 30 March bucket starts before `to`, so it is kept with both its observations (1 and 7 → 4).
    const day = await series(t, "tz", "tz.time", "DAY", "2025-03-30T00:00:00Z", "2025-03-30T00:00:00.001Z");
    expect(day).toEqual([pt("2025-03-30T00:00:00.000Z", "AFTER", 4, 2)]);
    // The March bucket starts before `to`: all four March observations.
    const month = await series(t, "tz", "tz.time", "MONTH", null, "2025-03-01T00:00:00.001Z");
    expect(month).toEqual([pt("2025-03-01T00:00:00.000Z", "AFTER", (50 + 1 + 7 + 9) / 4, 4)]);
    expectSeries(
      month,
      seriesRef(
        "MEAN",
        obs,
        { before: null, after: [null, null] },
        "MONTH",
        null,
        "2025-03-01T00:00:00.001Z",
      ),
    );
  });
});
