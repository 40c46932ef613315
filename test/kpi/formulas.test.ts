import { describe, expect, it } from "vitest";
import type { ProjectRow, ProjectStage } from "../../src/db/entities/project.js";
import type { StageChangeRow } from "../../src/db/entities/stage-change.js";
import { annualBenefit, annualisedVolume } from "../../src/kpi/annual-benefit.js";
import { improvementPct, targetMet } from "../../src/kpi/improvement.js";
import { inWindow, resolveWindows } from "../../src/kpi/phases.js";
import {
  convertedFromPilot,
  daysInPilot,
  isStalledPilot,
  median,
  portfolioFigures,
} from "../../src/kpi/portfolio.js";
import { computeRoi } from "../../src/kpi/roi.js";

// Every expected figure below is worked out by hand from the contract's formulas (README "KPI figures",
// "ROI", "Portfolio"); the arithmetic is written out so that a reader can check it.

const LOWER = "LOWER_IS_BETTER" as const;
const HIGHER = "HIGHER_IS_BETTER" as const;
const d = (iso: string) => new Date(iso);
const DAY = 86_400_000;

describe("improvementPct", () => {
  it("gives the article's seed figures", () => {
    // (11 − 1) / 11 · 100 = 90.9090…
    expect(improvementPct(LOWER, 11, 1)).toBeCloseTo(90.909090909, 8);
    // (15 − 2) / 15 · 100 = 86.666…
    expect(improvementPct(LOWER, 15, 2)).toBeCloseTo(86.666666667, 8);
    // (13 − 10) / 10 · 100 = 30
    expect(improvementPct(HIGHER, 10, 13)).toBeCloseTo(30, 10);
  });

  it("is negative when the metric got worse, in both directions", () => {
    expect(improvementPct(LOWER, 10, 12)).toBeCloseTo(-20, 10); // (10 − 12)/10
    expect(improvementPct(HIGHER, 10, 7)).toBeCloseTo(-30, 10); // (7 − 10)/10
  });

  it("divides by |b|: a negative baseline keeps the sign of the improvement", () => {
    // LOWER_IS_BETTER, −10 → −15 is better: (−10 − (−15)) / |−10| = +50 %
    expect(improvementPct(LOWER, -10, -15)).toBeCloseTo(50, 10);
    // HIGHER_IS_BETTER, −10 → −5 is better: (−5 − (−10)) / 10 = +50 %
    expect(improvementPct(HIGHER, -10, -5)).toBeCloseTo(50, 10);
  });

  it("is 0 when nothing changed", () => {
    expect(improvementPct(LOWER, 7, 7)).toBe(0);
  });

  it("is null when b = 0 or either value is null", () => {
    expect(improvementPct(LOWER, 0, 1)).toBeNull();
    expect(improvementPct(HIGHER, 0, 5)).toBeNull();
    expect(improvementPct(LOWER, null, 1)).toBeNull();
    expect(improvementPct(LOWER, 11, null)).toBeNull();
    expect(improvementPct(HIGHER, null, null)).toBeNull();
  });
});

describe("targetMet", () => {
  it("is current ≤ target for LOWER_IS_BETTER (equal counts as met)", () => {
    expect(targetMet(LOWER, 1, 1)).toBe(true);
    expect(targetMet(LOWER, 0.5, 1)).toBe(true);
    expect(targetMet(LOWER, 1.01, 1)).toBe(false);
  });

  it("is current ≥ target for HIGHER_IS_BETTER (equal counts as met)", () => {
    expect(targetMet(HIGHER, 13, 13)).toBe(true);
    expect(targetMet(HIGHER, 14, 13)).toBe(true);
    expect(targetMet(HIGHER, 12.99, 13)).toBe(false);
  });

  it("is null when either is null", () => {
    expect(targetMet(LOWER, null, 1)).toBeNull();
    expect(targetMet(HIGHER, 3, null)).toBeNull();
  });
});

