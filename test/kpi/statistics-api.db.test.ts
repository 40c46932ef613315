import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// pValue and confidence as users get them: through GraphQL, from observations in PostgreSQL.

const CONFIG = `
metrics:
  - { key: sleep.extra, name: Extra sleep, unit: hours, direction: HIGHER_IS_BETTER, aggregation: MEAN }
  - { key: wait.median, name: Waiting time, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEDIAN }
  - { key: wait.p90, name: Waiting time P90, unit: minutes, direction: LOWER_IS_BETTER, aggregation: P90 }
  - { key: tickets.sum, name: Tickets, unit: tickets, direction: HIGHER_IS_BETTER, aggregation: SUM }
projects:
  - slug: p
    name: P
    goLiveAt: "2025-03-01T00:00:00Z"
    kpis: [{ metric: sleep.extra }, { metric: wait.median }, { metric: wait.p90 }, { metric: tickets.sum }]
  - slug: q
    name: Q
    goLiveAt: "2025-03-01T00:00:00Z"
    kpis:
      - { metric: sleep.extra, baselineValue: 1 }
      - { metric: wait.median, cohort: { dimension: team, treatment: a, control: b } }
`;

// R's sleep data set; R: t.test(sleep2, sleep1) → t = 1.8608, df = 17.776, p-value = 0.07939,
// 95 percent confidence interval of mean(sleep2) − mean(sleep1): -0.2054832 3.3654832.
const sleep1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const sleep2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;
const KPI = `query($p: String!, $m: String!) { project(slug: $p) { kpi(metricKey: $m) {
  improvementPct pValue confidence { low high level } baseline { value count } current { value count }
  control { controlChangePct adjustedImprovementPct }
} } }`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: CONFIG });
});
afterAll(async () => t?.stop());
beforeEach(async () => {
  await t.app.db.ds.query("TRUNCATE observation, observation_activity");
});

function phase(
  values: number[],
  before: boolean,
  project = "p",
  metric = "sleep.extra",
  dims?: Record<string, string>,
) {
  const start = before ? Date.UTC(2025, 0, 1) : Date.UTC(2025, 3, 1);
  return values.map((value, i) => ({
    projectSlug: project,
    metricKey: metric,
    observedAt: new Date(start + i * 3_600_000).toISOString(),
    value,
    ...(dims ? { dimensions: dims } : {}),
  }));
}

async function record(items: unknown[]) {
  for (let i = 0; i < items.length; i += 5000) {
    const res = await t.gql(RECORD, { in: items.slice(i, i + 5000) });
    expect(res.body.errors).toBeUndefined();
  }
}

async function kpi(p: string, m: string) {
  const res = await t.gql(KPI, { p, m });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.project.kpi;
}

