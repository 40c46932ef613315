import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logContext } from "../../src/log.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import {
  type Agg,
  between,
  createProject,
  type Dir,
  defineMetric,
  expectNum,
  expectPhase,
  improvementRef,
  kpi,
  type Obs,
  ok,
  phaseRef,
  record,
  trackKpi,
} from "./reference.js";

// KPI figures through the whole app (GraphQL → engine → PostgreSQL). Expected figures come from the plain
// reference in ./reference.ts or are worked out by hand in the comments; never from src/kpi.

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: "currency: EUR\nmetrics: []\n" });
});
afterAll(async () => t?.stop());

const GO_LIVE = "2025-03-01T00:00:00.000Z";

// Weights chosen so that the weighted percentiles differ from the unweighted ones.
const BEFORE: Obs[] = [
  { at: "2025-01-05T08:00:00Z", value: 12, weight: 2 },
  { at: "2025-01-20T09:30:00Z", value: 8, weight: 1 },
  { at: "2025-02-03T10:00:00Z", value: 20, weight: 0.5 },
  { at: "2025-02-14T11:00:00Z", value: 10, weight: 3 },
  { at: "2025-02-28T23:59:59.999Z", value: 15, weight: 1.5 }, // the last millisecond before go-live
];
const AFTER: Obs[] = [
  { at: "2025-03-01T00:00:00Z", value: 3, weight: 1 }, // exactly at go-live: AFTER
  { at: "2025-03-10T12:00:00Z", value: 5, weight: 2 },
  { at: "2025-03-20T12:00:00Z", value: 1, weight: 0.25 },
  { at: "2025-04-02T12:00:00Z", value: 4, weight: 4 },
  { at: "2025-04-15T12:00:00Z", value: 9, weight: 0.75 },
  { at: "2025-04-20T00:00:00+02:00", value: 2, weight: 0.5 }, // an offset: 2025-04-19T22:00Z
];

