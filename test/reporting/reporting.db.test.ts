import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { expectNum, ok, record } from "../kpi/reference.js";
import { queueEmpty, seedPortfolio, waitForReporting } from "./seed.js";

// Every column of the reporting tables against the API's own answer for the same KPI or project.

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: "currency: EUR\nmetrics: []\n" });
  await seedPortfolio(t);
  await waitForReporting(t.app, () => queueEmpty(t.app));
}, 60_000);
afterAll(async () => t?.stop());

const PROJECT_FIELDS = `slug name owner stage goLiveAt
  roi { benefit cost net roiPct paybackMonths currency }
  kpis { metric { key name unit direction aggregation } target targetMet improvementPct pValue annualBenefit updatedAt
    baseline { value count } current { value count } confidence { low high }
    control { controlChangePct adjustedImprovementPct }
    week: series(bucket: WEEK) { start phase value count } }`;

async function apiProjects(): Promise<any[]> {
  return (await ok(t, `{ projects { ${PROJECT_FIELDS} } }`)).projects;
}

const num = (v: unknown) => (v === null ? null : Number(v));

describe("reporting.kpis", () => {
  it("has one row per KPI, every column equal to the API's figure", async () => {
    const rows: any[] = await t.app.db.ds.query(
      `SELECT * FROM reporting.kpis ORDER BY project_slug, metric_key`,
    );
    const projects = await apiProjects();
    const api = projects.flatMap((p) => p.kpis.map((k: any) => ({ p, k })));
    expect(rows.map((r) => `${r.project_slug}/${r.metric_key}`)).toEqual(
      api.map(({ p, k }) => `${p.slug}/${k.metric.key}`).sort(),
    );
    for (const r of rows) {
      const { p, k } = api.find((x) => x.p.slug === r.project_slug && x.k.metric.key === r.metric_key)!;
      const label = `${r.project_slug}/${r.metric_key}`;
      expect(r.project_name, label).toBe(p.name);
      expect(r.stage, label).toBe(p.stage);
      expect(r.metric_name).toBe(k.metric.name);
      expect(r.unit).toBe(k.metric.unit);
      expect(r.direction).toBe(k.metric.direction);
      expect(r.aggregation).toBe(k.metric.aggregation);
      expect(r.baseline_value, `${label} baseline`).toBe(k.baseline.value);
      expect(r.baseline_count).toBe(k.baseline.count);
      expect(r.current_value, `${label} current`).toBe(k.current.value);
      expect(r.current_count).toBe(k.current.count);
      expect(r.improvement_pct, `${label} improvement`).toBe(k.improvementPct);
      expect(r.target).toBe(k.target);
      expect(r.target_met).toBe(k.targetMet);
      expect(r.ci_low, `${label} ci`).toBe(k.confidence?.low ?? null);
      expect(r.ci_high).toBe(k.confidence?.high ?? null);
      expect(r.p_value, `${label} p`).toBe(k.pValue);
      expect(r.control_change_pct).toBe(k.control?.controlChangePct ?? null);
      expect(r.adjusted_improvement_pct).toBe(k.control?.adjustedImprovementPct ?? null);
      expect(num(r.annual_benefit), `${label} benefit`).toBe(k.annualBenefit);
      expect(r.updated_at?.toISOString() ?? null).toBe(k.updatedAt);
      expect(r.computed_at).toBeInstanceOf(Date);
    }
    // The seed covers what the reporting must carry: a MEDIAN bootstrap interval, a cohort, an override.
    const by = (key: string) => rows.find((r) => r.metric_key === key);
    expect(by("med").ci_low).not.toBeNull();
    expect(by("med").p_value).toBeNull();
    expect(by("rt").p_value).not.toBeNull();
    expect(by("deals").control_change_pct).not.toBeNull();
    expect(by("ovr").baseline_value).toBe(11);
    expect(by("ovr").baseline_count).toBe(0);
  });

  it("annual_benefit is in cents: (11.6875 − 1.0) × 1.5 × 10,001 = 160,328.53125 → 160,328.53", async () => {
    // BEFORE mean (12 + 10.5 + 11.25 + 13)/4 = 11.6875; AFTER (1.5 + 1 + 0.75·2)/4 = 1.0
    const [r] = await t.app.db.ds.query(
      `SELECT annual_benefit::text AS b FROM reporting.kpis WHERE metric_key = 'rt'`,
    );
    expect(r.b).toBe("160328.53"); // 10.6875 × 1.5 = 16.03125; × 10,001 = 160,328.53125
  });
});

describe("reporting.projects", () => {
  it("equals the API's 12-month ROI, money exact to the cent (299,999.96)", async () => {
    const rows: any[] = await t.app.db.ds.query(
      `SELECT *, cost_12m::text AS cost_text, net_12m::text AS net_text FROM reporting.projects ORDER BY slug`,
    );
    const projects = await apiProjects();
    expect(rows.map((r) => r.slug)).toEqual(projects.map((p) => p.slug));
    for (const r of rows) {
      const p = projects.find((x) => x.slug === r.slug);
      expect(r.name).toBe(p.name);
      expect(r.owner).toBe(p.owner);
      expect(r.stage).toBe(p.stage);
      expect(r.go_live_at?.toISOString() ?? null).toBe(p.goLiveAt);
      expect(num(r.benefit_12m)).toBe(p.roi.benefit);
      expect(num(r.cost_12m)).toBe(p.roi.cost);
      expect(num(r.net_12m)).toBe(p.roi.net);
      expect(r.roi_pct_12m).toBe(p.roi.roiPct);
      expect(r.payback_months).toBe(p.roi.paybackMonths);
      expect(r.currency).toBe("EUR");
    }
    const beta = rows.find((r) => r.slug === "beta");
    // 200,000 + 12 × 8,333.33 = 299,999.96; 600,000 − 299,999.96 = 300,000.04
    expect(beta.cost_text).toBe("299999.96");
    expect(beta.net_text).toBe("300000.04");
    expect(num(beta.benefit_12m)).toBe(600_000);
    // PILOT since 2024-06-01 (the seed's stageSince), counted up to when the row was computed.
    expectNum(
      beta.days_in_pilot,
      (beta.computed_at.getTime() - Date.parse("2024-06-01T00:00:00Z")) / 86_400_000,
      "days_in_pilot",
    );
    expect(rows.find((r) => r.slug === "alpha").days_in_pilot).toBeNull(); // created in PRODUCTION
    const beta2 = projects.find((p) => p.slug === "beta");
    expect(beta2.roi.cost).toBe(299_999.96);
  });
});