describe("pValue and the Welch interval (MEAN)", () => {
  it("match R's t.test on the sleep data set", async () => {
    await record([...phase(sleep1, true), ...phase(sleep2, false)]);
    const k = await kpi("p", "sleep.extra");
    // b = 0.75, a = 2.33: (2.33 − 0.75)/0.75 = 210.666…%
    expect(k.improvementPct).toBeCloseTo((1.58 / 0.75) * 100, 9);
    expect(k.pValue).toBeCloseTo(0.07939, 5);
    expect(k.confidence.level).toBe(0.95);
    expect(k.confidence.low).toBeCloseTo((-0.2054832 / 0.75) * 100, 4);
    expect(k.confidence.high).toBeCloseTo((3.3654832 / 0.75) * 100, 4);
  });

  it("is null with a baselineValue, with fewer than 2 observations in a phase, and for SUM", async () => {
    await record([...phase(sleep1, true, "q"), ...phase(sleep2, false, "q")]);
    const overridden = await kpi("q", "sleep.extra");
    expect(overridden.improvementPct).toBeCloseTo(133, 9); // (2.33 − 1)/1
    expect(overridden.pValue).toBeNull();
    expect(overridden.confidence).toBeNull();

    await record([...phase([5], true), ...phase([1, 2, 3], false)]);
    const single = await kpi("p", "sleep.extra");
    expect(single.improvementPct).not.toBeNull();
    expect(single.pValue).toBeNull();
    expect(single.confidence).toBeNull();

    await record([
      ...phase([1, 2, 3], true, "p", "tickets.sum"),
      ...phase([4, 5, 6], false, "p", "tickets.sum"),
    ]);
    const sum = await kpi("p", "tickets.sum");
    expect(sum.pValue).toBeNull();
    expect(sum.confidence).toBeNull();
  });

  it("is null, never NaN, when both phases have zero variance; defined when one has", async () => {
    await record([...phase([4, 4, 4], true), ...phase([2, 2, 2], false)]);
    const flat = await kpi("p", "sleep.extra");
    expect(flat.improvementPct).toBeCloseTo(-50, 9); // higher is better: 4 → 2
    expect(flat.pValue).toBeNull();
    expect(flat.confidence).toBeNull();
    await t.app.db.ds.query("TRUNCATE observation, observation_activity");
    await record([...phase([4, 4, 4], true), ...phase([1, 2, 3], false)]);
    const oneFlat = await kpi("p", "sleep.extra");
    // t = (2 − 4)/sqrt(1/3) with df = 2: p = 2·P(T₂ > 2√3) = 1 − 2√3/√(2 + 12) computed by hand below.
    const tAbs = 2 / Math.sqrt(1 / 3);
    const expectedP = 1 - tAbs / Math.sqrt(2 + tAbs * tAbs); // two-sided p of Student t with 2 df
    expect(oneFlat.pValue).toBeCloseTo(expectedP, 10);
  });

  it("a zero baseline gives a null improvement and interval", async () => {
    await record([...phase([-1, 1, 0], true), ...phase([1, 2, 3], false)]);
    const k = await kpi("p", "sleep.extra");
    expect(k.baseline.value).toBe(0);
    expect(k.improvementPct).toBeNull();
    expect(k.confidence).toBeNull();
    expect(typeof k.pValue).toBe("number");
  });
});

describe("the percentile bootstrap (MEDIAN, P90)", () => {
  const lognormal = (n: number, median: number, seed: number) => {
    let s = seed >>> 0;
    const u = () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let x = s;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    return Array.from({ length: n }, () => {
      const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
      return Math.round(median * Math.exp(0.5 * z) * 1000) / 1000;
    });
  };

  it("gives a reproducible 95 % interval around the point improvement, and pValue null", async () => {
    await record([
      ...phase(lognormal(400, 11, 1), true, "p", "wait.median"),
      ...phase(lognormal(400, 2, 2), false, "p", "wait.median"),
    ]);
    const a = await kpi("p", "wait.median");
    const b = await kpi("p", "wait.median");
    expect(a.pValue).toBeNull();
    expect(a.confidence).toEqual(b.confidence);
    expect(a.confidence.level).toBe(0.95);
    expect(a.confidence.low).toBeLessThan(a.improvementPct);
    expect(a.confidence.high).toBeGreaterThan(a.improvementPct);
    // The true medians are 11 and 2: a true improvement of 81.8 % that the interval should cover.
    expect(a.confidence.low).toBeLessThan((9 / 11) * 100);
    expect(a.confidence.high).toBeGreaterThan((9 / 11) * 100);
    expect(a.confidence.high - a.confidence.low).toBeLessThan(10);
  });

  it("P90 gets an interval too, and a cohort KPI's interval describes the treatment cohort", async () => {
    await record([
      ...phase(lognormal(300, 11, 3), true, "p", "wait.p90"),
      ...phase(lognormal(300, 2, 4), false, "p", "wait.p90"),
    ]);
    const p90 = await kpi("p", "wait.p90");
    expect(p90.confidence.low).toBeLessThan(p90.improvementPct);
    expect(p90.confidence.high).toBeGreaterThan(p90.improvementPct);

    await record([
      ...phase([10, 11, 12, 11], true, "q", "wait.median", { team: "a" }),
      ...phase([2, 1, 1, 2], false, "q", "wait.median", { team: "a" }),
      ...phase([10, 11, 12, 11], true, "q", "wait.median", { team: "b" }),
    ]);
    const cohort = await kpi("q", "wait.median");
    // Treatment medians: before 11 (smallest value reaching half the weight: 10, 11 | 11, 12 → 11), after 1.
    expect(cohort.baseline.value).toBe(11);
    expect(cohort.current.value).toBe(1);
    expect(cohort.confidence).not.toBeNull();
    // The control cohort has no AFTER observations: its change and the adjusted figure are null, not NaN.
    expect(cohort.control).toEqual({ controlChangePct: null, adjustedImprovementPct: null });
  });
});