describe("phase values by aggregation, weights applied", () => {
  it("the reference agrees with a hand computation of this data set", () => {
    // BEFORE Σw = 2 + 1 + 0.5 + 3 + 1.5 = 8; Σvw = 24 + 8 + 10 + 30 + 22.5 = 94.5; mean 11.8125.
    // Sorted: 8(1) 10(3) 12(2) 15(1.5) 20(0.5), cumulative 1, 4, 6, 7.5, 8.
    //   50 % of 8 = 4 is reached exactly at 10 (the unweighted median would be 12); 90 % = 7.2 → 15.
    // AFTER Σw = 1 + 2 + 0.25 + 4 + 0.75 + 0.5 = 8.5; Σvw = 3 + 10 + 0.25 + 16 + 6.75 + 1 = 37.
    // Sorted: 1(.25) 2(.5) 3(1) 4(4) 5(2) 9(.75), cumulative .25, .75, 1.75, 5.75, 7.75, 8.5.
    //   50 % = 4.25 → 4 (unweighted: 3); 90 % = 7.65 → 5 (unweighted: 9).
    expect(phaseRef("MEAN", BEFORE).value).toBe(11.8125);
    expect(phaseRef("MEDIAN", BEFORE).value).toBe(10);
    expect(phaseRef("P90", BEFORE).value).toBe(15);
    expect(phaseRef("SUM", BEFORE).value).toBe(94.5);
    expect(phaseRef("COUNT", BEFORE).value).toBe(8);
    expect(phaseRef("MEAN", AFTER).value).toBeCloseTo(37 / 8.5, 12);
    expect(phaseRef("MEDIAN", AFTER).value).toBe(4);
    expect(phaseRef("P90", AFTER).value).toBe(5);
    expect(phaseRef("SUM", AFTER).value).toBe(37);
    expect(phaseRef("COUNT", AFTER).value).toBe(8.5);
  });

  const cases: [Agg, Dir, number][] = [
    ["MEAN", "LOWER_IS_BETTER", (1 - 37 / 8.5 / 11.8125) * 100], // 63.15…
    ["MEDIAN", "LOWER_IS_BETTER", 60], // 10 → 4
    ["P90", "LOWER_IS_BETTER", (10 / 15) * 100], // 15 → 5
    ["SUM", "HIGHER_IS_BETTER", ((37 - 94.5) / 94.5) * 100], // worse: negative
    ["COUNT", "HIGHER_IS_BETTER", 6.25], // 8 → 8.5
  ];
  for (const [agg, dir, handImprovement] of cases) {
    it(`${agg} (${dir})`, async () => {
      const slug = `agg-${agg.toLowerCase()}`;
      const key = `agg.${agg.toLowerCase()}`;
      await createProject(t, slug, GO_LIVE);
      await defineMetric(t, key, dir, agg);
      await trackKpi(t, { projectSlug: slug, metricKey: key, target: 4 });
      await record(t, slug, key, [...BEFORE, ...AFTER]);

      const all = [...BEFORE, ...AFTER];
      const b = phaseRef(agg, between(all, null, GO_LIVE));
      const a = phaseRef(agg, between(all, GO_LIVE, null));
      const k = await kpi(t, slug, key);
      expectPhase(k.baseline, b, "baseline");
      expectPhase(k.current, a, "current");
      expect(k.baseline.from).toBe("2025-01-05T08:00:00.000Z");
      expect(k.baseline.to).toBe("2025-02-28T23:59:59.999Z");
      expect(k.current.from).toBe("2025-03-01T00:00:00.000Z");
      expect(k.current.to).toBe("2025-04-19T22:00:00.000Z");
      expectNum(k.improvementPct, improvementRef(dir, b.value, a.value), "improvementPct");
      expectNum(k.improvementPct, handImprovement, "improvementPct by hand");
      expect(k.target).toBe(4);
      const met = dir === "LOWER_IS_BETTER" ? a.value! <= 4 : a.value! >= 4;
      expect(k.targetMet).toBe(met);
      expect(k.control).toBeNull();
      expect(k.annualBenefit).toBeNull(); // no valuePerUnit
    });
  }

  it("weighted percentile: an exact 50 % hit and float weights such as 0.1 + 0.2", async () => {
    const sets: Record<string, Obs[]> = {
      // 1, 2, 3, 4 with weight 1: 50 % (2 of 4) is reached exactly at 2 — not 2.5, not 3; 90 % = 3.6 → 4.
      exact: [1, 2, 3, 4].map((v, i) => ({ at: `2025-03-0${i + 2}T00:00:00Z`, value: v })),
      // weights 0.1, 0.2, 0.3: total 0.6, half 0.3 = 0.1 + 0.2 exactly (in floats 0.30000000000000004).
      tenths: [
        { at: "2025-03-02T00:00:00Z", value: 30, weight: 0.3 },
        { at: "2025-03-03T00:00:00Z", value: 10, weight: 0.1 },
        { at: "2025-03-04T00:00:00Z", value: 20, weight: 0.2 },
      ],
      // ten values with weight 0.1 (float sum 0.9999999999999999): 50 % at 5, 90 % exactly at 9.
      tens: Array.from({ length: 10 }, (_, i) => ({
        at: `2025-03-${String(20 - i).padStart(2, "0")}T00:00:00Z`,
        value: i + 1,
        weight: 0.1,
      })),
      // 1(0.1) 2(0.7) 3(0.8): 50 % of 1.6 = 0.8 = 0.1 + 0.7 exactly, reached at 2. In floats 0.1 + 0.7 is
      // 0.7999999999999999 < 0.8 whatever the order: a naive float comparison would answer 3.
      ulp: [
        { at: "2025-03-02T00:00:00Z", value: 3, weight: 0.8 },
        { at: "2025-03-03T00:00:00Z", value: 1, weight: 0.1 },
        { at: "2025-03-04T00:00:00Z", value: 2, weight: 0.7 },
      ],
      // 0.7 / 0.2 / 0.1: cumulative .2, .3, 1.0 → the median is the heavy value 3, not 2.
      heavy: [
        { at: "2025-03-02T00:00:00Z", value: 3, weight: 0.7 },
        { at: "2025-03-03T00:00:00Z", value: 1, weight: 0.2 },
        { at: "2025-03-04T00:00:00Z", value: 2, weight: 0.1 },
      ],
    };
    const hand: Record<string, [number, number]> = {
      exact: [2, 4],
      tenths: [20, 30],
      tens: [5, 9],
      ulp: [2, 3], // 90 % = 1.44 → 3
      heavy: [3, 3],
    };
    for (const [name, obs] of Object.entries(sets)) {
      for (const agg of ["MEDIAN", "P90"] as const) {
        const slug = `pct-${name}-${agg.toLowerCase()}`;
        const key = `pct.${name}.${agg.toLowerCase()}`;
        await createProject(t, slug, GO_LIVE);
        await defineMetric(t, key, "LOWER_IS_BETTER", agg);
        await trackKpi(t, { projectSlug: slug, metricKey: key });
        // The same values before go-live (a year earlier) so that both phases are checked.
        const before = obs.map((o) => ({ ...o, at: o.at.replace("2025-03", "2024-03") }));
        await record(t, slug, key, [...before, ...obs]);
        const k = await kpi(t, slug, key);
        const expected = hand[name][agg === "MEDIAN" ? 0 : 1];
        expect(phaseRef(agg, obs).value, `reference ${name} ${agg}`).toBe(expected);
        expect(k.current.value, `${name} ${agg} current`).toBe(expected);
        expect(k.baseline.value, `${name} ${agg} baseline`).toBe(expected);
        expect(k.improvementPct, `${name} ${agg}`).toBe(0);
        expectNum(k.current.count, phaseRef(agg, obs).count, `${name} count`);
      }
    }
  });

  it("ties: repeated values share their cumulative weight", async () => {
    // 5(1) 5(1) 7(1) 7(1) 7(1) 9(5): total 10, cumulative 1, 2, 3, 4, 5, 10. 50 % = 5 is reached at the last 7
    // → median 7; 90 % = 9 → 9.
    const obs: Obs[] = [5, 7, 9, 7, 5, 7].map((v, i) => ({
      at: `2025-03-0${i + 2}T00:00:00Z`,
      value: v,
      weight: v === 9 ? 5 : 1,
    }));
    for (const agg of ["MEDIAN", "P90"] as const) {
      const slug = `ties-${agg.toLowerCase()}`;
      const key = `ties.${agg.toLowerCase()}`;
      await createProject(t, slug, GO_LIVE);
      await defineMetric(t, key, "LOWER_IS_BETTER", agg);
      await trackKpi(t, { projectSlug: slug, metricKey: key });
      await record(t, slug, key, obs);
      const k = await kpi(t, slug, key);
      expect(k.current.value).toBe(agg === "MEDIAN" ? 7 : 9);
      expect(k.current.value).toBe(phaseRef(agg, obs).value);
    }
  });
});