describe("annualBenefit", () => {
  const base = {
    direction: LOWER,
    baseline: 11,
    current: 1,
    valuePerUnit: 1,
    annualVolume: null,
    afterCount: 0,
    spanStart: null,
    spanEnd: null,
  };

  it("uses annualVolume when given: (b − a) × valuePerUnit × volume", () => {
    // (11 − 1) × 1.0 × 60,000 = 600,000 (the contract's example)
    expect(annualBenefit({ ...base, annualVolume: 60_000 })).toBeCloseTo(600_000, 6);
    // HIGHER_IS_BETTER: (13 − 10) × 2.5 × 52 = 390
    expect(
      annualBenefit({
        ...base,
        direction: HIGHER,
        baseline: 10,
        current: 13,
        valuePerUnit: 2.5,
        annualVolume: 52,
      }),
    ).toBeCloseTo(390, 9);
  });

  it("is signed: a worse metric is a negative benefit", () => {
    // (10 − 12) × 3 × 100 = −600
    expect(
      annualBenefit({ ...base, baseline: 10, current: 12, valuePerUnit: 3, annualVolume: 100 }),
    ).toBeCloseTo(-600, 9);
  });

  it("annualises the AFTER count over the AFTER span in 365.25-day years", () => {
    // Span 2025-01-01T00:00Z → 2025-07-02T15:00Z = 182 days + 15 h = 182.625 days = exactly half of 365.25.
    const spanStart = d("2025-01-01T00:00:00Z");
    const spanEnd = d("2025-07-02T15:00:00Z");
    expect((spanEnd.getTime() - spanStart.getTime()) / DAY).toBe(182.625);
    const i = { ...base, valuePerUnit: 2, afterCount: 100, spanStart, spanEnd };
    // 100 events in half a year → 200 per year; (11 − 1) × 2 × 200 = 4,000
    expect(annualisedVolume(i)).toBeCloseTo(200, 9);
    expect(annualBenefit(i)).toBeCloseTo(4_000, 6);
    // Not 365-day years: with those the volume would be 100 / (182.625/365) ≈ 199.86.
    expect(Math.abs(annualBenefit(i)! - 10 * 2 * (100 / (182.625 / 365)))).toBeGreaterThan(1);
  });

  it("prefers annualVolume over the observed rate", () => {
    const i = {
      ...base,
      annualVolume: 10,
      afterCount: 100,
      spanStart: d("2025-01-01T00:00:00Z"),
      spanEnd: d("2025-07-02T15:00:00Z"),
    };
    expect(annualBenefit(i)).toBeCloseTo(100, 9); // 10 × 1 × 10
  });

  it("is null without valuePerUnit", () => {
    expect(annualBenefit({ ...base, valuePerUnit: null, annualVolume: 60_000 })).toBeNull();
  });

  it("is null when the volume cannot be annualised (an AFTER span of 0, or no span)", () => {
    const t = d("2025-03-01T00:00:00Z");
    expect(annualBenefit({ ...base, afterCount: 5, spanStart: t, spanEnd: t })).toBeNull();
    expect(annualBenefit({ ...base, afterCount: 5, spanStart: null, spanEnd: null })).toBeNull();
  });

  it("is null when baseline or current is missing", () => {
    expect(annualBenefit({ ...base, baseline: null, annualVolume: 100 })).toBeNull();
    expect(annualBenefit({ ...base, current: null, annualVolume: 100 })).toBeNull();
  });

  it("is 0 (not null) with annualVolume 0", () => {
    expect(annualBenefit({ ...base, annualVolume: 0 })).toBe(0);
  });
});