describe("reporting.series", () => {
  it("holds the API's series for every KPI and bucket", async () => {
    const projects = await apiProjects();
    for (const p of projects)
      for (const k of p.kpis) {
        const rows: any[] = await t.app.db.ds.query(
          `SELECT start, phase, value, count FROM reporting.series
           WHERE project_slug = $1 AND metric_key = $2 AND bucket = 'WEEK'
           ORDER BY start, CASE phase WHEN 'BEFORE' THEN 0 ELSE 1 END`,
          [p.slug, k.metric.key],
        );
        expect(rows.map((r) => ({ ...r, start: r.start.toISOString() }))).toEqual(k.week);
        expect(k.week.length).toBeGreaterThan(0);
      }
    const buckets = await t.app.db.ds.query(`SELECT DISTINCT bucket FROM reporting.series ORDER BY 1`);
    expect(buckets.map((b: any) => b.bucket)).toEqual(["DAY", "MONTH", "WEEK"]);
  });
});

describe("reporting.observations and reporting.collector_runs", () => {
  it("gives each observation its phase by the KPI's windows", async () => {
    const rows: any[] = await t.app.db.ds.query(
      `SELECT project_slug, metric_key, observed_at, phase, dimensions FROM reporting.observations
       WHERE metric_key IN ('rt', 'ovr') ORDER BY project_slug, observed_at`,
    );
    const phases = rows.map((r) => `${r.metric_key}@${r.observed_at.toISOString().slice(0, 10)}:${r.phase}`);
    // alpha: go-live 2025-03-01 splits BEFORE/AFTER; beta has no go-live: everything is AFTER.
    expect(phases).toEqual([
      "rt@2025-01-06:BEFORE",
      "rt@2025-01-14:BEFORE",
      "rt@2025-02-03:BEFORE",
      "rt@2025-02-20:BEFORE",
      "rt@2025-03-03:AFTER",
      "rt@2025-03-12:AFTER",
      "rt@2025-04-01:AFTER",
      "ovr@2025-05-01:AFTER",
      "ovr@2025-05-02:AFTER",
    ]);
  });

  it("lists collector runs with the contract's columns, then the skipped count Uplift adds", async () => {
    const cols: any[] = await t.app.db.ds.query(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = 'reporting' AND table_name = 'collector_runs' ORDER BY ordinal_position`,
    );
    expect(cols.map((c) => c.column_name)).toEqual([
      "id",
      "collector",
      "status",
      "scheduled_for",
      "started_at",
      "finished_at",
      "observations",
      "rejected",
      "error",
      "skipped",
    ]);
  });
});

describe("freshness", () => {
  it("a recordObservations is in reporting.kpis within 5 s, and only the touched KPI is recomputed", async () => {
    const before: any[] = await t.app.db.ds.query(
      `SELECT metric_key, computed_at FROM reporting.kpis ORDER BY metric_key`,
    );
    await record(t, "alpha", "rt", [{ at: "2025-04-20T10:00:00Z", value: 0.25, weight: 4 }]);
    // AFTER now (1.5 + 1 + 0.75·2 + 0.25·4)/8 = 5/8 = 0.625
    const waited = await waitForReporting(t.app, async () => {
      const [r] = await t.app.db.ds.query(`SELECT current_value FROM reporting.kpis WHERE metric_key = 'rt'`);
      return r.current_value === 0.625;
    });
    expect(waited).toBeLessThanOrEqual(5000); // waitForReporting fails past its 5 s deadline
    const after: any[] = await t.app.db.ds.query(
      `SELECT metric_key, computed_at FROM reporting.kpis ORDER BY metric_key`,
    );
    const changed = after.filter((r, i) => r.computed_at.getTime() !== before[i].computed_at.getTime());
    expect(changed.map((r) => r.metric_key)).toEqual(["rt"]);
  });

  it("a cost added through the API reaches reporting.projects", async () => {
    await ok(t, `mutation($in: AddCostInput!) { addCost(input: $in) { id } }`, {
      in: {
        projectSlug: "alpha",
        label: "x",
        kind: "ONE_TIME",
        amount: 0.005,
        startsAt: "2025-01-01T00:00:00Z",
      },
    });
    await waitForReporting(t.app, async () => {
      const [r] = await t.app.db.ds.query(
        `SELECT cost_12m::text AS c FROM reporting.projects WHERE slug = 'alpha'`,
      );
      return r.c === "0.01"; // half a cent rounds away from zero
    });
    const [stored] = await t.app.db.ds.query(`SELECT amount::text AS a FROM cost WHERE label = 'x'`);
    expect(stored.a).toBe("0.005"); // stored exactly, answered in cents
    const p = (await ok(t, `{ project(slug: "alpha") { costs { label amount } } }`)).project;
    expect(p.costs.find((c: any) => c.label === "x").amount).toBe(0.01);
  });
});