describe("phases and settings", () => {
  it("baselineValue replaces the baseline value; the count stays computed", async () => {
    await createProject(t, "bv", GO_LIVE);
    await defineMetric(t, "bv.time", "LOWER_IS_BETTER", "MEAN");
    await trackKpi(t, { projectSlug: "bv", metricKey: "bv.time", baselineValue: 20 });
    await record(t, "bv", "bv.time", [...BEFORE, ...AFTER]);
    const k = await kpi(t, "bv", "bv.time");
    expect(k.baseline.value).toBe(20);
    expectNum(k.baseline.count, 8, "baseline.count"); // Σw of BEFORE, by hand
    expect(k.baseline.from).toBe("2025-01-05T08:00:00.000Z");
    expect(k.baseline.to).toBe("2025-02-28T23:59:59.999Z");
    expectNum(k.current.value, 37 / 8.5, "current");
    expectNum(k.improvementPct, ((20 - 37 / 8.5) / 20) * 100, "improvementPct"); // 78.23…

    // With an empty baseline, baselineValue still gives a baseline (count 0).
    await createProject(t, "bv-empty", GO_LIVE);
    await trackKpi(t, { projectSlug: "bv-empty", metricKey: "bv.time", baselineValue: 11 });
    await record(t, "bv-empty", "bv.time", [{ at: "2025-03-05T00:00:00Z", value: 1 }]);
    const e = await kpi(t, "bv-empty", "bv.time");
    expect(e.baseline).toEqual({ value: 11, count: 0, from: null, to: null });
    expectNum(e.improvementPct, (10 / 11) * 100, "improvementPct");
  });

  it("explicit windows are half-open: from <= observedAt < to", async () => {
    await createProject(t, "win", GO_LIVE);
    await defineMetric(t, "win.time", "LOWER_IS_BETTER", "MEAN");
    const bounds = {
      baselineFrom: "2025-01-10T00:00:00.000Z",
      baselineTo: "2025-02-01T00:00:00.000Z",
      afterFrom: "2025-02-15T00:00:00.000Z",
      afterTo: "2025-04-01T00:00:00.000Z",
    };
    await trackKpi(t, { projectSlug: "win", metricKey: "win.time", ...bounds });
    const obs: Obs[] = [
      { at: "2025-01-09T23:59:59.999Z", value: 1000 }, // before baselineFrom: nowhere
      { at: "2025-01-10T00:00:00.000Z", value: 10 }, // = baselineFrom: BEFORE
      { at: "2025-01-20T00:00:00.000Z", value: 14 }, // BEFORE
      { at: "2025-01-31T23:59:59.999Z", value: 12 }, // BEFORE (last one)
      { at: "2025-02-01T00:00:00.000Z", value: 2000 }, // = baselineTo: not BEFORE; before afterFrom: nowhere
      { at: "2025-02-14T23:59:59.999Z", value: 3000 }, // nowhere
      { at: "2025-02-15T00:00:00.000Z", value: 4 }, // = afterFrom: AFTER
      { at: "2025-03-01T00:00:00.000Z", value: 2 }, // goLiveAt is overridden: AFTER, nothing special
      { at: "2025-03-31T23:59:59.999Z", value: 3 }, // AFTER (last one)
      { at: "2025-04-01T00:00:00.000Z", value: 4000 }, // = afterTo: nowhere
    ];
    await record(t, "win", "win.time", obs);
    const k = await kpi(t, "win", "win.time");
    // By hand: BEFORE 10, 14, 12 → mean 12; AFTER 4, 2, 3 → mean 3; (12 − 3)/12 = 75 %.
    expect(k.baseline).toEqual({
      value: 12,
      count: 3,
      from: "2025-01-10T00:00:00.000Z",
      to: "2025-01-31T23:59:59.999Z",
    });
    expect(k.current).toEqual({
      value: 3,
      count: 3,
      from: "2025-02-15T00:00:00.000Z",
      to: "2025-03-31T23:59:59.999Z",
    });
    expectNum(k.improvementPct, 75, "improvementPct");
    // The same through the reference.
    expectPhase(k.baseline, phaseRef("MEAN", between(obs, bounds.baselineFrom, bounds.baselineTo)), "ref b");
    expectPhase(k.current, phaseRef("MEAN", between(obs, bounds.afterFrom, bounds.afterTo)), "ref a");
  });

  it("overlapping explicit windows count an observation in both phases", async () => {
    await createProject(t, "overlap", GO_LIVE);
    await defineMetric(t, "overlap.n", "HIGHER_IS_BETTER", "SUM");
    await trackKpi(t, {
      projectSlug: "overlap",
      metricKey: "overlap.n",
      baselineTo: "2025-03-10T00:00:00Z",
      afterFrom: "2025-03-05T00:00:00Z",
    });
    await record(t, "overlap", "overlap.n", [
      { at: "2025-03-01T00:00:00Z", value: 1 }, // BEFORE only
      { at: "2025-03-07T00:00:00Z", value: 10 }, // both
      { at: "2025-03-12T00:00:00Z", value: 100 }, // AFTER only
    ]);
    const k = await kpi(t, "overlap", "overlap.n");
    expect(k.baseline.value).toBe(11);
    expect(k.current.value).toBe(110);
  });

  it("without goLiveAt and without bounds, everything is AFTER and the baseline is empty", async () => {
    await createProject(t, "no-golive", null);
    await defineMetric(t, "ng.time", "LOWER_IS_BETTER", "MEAN");
    await trackKpi(t, { projectSlug: "no-golive", metricKey: "ng.time", target: 5 });
    const all = [...BEFORE, ...AFTER];
    await record(t, "no-golive", "ng.time", all);
    const k = await kpi(t, "no-golive", "ng.time");
    expect(k.baseline).toEqual({ value: null, count: 0, from: null, to: null });
    expectPhase(k.current, phaseRef("MEAN", all), "current");
    expectNum(k.current.value, (94.5 + 37) / 16.5, "current by hand");
    expect(k.improvementPct).toBeNull();
    expect(k.targetMet).toBe(false); // current 131.5/16.5 ≈ 7.97 is not ≤ the target 5
  });

  it("a KPI without observations has empty phases and no updatedAt", async () => {
    await createProject(t, "empty", GO_LIVE);
    await defineMetric(t, "empty.time", "LOWER_IS_BETTER", "MEDIAN");
    await trackKpi(t, { projectSlug: "empty", metricKey: "empty.time", target: 1, valuePerUnit: 1 });
    const k = await kpi(t, "empty", "empty.time");
    expect(k.baseline).toEqual({ value: null, count: 0, from: null, to: null });
    expect(k.current).toEqual({ value: null, count: 0, from: null, to: null });
    expect(k.improvementPct).toBeNull();
    expect(k.targetMet).toBeNull();
    expect(k.annualBenefit).toBeNull();
    expect(k.updatedAt).toBeNull();
  });
});