describe("ROI", () => {
  const contractCosts = [
    { kind: "ONE_TIME" as const, amount: 200_000 },
    { kind: "MONTHLY" as const, amount: 8_333.33 },
  ];

  it("reproduces the contract's example exactly (H = 12)", () => {
    const r = computeRoi(12, [600_000], contractCosts);
    expect(r.horizonMonths).toBe(12);
    expect(r.benefit).toBeCloseTo(600_000, 6); // 600,000 × 12/12
    // 200,000 + 8,333.33 × 12 = 299,999.96: the contract's "300,000" is that figure rounded (8,333.33 is
    // 100,000/12 rounded to cents, so the exact cost is 0.04 short of 300,000, not within 0.01 of it).
    expect(r.cost).toBeCloseTo(299_999.96, 6);
    expect(Math.abs(r.cost - 300_000)).toBeLessThanOrEqual(0.04 + 1e-9);
    expect(r.net).toBeCloseTo(300_000.04, 6);
    expect(Math.abs(r.net - 300_000)).toBeLessThanOrEqual(0.05);
    // 300,000.04 / 299,999.96 × 100 = 100.0000267
    expect(r.roiPct!).toBeCloseTo(100, 4);
    // 200,000 / (600,000/12 − 8,333.33) = 200,000 / 41,666.67 = 4.79999996
    expect(Math.abs(r.paybackMonths! - 4.8)).toBeLessThan(1e-3);
  });

  it("scales benefit and running costs with the horizon (H = 24)", () => {
    const r = computeRoi(24, [600_000], contractCosts);
    expect(r.benefit).toBeCloseTo(1_200_000, 6); // 600,000 × 24/12
    expect(r.cost).toBeCloseTo(200_000 + 8_333.33 * 24, 6); // 399,999.92
    expect(r.net).toBeCloseTo(800_000.08, 6);
    expect(r.roiPct!).toBeCloseTo((800_000.08 / 399_999.92) * 100, 8); // ≈ 200
    // Payback does not depend on the horizon.
    expect(Math.abs(r.paybackMonths! - 4.8)).toBeLessThan(1e-3);
  });

  it("H = 1: one month of benefit against the whole one-time cost", () => {
    const r = computeRoi(1, [600_000], contractCosts);
    expect(r.benefit).toBeCloseTo(50_000, 6);
    expect(r.cost).toBeCloseTo(208_333.33, 6);
    expect(r.net).toBeCloseTo(-158_333.33, 6);
    expect(r.roiPct!).toBeCloseTo((-158_333.33 / 208_333.33) * 100, 8); // ≈ −76
    expect(Math.abs(r.paybackMonths! - 4.8)).toBeLessThan(1e-3);
  });

  it("sums the benefits of several KPIs, counting null ones as 0", () => {
    const r = computeRoi(6, [120_000, null, 24_000], [{ kind: "ONE_TIME", amount: 36_000 }]);
    expect(r.benefit).toBeCloseTo(72_000, 6); // (120,000 + 24,000) × 6/12
    expect(r.cost).toBe(36_000);
    expect(r.net).toBeCloseTo(36_000, 6);
    expect(r.roiPct!).toBeCloseTo(100, 8);
    expect(r.paybackMonths!).toBeCloseTo(3, 9); // 36,000 / (144,000/12)
  });

  it("roiPct is null when the cost is 0", () => {
    const r = computeRoi(12, [600_000], []);
    expect(r.cost).toBe(0);
    expect(r.net).toBeCloseTo(600_000, 6);
    expect(r.roiPct).toBeNull();
  });

  it("paybackMonths is 0 without a one-time cost", () => {
    const r = computeRoi(12, [600_000], [{ kind: "MONTHLY", amount: 1_000 }]);
    expect(r.paybackMonths).toBe(0);
    expect(computeRoi(12, [600_000], []).paybackMonths).toBe(0);
  });

  it("paybackMonths is null when monthly costs reach or exceed the monthly benefit", () => {
    // Monthly benefit 50,000 against 60,000 a month: never pays back.
    const worse = computeRoi(
      12,
      [600_000],
      [
        { kind: "ONE_TIME", amount: 1_000 },
        { kind: "MONTHLY", amount: 60_000 },
      ],
    );
    expect(worse.paybackMonths).toBeNull();
    // Denominator exactly 0.
    const even = computeRoi(
      12,
      [600_000],
      [
        { kind: "ONE_TIME", amount: 1_000 },
        { kind: "MONTHLY", amount: 50_000 },
      ],
    );
    expect(even.paybackMonths).toBeNull();
    // No benefit at all.
    expect(computeRoi(12, [null], [{ kind: "ONE_TIME", amount: 1 }]).paybackMonths).toBeNull();
  });
});

