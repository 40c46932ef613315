import type { App } from "../../src/app.js";
import type { TestApp } from "../helpers/app.js";
import { createProject, defineMetric, ok, record, trackKpi } from "../kpi/reference.js";

// A small portfolio covering what the reporting schema must reproduce: MEAN and MEDIAN KPIs, a cohort
// KPI (control group), a baseline override, and costs whose 12-month total is 299,999.96.

export const GO_LIVE = "2025-03-01T00:00:00.000Z";

export async function seedPortfolio(t: TestApp): Promise<void> {
  await defineMetric(t, "rt", "LOWER_IS_BETTER", "MEAN");
  await defineMetric(t, "med", "LOWER_IS_BETTER", "MEDIAN");
  await defineMetric(t, "deals", "HIGHER_IS_BETTER", "MEAN");
  await defineMetric(t, "ovr", "LOWER_IS_BETTER", "MEAN");

  await createProject(t, "alpha", GO_LIVE);
  await trackKpi(t, {
    projectSlug: "alpha",
    metricKey: "rt",
    target: 2,
    valuePerUnit: 1.5,
    annualVolume: 10_001,
  });
  await trackKpi(t, { projectSlug: "alpha", metricKey: "med", target: 5, valuePerUnit: 0.3 });
  await trackKpi(t, {
    projectSlug: "alpha",
    metricKey: "deals",
    valuePerUnit: 10,
    annualVolume: 52,
    cohort: { dimension: "team", treatment: "a", control: "b" },
  });
  await record(t, "alpha", "rt", [
    { at: "2025-01-06T10:00:00Z", value: 12 },
    { at: "2025-01-14T10:00:00Z", value: 10.5 },
    { at: "2025-02-03T10:00:00Z", value: 11.25 },
    { at: "2025-02-20T10:00:00Z", value: 13 },
    { at: "2025-03-03T10:00:00Z", value: 1.5 },
    { at: "2025-03-12T10:00:00Z", value: 1 },
    { at: "2025-04-01T10:00:00Z", value: 0.75, weight: 2 },
  ]);
  await record(t, "alpha", "med", [
    { at: "2025-01-07T00:00:00Z", value: 9 },
    { at: "2025-01-21T00:00:00Z", value: 7 },
    { at: "2025-02-11T00:00:00Z", value: 8 },
    { at: "2025-03-04T00:00:00Z", value: 4 },
    { at: "2025-03-18T00:00:00Z", value: 6 },
    { at: "2025-04-08T00:00:00Z", value: 3 },
  ]);
  const team = (team: string) => ({ team });
  await record(t, "alpha", "deals", [
    { at: "2025-01-10T00:00:00Z", value: 10, dimensions: team("a") },
    { at: "2025-02-10T00:00:00Z", value: 11, dimensions: team("a") },
    { at: "2025-01-12T00:00:00Z", value: 10, dimensions: team("b") },
    { at: "2025-02-12T00:00:00Z", value: 10, dimensions: team("b") },
    { at: "2025-03-10T00:00:00Z", value: 14, dimensions: team("a") },
    { at: "2025-04-10T00:00:00Z", value: 13, dimensions: team("a") },
    { at: "2025-03-12T00:00:00Z", value: 11, dimensions: team("b") },
    { at: "2025-04-12T00:00:00Z", value: 10.5, dimensions: team("b") },
  ]);

  // The contract's ROI example: 11 → 1 minutes, 60,000 a year at 1.0 → 600,000; 200,000 + 8,333.33/month.
  await createProject(t, "beta", null, "PILOT");
  await trackKpi(t, {
    projectSlug: "beta",
    metricKey: "ovr",
    baselineValue: 11,
    valuePerUnit: 1,
    annualVolume: 60_000,
  });
  await record(t, "beta", "ovr", [
    { at: "2025-05-01T00:00:00Z", value: 1.5 },
    { at: "2025-05-02T00:00:00Z", value: 0.5 },
  ]);
  for (const [label, kind, amount] of [
    ["build", "ONE_TIME", 200_000],
    ["licences", "MONTHLY", 8_333.33],
  ] as const) {
    await ok(t, `mutation($in: AddCostInput!) { addCost(input: $in) { id } }`, {
      in: { projectSlug: "beta", label, kind, amount, startsAt: "2025-01-01T00:00:00Z" },
    });
  }
}

/**
 * Waits, driven by the refresher's "refreshed" events (no fixed sleep), until `check` holds; fails after
 * the deadline. `check` runs once at once, then after every refresh.
 */
export async function waitForReporting(
  app: App | App[],
  check: () => Promise<boolean>,
  deadlineMs = 5000,
): Promise<number> {
  const started = Date.now();
  if (await check()) return 0;
  return new Promise((resolve, reject) => {
    let busy = false;
    const onRefresh = async () => {
      if (busy) return;
      busy = true;
      try {
        if (await check()) {
          finish();
          resolve(Date.now() - started);
        }
      } catch (e) {
        finish();
        reject(e);
      } finally {
        busy = false;
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`reporting rows not current after ${deadlineMs} ms`));
    }, deadlineMs);
    // Any replica may do the refresh: listen to each app's refresher.
    const apps = Array.isArray(app) ? app : [app];
    const finish = () => {
      clearTimeout(timer);
      for (const a of apps) a.reporting.off("refreshed", onRefresh);
    };
    for (const a of apps) a.reporting.on("refreshed", onRefresh);
  });
}

/** True once the queue is drained and the rows reflect every committed write. */
export async function queueEmpty(app: App): Promise<boolean> {
  const [{ n }] = await app.db.ds.query(`SELECT count(*)::int AS n FROM reporting_queue`);
  return n === 0;
}