describe("annualBenefit", () => {
  it("with annualVolume: (b − a) × valuePerUnit × annualVolume", async () => {
    await createProject(t, "ab-volume", GO_LIVE);
    await defineMetric(t, "ab.time", "LOWER_IS_BETTER", "MEAN");
    await trackKpi(t, {
      projectSlug: "ab-volume",
      metricKey: "ab.time",
      valuePerUnit: 0.5,
      annualVolume: 60_000,
    });
    // BEFORE 10, 12 → 11; AFTER 1 → 1 (the contract's seed).
    await record(t, "ab-volume", "ab.time", [
      { at: "2025-01-01T10:00:00Z", value: 10 },
      { at: "2025-01-02T10:00:00Z", value: 12 },
      { at: "2025-04-01T10:00:00Z", value: 1 },
    ]);
    const k = await kpi(t, "ab-volume", "ab.time");
    expectNum(k.improvementPct, (10 / 11) * 100, "improvementPct");
    expectNum(k.annualBenefit, 10 * 0.5 * 60_000, "annualBenefit"); // 300,000
  });

  it("with the annualised AFTER rate: AFTER count / (last AFTER observedAt − goLiveAt) in 365.25-day years", async () => {
    await createProject(t, "ab-rate", GO_LIVE);
    await trackKpi(t, { projectSlug: "ab-rate", metricKey: "ab.time", valuePerUnit: 2 });
    await record(t, "ab-rate", "ab.time", [
      { at: "2025-02-01T00:00:00Z", value: 30, weight: 10 },
      // AFTER: weights 40 + 50 = 90, Σvw = 40·12 + 50·21 = 480 + 1050 = 1530 → mean 17.
      { at: "2025-03-20T00:00:00Z", value: 12, weight: 40 },
      { at: "2025-04-15T12:00:00Z", value: 21, weight: 50 },
    ]);
    const k = await kpi(t, "ab-rate", "ab.time");
    // Span 2025-03-01T00:00Z → 2025-04-15T12:00Z = 31 + 14.5 = 45.5 days = 45.5/365.25 years.
    const years = 45.5 / 365.25;
    const perYear = 90 / years; // ≈ 722.5
    expectNum(k.current.value, 17, "current");
    // (30 − 17) × 2 × perYear = 26 × 90 × 365.25 / 45.5 = 18,784.2857… → in cents (contract "Money")
    expect((30 - 17) * 2 * perYear).toBeCloseTo(18_784.2857, 3);
    expect(k.annualBenefit).toBe(18_784.29);
  });

  it("with afterFrom/afterTo: the span is afterTo − afterFrom", async () => {
    await createProject(t, "ab-window", GO_LIVE);
    await trackKpi(t, {
      projectSlug: "ab-window",
      metricKey: "ab.time",
      valuePerUnit: 1,
      baselineTo: "2025-03-01T00:00:00Z",
      afterFrom: "2025-04-01T00:00:00Z",
      afterTo: "2025-04-11T00:00:00Z", // 10 days
    });
    await record(t, "ab-window", "ab.time", [
      { at: "2025-02-01T00:00:00Z", value: 8 },
      { at: "2025-04-02T00:00:00Z", value: 6, weight: 3 },
      { at: "2025-04-03T00:00:00Z", value: 2, weight: 1 },
      { at: "2025-04-20T00:00:00Z", value: 100 }, // after afterTo: not counted
    ]);
    const k = await kpi(t, "ab-window", "ab.time");
    // AFTER mean (18 + 2)/4 = 5; volume = 4 / (10/365.25) = 146.1 per year; (8 − 5) × 1 × 146.1 = 438.3
    expectNum(k.current.value, 5, "current");
    expect(k.annualBenefit).toBe(438.3); // 3 × 4 × 36.525, already whole cents
  });

  it("without goLiveAt or afterFrom the span starts at the first AFTER observation (contract silent)", async () => {
    await createProject(t, "ab-nogo", null);
    await trackKpi(t, { projectSlug: "ab-nogo", metricKey: "ab.time", baselineValue: 11, valuePerUnit: 1 });
    await record(t, "ab-nogo", "ab.time", [
      { at: "2025-01-01T00:00:00Z", value: 2, weight: 5 },
      { at: "2025-01-11T00:00:00Z", value: 1, weight: 5 },
      { at: "2025-01-21T00:00:00Z", value: 0, weight: 5 },
    ]);
    const k = await kpi(t, "ab-nogo", "ab.time");
    // AFTER = everything: mean 1, count 15 over 20 days → 15 / (20/365.25) per year; (11 − 1) × 1 × that
    expect(k.baseline).toEqual({ value: 11, count: 0, from: null, to: null });
    // 10 × 15 × 365.25 / 20 = 2,739.375: half a cent, rounded away from zero (contract "Money")
    expect(k.annualBenefit).toBe(2_739.38);
  });

  it("is null when the AFTER span is 0 (a single AFTER observation exactly at go-live)", async () => {
    await createProject(t, "ab-zero", GO_LIVE);
    await trackKpi(t, { projectSlug: "ab-zero", metricKey: "ab.time", valuePerUnit: 1 });
    await record(t, "ab-zero", "ab.time", [
      { at: "2025-02-01T00:00:00Z", value: 8 },
      { at: GO_LIVE, value: 4 },
    ]);
    const k = await kpi(t, "ab-zero", "ab.time");
    expectNum(k.improvementPct, 50, "improvementPct");
    expect(k.annualBenefit).toBeNull();
  });
});