describe("phase windows", () => {
  const none = { baselineFrom: null, baselineTo: null, afterFrom: null, afterTo: null };
  const goLive = d("2025-03-01T00:00:00Z");

  it("goLiveAt only: BEFORE = (−∞, goLive), AFTER = [goLive, ∞)", () => {
    const w = resolveWindows(none, goLive);
    expect(w).toEqual({ before: { from: null, to: goLive }, after: { from: goLive, to: null } });
    expect(inWindow(w.before, d("2025-02-28T23:59:59.999Z"))).toBe(true);
    expect(inWindow(w.before, goLive)).toBe(false);
    expect(inWindow(w.after, goLive)).toBe(true);
    expect(inWindow(w.after, d("1999-01-01T00:00:00Z"))).toBe(false);
  });

  it("explicit bounds win over goLiveAt and are half-open [from, to)", () => {
    const k = {
      baselineFrom: d("2025-01-01T00:00:00Z"),
      baselineTo: d("2025-02-01T00:00:00Z"),
      afterFrom: d("2025-04-01T00:00:00Z"),
      afterTo: d("2025-05-01T00:00:00Z"),
    };
    const w = resolveWindows(k, goLive);
    expect(w).toEqual({
      before: { from: k.baselineFrom, to: k.baselineTo },
      after: { from: k.afterFrom, to: k.afterTo },
    });
    expect(inWindow(w.before, k.baselineFrom)).toBe(true);
    expect(inWindow(w.before, k.baselineTo)).toBe(false);
    expect(inWindow(w.after, k.afterFrom)).toBe(true);
    expect(inWindow(w.after, k.afterTo)).toBe(false);
    // goLiveAt itself lies in neither window here.
    expect(inWindow(w.before, goLive) || inWindow(w.after, goLive)).toBe(false);
  });

  it("a partly explicit KPI keeps goLiveAt for the bounds it does not set", () => {
    const w = resolveWindows(
      { ...none, baselineFrom: d("2025-01-15T00:00:00Z"), afterTo: d("2025-06-01T00:00:00Z") },
      goLive,
    );
    expect(w).toEqual({
      before: { from: d("2025-01-15T00:00:00Z"), to: goLive },
      after: { from: goLive, to: d("2025-06-01T00:00:00Z") },
    });
  });

  it("neither goLiveAt nor bounds: the baseline is empty and everything is AFTER", () => {
    const w = resolveWindows(none, null);
    expect(w.before).toBeNull();
    expect(w.after).toEqual({ from: null, to: null });
    expect(inWindow(w.before, d("2025-01-01T00:00:00Z"))).toBe(false);
    expect(inWindow(w.after, d("1970-01-01T00:00:00Z"))).toBe(true);
    expect(inWindow(w.after, d("2099-01-01T00:00:00Z"))).toBe(true);
  });

  it("baselineTo without go-live: BEFORE ends and AFTER starts at baselineTo (no observation in both)", () => {
    const cut = d("2025-02-10T00:00:00Z");
    const w = resolveWindows({ ...none, baselineTo: cut }, null);
    expect(w).toEqual({ before: { from: null, to: cut }, after: { from: cut, to: null } });
    expect(inWindow(w.before, cut)).toBe(false);
    expect(inWindow(w.after, cut)).toBe(true);
  });
});