describe("updatedAt", () => {
  it("is set when observations are recorded and moves when one is re-recorded", async () => {
    await createProject(t, "upd", GO_LIVE);
    await defineMetric(t, "upd.time", "LOWER_IS_BETTER", "MEAN");
    await trackKpi(t, { projectSlug: "upd", metricKey: "upd.time" });
    expect((await kpi(t, "upd", "upd.time")).updatedAt).toBeNull();

    expect(
      await record(t, "upd", "upd.time", [
        { at: "2025-02-01T00:00:00Z", value: 10, externalId: "a" },
        { at: "2025-03-02T00:00:00Z", value: 4, externalId: "b" },
      ]),
    ).toEqual({ inserted: 2, updated: 0 });
    const first = await kpi(t, "upd", "upd.time");
    expect(first.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const u1 = Date.parse(first.updatedAt);
    expect(first.current.value).toBe(4);

    await new Promise((r) => setTimeout(r, 25));
    // Re-recording the same externalId updates the row: the KPI's figures and updatedAt change.
    expect(
      await record(t, "upd", "upd.time", [{ at: "2025-03-02T00:00:00Z", value: 6, externalId: "b" }]),
    ).toEqual({ inserted: 0, updated: 1 });
    const second = await kpi(t, "upd", "upd.time");
    expect(Date.parse(second.updatedAt)).toBeGreaterThan(u1);
    expect(second.current).toMatchObject({ value: 6, count: 1 });
    expectNum(second.improvementPct, 40, "improvementPct");
  });
});

describe("control cohort", () => {
  it("treatment 11 → 1 against control 11 → 10: a difference in differences", async () => {
    await createProject(t, "cohort", GO_LIVE);
    await defineMetric(t, "cohort.time", "LOWER_IS_BETTER", "MEAN");
    await trackKpi(t, {
      projectSlug: "cohort",
      metricKey: "cohort.time",
      cohort: { dimension: "team", treatment: "ai", control: "classic" },
    });
    const team = (v: string, extra: Record<string, string> = {}) => ({ team: v, ...extra });
    const obs: Obs[] = [
      // treatment: BEFORE 10, 12 → 11; AFTER 0.5, 1.5 → 1
      { at: "2025-01-10T00:00:00Z", value: 10, dimensions: team("ai", { region: "emea" }) },
      { at: "2025-02-10T00:00:00Z", value: 12, dimensions: team("ai") },
      { at: "2025-03-10T00:00:00Z", value: 0.5, dimensions: team("ai") },
      { at: "2025-04-10T00:00:00Z", value: 1.5, dimensions: team("ai") },
      // control: BEFORE 11, 11 → 11; AFTER 9 (weight 1), 10.5 (weight 2) → 30/3 = 10
      { at: "2025-01-11T00:00:00Z", value: 11, dimensions: team("classic") },
      { at: "2025-02-11T00:00:00Z", value: 11, dimensions: team("classic") },
      { at: "2025-03-11T00:00:00Z", value: 9, dimensions: team("classic") },
      { at: "2025-04-11T00:00:00Z", value: 10.5, weight: 2, dimensions: team("classic") },
      // in neither cohort: no dimensions, another value, another key, the value under another key, a case change
      { at: "2025-01-12T00:00:00Z", value: 500 },
      { at: "2025-03-12T00:00:00Z", value: 500, dimensions: team("other") },
      { at: "2025-01-13T00:00:00Z", value: 500, dimensions: { region: "ai" } },
      { at: "2025-03-13T00:00:00Z", value: 500, dimensions: { squad: "classic" } },
      { at: "2025-03-14T00:00:00Z", value: 500, dimensions: team("AI") },
      { at: "2025-03-15T00:00:00Z", value: 500, dimensions: {} },
    ];
    await record(t, "cohort", "cohort.time", obs);
    const k = await kpi(t, "cohort", "cohort.time");

    expect(k.baseline).toEqual({
      value: 11,
      count: 2,
      from: "2025-01-10T00:00:00.000Z",
      to: "2025-02-10T00:00:00.000Z",
    });
    expect(k.current).toEqual({
      value: 1,
      count: 2,
      from: "2025-03-10T00:00:00.000Z",
      to: "2025-04-10T00:00:00.000Z",
    });
    expectNum(k.improvementPct, 90.90909090909091, "improvementPct"); // 10/11
    expect(k.control).toMatchObject({ dimension: "team", treatment: "ai", control: "classic" });
    expect(k.control.controlBaseline).toEqual({
      value: 11,
      count: 2,
      from: "2025-01-11T00:00:00.000Z",
      to: "2025-02-11T00:00:00.000Z",
    });
    expect(k.control.controlCurrent).toEqual({
      value: 10,
      count: 3,
      from: "2025-03-11T00:00:00.000Z",
      to: "2025-04-11T00:00:00.000Z",
    });
    expectNum(k.control.controlChangePct, 9.090909090909092, "controlChangePct"); // 1/11
    expectNum(k.control.adjustedImprovementPct, 81.81818181818181, "adjustedImprovementPct"); // 9/11

    // The same through the reference, with the cohort filter written as a plain loop.
    const cohort = (v: string) => obs.filter((o) => o.dimensions?.team === v);
    expectPhase(k.baseline, phaseRef("MEAN", between(cohort("ai"), null, GO_LIVE)), "treatment b");
    expectPhase(k.current, phaseRef("MEAN", between(cohort("ai"), GO_LIVE, null)), "treatment a");
    expectPhase(
      k.control.controlBaseline,
      phaseRef("MEAN", between(cohort("classic"), null, GO_LIVE)),
      "ctl b",
    );
    expectPhase(
      k.control.controlCurrent,
      phaseRef("MEAN", between(cohort("classic"), GO_LIVE, null)),
      "ctl a",
    );
  });

  it("without control observations the control figures are empty and the adjustment null", async () => {
    await createProject(t, "cohort-empty", GO_LIVE);
    await trackKpi(t, {
      projectSlug: "cohort-empty",
      metricKey: "cohort.time",
      cohort: { dimension: "team", treatment: "ai", control: "classic" },
    });
    await record(t, "cohort-empty", "cohort.time", [
      { at: "2025-01-10T00:00:00Z", value: 8, dimensions: { team: "ai" } },
      { at: "2025-03-10T00:00:00Z", value: 6, dimensions: { team: "ai" } },
    ]);
    const k = await kpi(t, "cohort-empty", "cohort.time");
    expectNum(k.improvementPct, 25, "improvementPct");
    expect(k.control.controlBaseline).toEqual({ value: null, count: 0, from: null, to: null });
    expect(k.control.controlCurrent).toEqual({ value: null, count: 0, from: null, to: null });
    expect(k.control.controlChangePct).toBeNull();
    expect(k.control.adjustedImprovementPct).toBeNull();
  });

  it("a weighted-percentile KPI with a cohort uses only each cohort's observations", async () => {
    await createProject(t, "cohort-p", GO_LIVE);
    await defineMetric(t, "cohort.p90", "LOWER_IS_BETTER", "P90");
    await trackKpi(t, {
      projectSlug: "cohort-p",
      metricKey: "cohort.p90",
      cohort: { dimension: "arm", treatment: "t", control: "c" },
    });
    const obs: Obs[] = [];
    const add = (arm: string | null, month: string, values: number[], weights: number[]) => {
      values.forEach((value, i) => {
        obs.push({
          at: `2025-${month}-${String(i + 1).padStart(2, "0")}T06:00:00Z`,
          value,
          weight: weights[i],
          dimensions: arm ? { arm } : undefined,
        });
      });
    };
    add("t", "01", [20, 30, 40, 50], [1, 1, 1, 1]); // P90 (3.6 of 4) → 50
    add("t", "03", [5, 6, 7, 100], [3, 3, 3, 0.5]); // total 9.5, 90 % = 8.55 → cumulative 3, 6, 9 → 7
    add("c", "01", [40, 60], [1, 9]); // 90 % of 10 = 9 → cumulative 1, 10 → 60
    add("c", "03", [45, 55], [9, 1]); // 9 → reached exactly at 45
    add(null, "03", [1, 1, 1], [100, 100, 100]); // outside both cohorts
    await record(t, "cohort-p", "cohort.p90", obs);
    const k = await kpi(t, "cohort-p", "cohort.p90");
    expect(k.baseline.value).toBe(50);
    expect(k.current.value).toBe(7);
    expect(k.control.controlBaseline.value).toBe(60);
    expect(k.control.controlCurrent.value).toBe(45);
    expectNum(k.improvementPct, 86, "improvementPct"); // (50 − 7)/50
    expectNum(k.control.controlChangePct, 25, "controlChangePct"); // (60 − 45)/60
    expectNum(k.control.adjustedImprovementPct, 61, "adjusted");
  });
});

describe("ROI", () => {
  it("sums the KPIs' annual benefits against every cost, in the configured currency", async () => {
    await createProject(t, "roi", GO_LIVE);
    await defineMetric(t, "roi.time", "LOWER_IS_BETTER", "MEAN");
    await defineMetric(t, "roi.deals", "HIGHER_IS_BETTER", "MEAN");
    await defineMetric(t, "roi.csat", "HIGHER_IS_BETTER", "MEAN");
    await trackKpi(t, { projectSlug: "roi", metricKey: "roi.time", valuePerUnit: 1, annualVolume: 60_000 });
    await trackKpi(t, { projectSlug: "roi", metricKey: "roi.deals", valuePerUnit: 100, annualVolume: 52 });
    await trackKpi(t, { projectSlug: "roi", metricKey: "roi.csat" }); // no valuePerUnit: counts 0
    await record(t, "roi", "roi.time", [
      { at: "2025-01-01T10:00:00Z", value: 10 },
      { at: "2025-01-02T10:00:00Z", value: 12 },
      { at: "2025-04-01T10:00:00Z", value: 1 },
    ]);
    await record(t, "roi", "roi.deals", [
      { at: "2025-01-01T10:00:00Z", value: 10 },
      { at: "2025-04-01T10:00:00Z", value: 13 },
    ]);
    await record(t, "roi", "roi.csat", [
      { at: "2025-01-01T10:00:00Z", value: 3 },
      { at: "2025-04-01T10:00:00Z", value: 4 },
    ]);
    const cost = (label: string, kind: string, amount: number, startsAt: string) =>
      ok(t, `mutation($in: AddCostInput!) { addCost(input: $in) { id } }`, {
        in: { projectSlug: "roi", label, kind, amount, startsAt },
      });
    await cost("build", "ONE_TIME", 200_000, "2025-01-01T00:00:00Z");
    await cost("licence", "MONTHLY", 8_333.33, "2025-03-01T00:00:00Z");
    await cost("later training", "ONE_TIME", 10_000, "2030-01-01T00:00:00Z"); // startsAt is informational

    const data = await ok(
      t,
      `{ project(slug: "roi") { kpis { metric { key } annualBenefit }
          r12: roi { horizonMonths benefit cost net roiPct paybackMonths currency }
          r24: roi(horizonMonths: 24) { horizonMonths benefit cost net roiPct paybackMonths currency } } }`,
    );
    const p = data.project;
    // annual benefits by hand: roi.csat null; roi.deals (13 − 10) × 100 × 52 = 15,600; roi.time 10 × 1 × 60,000
    expect(p.kpis.map((k: any) => k.metric.key)).toEqual(["roi.csat", "roi.deals", "roi.time"]);
    expect(p.kpis[0].annualBenefit).toBeNull();
    expectNum(p.kpis[1].annualBenefit, 15_600, "deals");
    expectNum(p.kpis[2].annualBenefit, 600_000, "time");

    const annual = 615_600;
    const oneTime = 210_000;
    const monthly = 8_333.33;
    // H = 12: benefit 615,600; cost 210,000 + 99,999.96 = 309,999.96; net 305,600.04
    expect(p.r12.horizonMonths).toBe(12);
    expect(p.r12.currency).toBe("EUR");
    expectNum(p.r12.benefit, annual, "benefit");
    expectNum(p.r12.cost, 309_999.96, "cost");
    expectNum(p.r12.net, 305_600.04, "net");
    expectNum(p.r12.roiPct, (305_600.04 / 309_999.96) * 100, "roiPct"); // ≈ 98.58
    // 210,000 / (615,600/12 − 8,333.33) = 210,000 / 42,966.67 ≈ 4.8875
    expectNum(p.r12.paybackMonths, oneTime / (annual / 12 - monthly), "payback");
    expect(p.r12.paybackMonths).toBeCloseTo(4.8875, 3);
    // H = 24
    expect(p.r24.horizonMonths).toBe(24);
    expect(p.r24.currency).toBe("EUR");
    expectNum(p.r24.benefit, 1_231_200, "benefit 24");
    expectNum(p.r24.cost, 210_000 + 199_999.92, "cost 24");
    expectNum(p.r24.net, 1_231_200 - 409_999.92, "net 24");
    expectNum(p.r24.roiPct, ((1_231_200 - 409_999.92) / 409_999.92) * 100, "roiPct 24");
    expectNum(p.r24.paybackMonths, p.r12.paybackMonths, "payback 24");
  });

  it("a project without costs or benefits: cost 0, roiPct null", async () => {
    await createProject(t, "roi-none", null);
    const data = await ok(
      t,
      `{ project(slug: "roi-none") { roi { benefit cost net roiPct paybackMonths currency } } }`,
    );
    expect(data.project.roi).toEqual({
      benefit: 0,
      cost: 0,
      net: 0,
      roiPct: null,
      paybackMonths: null, // monthly benefit − Σ MONTHLY = 0 ≤ 0
      currency: "EUR",
    });
  });
});

describe("batching (no N+1)", () => {
  // How statements are counted. PostgreSQL's own counters are no good here: pg_stat_statements needs
  // shared_preload_libraries (the embedded server does not load it), and pg_stat_database's
  // xact_commit is flushed by each backend lazily — measured on this server, 50 transactions only
  // showed up ~10 s later — and it also counts the observer's own queries. The app runs in this process,
  // so we count at the driver instead: every statement any pg.Client sends (typeorm's pool included)
  // goes through pg.Client.prototype.query, which we wrap for the duration of one GraphQL request.
  // A positive control below checks that the counter sees the app's statements at all.
  async function countStatements(run: () => Promise<unknown>): Promise<number> {
    const proto = pg.Client.prototype as any;
    const original = proto.query;
    let n = 0;
    proto.query = function (this: unknown, ...args: unknown[]) {
      // Only what the request itself sends: background work (the reporting refresher, alert evaluation)
      // runs outside any request's context.
      if (logContext.getStore()?.requestId) n++;
      return original.apply(this, args);
    };
    try {
      await run();
    } finally {
      proto.query = original;
    }
    return n;
  }

  it("20 projects with their KPIs' figures and ROI cost a bounded number of statements", async () => {
    // The reporting refresher computes figures in the background through the same engine; how many of
    // these KPIs it has cached by the time of the request depends on the machine's load, and so would the
    // request's batches. Stopped, every KPI below is cold when the request is counted.
    await t.app.reporting.stop();
    const metrics: [string, Agg, Dir][] = [
      ["np.mean", "MEAN", "LOWER_IS_BETTER"],
      ["np.median", "MEDIAN", "LOWER_IS_BETTER"],
      ["np.sum", "SUM", "HIGHER_IS_BETTER"],
    ];
    for (const [key, agg, dir] of metrics) await defineMetric(t, key, dir, agg);
    const expected = new Map<string, { b: number | null; a: number | null }[]>();
    let kpiCount = 0;
    for (let i = 0; i < 20; i++) {
      const slug = `np-${String(i).padStart(2, "0")}`;
      await createProject(t, slug, GO_LIVE);
      // 1 or 2 KPIs; every fourth one with a cohort (the other SQL shape).
      const mine = metrics.filter((_, j) => j === i % 3 || (i % 2 === 0 && j === (i + 1) % 3));
      const list: { b: number | null; a: number | null }[] = [];
      for (const [key, agg] of mine) {
        const cohort = i % 4 === 0 ? { dimension: "team", treatment: "t", control: "c" } : null;
        await trackKpi(t, { projectSlug: slug, metricKey: key, valuePerUnit: 1, annualVolume: 100, cohort });
        const obs: Obs[] = [
          { at: "2025-02-01T00:00:00Z", value: 10 + i, weight: 1 + (i % 3) },
          { at: "2025-02-02T00:00:00Z", value: 20 + i },
          { at: "2025-03-02T00:00:00Z", value: 5 + i, weight: 2 },
          { at: "2025-03-03T00:00:00Z", value: 7 + i },
        ].map((o) => ({ ...o, dimensions: { team: "t" } }));
        await record(t, slug, key, obs);
        list.push({
          b: phaseRef(agg, between(obs, null, GO_LIVE)).value,
          a: phaseRef(agg, between(obs, GO_LIVE, null)).value,
        });
        kpiCount++;
      }
      expected.set(slug, list);
    }
    expect(kpiCount).toBeGreaterThanOrEqual(25);

    const query = `{ projects { slug kpis { metric { key } baseline { value } current { value } improvementPct pValue confidence { low high } } roi { net } } }`;
    let data: any;
    const statements = await countStatements(async () => {
      data = await ok(t, query);
    });
    // The answer is right, not just cheap.
    const np = data.projects.filter((p: any) => p.slug.startsWith("np-"));
    expect(np).toHaveLength(20);
    for (const p of np) {
      // `mine` above follows the metric keys' order, as `kpis` must.
      const want = expected.get(p.slug)!;
      expect(p.kpis).toHaveLength(want.length);
      p.kpis.forEach((k: any, j: number) => {
        expectNum(k.baseline.value, want[j].b, `${p.slug} ${k.metric.key} baseline`);
        expectNum(k.current.value, want[j].a, `${p.slug} ${k.metric.key} current`);
      });
    }

    // A statement per relation (the snapshot stamp, projects with KPIs and metrics, subjects, costs: 4), and
    // per SQL shape at most two (a batch of up to 8 KPIs sends its two phases side by side): at most four
    // aggregate shapes (8), for `confidence` one count of phase sizes (1) and two sample shapes (4) — at most
    // 17, however many projects there are. Computing each KPI with its own query would need at least
    // kpiCount (≥ 25) statements, each project's ROI its own ≥ 20 more.
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThanOrEqual(17);
    expect(statements).toBeLessThan(kpiCount);

    // Positive control: the counter does see per-request statements — the same figures asked project
    // by project cost at least one statement per project.
    const oneByOne = await countStatements(async () => {
      for (const p of np)
        await ok(t, `query($s: String!) { project(slug: $s) { kpis { baseline { value } } } }`, {
          s: p.slug,
        });
    });
    // (One each: the project with its KPIs and their change stamps is one statement.)
    expect(oneByOne).toBeGreaterThanOrEqual(20);
  });
});