describe("portfolio helpers", () => {
  const at = (days: number) => new Date(Date.UTC(2025, 0, 1) + days * DAY);
  const history = (...steps: [ProjectStage, number][]): StageChangeRow[] =>
    steps.map(([stage, days], i) => ({ id: String(i + 1), projectId: "1", stage, at: at(days) }));
  const project = (id: string, stage: ProjectStage, createdDays = 0): ProjectRow => ({
    id,
    slug: `p${id}`,
    name: `P ${id}`,
    description: null,
    owner: null,
    stage,
    goLiveAt: null,
    createdAt: at(createdDays),
    updatedAt: at(createdDays),
  });

  it("median of odd and even counts (even: mean of the two middle values), null when empty", () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([40, 10, 30, 20])).toBe(25); // (20 + 30) / 2
    expect(median([7])).toBe(7);
    expect(median([2, 1])).toBe(1.5);
    expect(median([])).toBeNull();
    // Sorted numerically, not as strings.
    expect(median([100, 9, 20])).toBe(20);
  });

  it("days in pilot add up every PILOT stint, an open one up to now", () => {
    // IDEA d0 → PILOT d10 → PRODUCTION d40 → PILOT d50 (still open), now = d55: 30 + 5 = 35 days
    const h = history(["IDEA", 0], ["PILOT", 10], ["PRODUCTION", 40], ["PILOT", 50]);
    expect(daysInPilot(h, at(55))).toBeCloseTo(35, 9);
    // Fractional days: still in PILOT since d10, now = d12 + 12 h.
    expect(daysInPilot(history(["PILOT", 10]), new Date(at(12).getTime() + DAY / 2))).toBeCloseTo(2.5, 9);
    // Never in PILOT.
    expect(daysInPilot(history(["IDEA", 0], ["PRODUCTION", 3]), at(10))).toBeNull();
  });

  it("conversion: entered PILOT and later reached PRODUCTION", () => {
    expect(convertedFromPilot(history(["IDEA", 0], ["PILOT", 1], ["PRODUCTION", 5]))).toBe(true);
    expect(convertedFromPilot(history(["PILOT", 0], ["PRODUCTION", 5], ["RETIRED", 9]))).toBe(true);
    expect(convertedFromPilot(history(["PILOT", 0], ["RETIRED", 5]))).toBe(false);
    expect(convertedFromPilot(history(["PILOT", 0]))).toBe(false);
    // PRODUCTION before PILOT is no conversion from the pilot.
    expect(convertedFromPilot(history(["PRODUCTION", 0], ["PILOT", 5]))).toBe(false);
    expect(convertedFromPilot(history(["IDEA", 0], ["PRODUCTION", 5]))).toBeNull();
  });

  it("stalled: now in PILOT for more than N days (its current stint)", () => {
    const now = at(200);
    expect(isStalledPilot(project("1", "PILOT"), history(["PILOT", 0]), 180, now)).toBe(true); // 200 > 180
    expect(isStalledPilot(project("1", "PILOT"), history(["PILOT", 20]), 180, now)).toBe(false); // exactly 180
    expect(isStalledPilot(project("1", "PILOT"), history(["PILOT", 21]), 180, now)).toBe(false); // 179
    expect(
      isStalledPilot(project("1", "PRODUCTION"), history(["PILOT", 0], ["PRODUCTION", 1]), 30, now),
    ).toBe(false);
    // Back in PILOT since d150: 50 days, not stalled at 60 but stalled at 49.
    const back = history(["PILOT", 0], ["PRODUCTION", 10], ["PILOT", 150]);
    expect(isStalledPilot(project("1", "PILOT"), back, 60, now)).toBe(false);
    expect(isStalledPilot(project("1", "PILOT"), back, 49, now)).toBe(true);
  });

  it("portfolioFigures on a hand-made portfolio", () => {
    const now = at(100);
    const projects = [
      project("1", "PRODUCTION"),
      project("2", "PILOT"),
      project("3", "RETIRED"),
      project("4", "IDEA"),
      project("5", "PRODUCTION"),
    ];
    const histories = new Map<string, StageChangeRow[]>([
      ["1", history(["PILOT", 0], ["PRODUCTION", 30])], // 30 days in pilot, converted
      ["2", history(["IDEA", 0], ["PILOT", 60])], // 40 days (open), not converted
      ["3", history(["PILOT", 10], ["RETIRED", 20])], // 10 days, not converted
      ["4", history(["IDEA", 0])], // never in pilot
      ["5", history(["PRODUCTION", 5])], // never in pilot
    ]);
    const f = portfolioFigures(projects, histories, now);
    expect(f.projectCount).toBe(5);
    expect(f.byStage).toEqual([
      { stage: "IDEA", count: 1 },
      { stage: "PILOT", count: 1 },
      { stage: "PRODUCTION", count: 2 },
      { stage: "RETIRED", count: 1 },
    ]);
    expect(f.medianDaysInPilot).toBeCloseTo(30, 9); // median of 10, 30, 40
    expect(f.pilotConversionPct).toBeCloseTo((1 / 3) * 100, 9);

    // Even count: add a fourth pilot project with 20 days → median of 10, 20, 30, 40 = 25.
    projects.push(project("6", "PILOT"));
    histories.set("6", history(["PILOT", 80]));
    const g = portfolioFigures(projects, histories, now);
    expect(g.medianDaysInPilot).toBeCloseTo(25, 9);
    expect(g.pilotConversionPct).toBeCloseTo(25, 9);
  });

  it("an empty portfolio lists every stage with zero", () => {
    const f = portfolioFigures([], new Map(), at(0));
    expect(f.byStage.map((s) => s.count)).toEqual([0, 0, 0, 0]);
    expect(f.medianDaysInPilot).toBeNull();
    expect(f.pilotConversionPct).toBeNull();
  });
});
