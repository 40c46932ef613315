import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../collectors/index.js";
import { type App, startApp } from "../../src/app.js";
import { readEnv } from "../../src/config/env.js";
import { createLogger } from "../../src/log.js";
import type { RefreshedEvent } from "../../src/reporting/refresher.js";
import { startTestApp, type TestApp, writeConfig } from "../helpers/app.js";
import { ok, record } from "../kpi/reference.js";
import { queueEmpty, seedPortfolio, waitForReporting } from "./seed.js";

// Two replicas on one database: each committed change is refreshed once, by one of them.

let a: TestApp;
let b: App;
const events: { by: string; e: RefreshedEvent }[] = [];
beforeAll(async () => {
  a = await startTestApp();
  await seedPortfolio(a);
  b = await startApp(
    readEnv({
      DATABASE_URL: a.db.url,
      PORT: "0",
      UPLIFT_CONFIG: writeConfig("metrics: []\n"),
      UPLIFT_SCHEDULER: "off",
    }),
    createLogger({ test: true }),
    { registry },
  );
  await waitForReporting([a.app, b], () => queueEmpty(a.app));
  a.app.reporting.on("refreshed", (e) => events.push({ by: "a", e }));
  b.reporting.on("refreshed", (e) => events.push({ by: "b", e }));
}, 60_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

async function kpiId(slug: string, key: string): Promise<string> {
  const [r] = await a.app.db.ds.query(
    `SELECT kpi_id::text AS id FROM reporting.kpis WHERE project_slug = $1 AND metric_key = $2`,
    [slug, key],
  );
  return r.id;
}

describe("reporting across replicas", () => {
  it("an observation recorded through either replica is refreshed exactly once", async () => {
    const id = await kpiId("alpha", "med");
    events.length = 0;
    await record(a, "alpha", "med", [{ at: "2025-04-20T00:00:00Z", value: 1 }]);
    // MEDIAN of AFTER {4, 6, 3, 1} (weights 1): sorted 1, 3, 4, 6 → cumulative 2 of 4 reaches 50 % at 3
    await waitForReporting([a.app, b], async () => {
      const [r] = await a.app.db.ds.query(`SELECT current_value FROM reporting.kpis WHERE kpi_id = $1`, [id]);
      return r.current_value === 3;
    });
    await waitForReporting([a.app, b], () => queueEmpty(a.app));
    const refreshedIt = events.filter((x) => x.e.kpis.includes(id));
    expect(refreshedIt.length).toBe(1);
  });

  it("a KPI's new settings (trackKpi) reach reporting.kpis", async () => {
    await ok(a, `mutation($in: TrackKpiInput!) { trackKpi(input: $in) { projectSlug } }`, {
      in: { projectSlug: "alpha", metricKey: "med", target: 3.5, valuePerUnit: 0.3 },
    });
    await waitForReporting([a.app, b], async () => {
      const [r] = await a.app.db.ds.query(
        `SELECT target, target_met FROM reporting.kpis WHERE project_slug = 'alpha' AND metric_key = 'med'`,
      );
      return r.target === 3.5 && r.target_met === true;
    });
  });

  it("a project's rename reaches reporting.projects and its KPIs' rows", async () => {
    await ok(a, `mutation { updateProject(slug: "beta", input: { name: "Beta pilot" }) { slug } }`);
    await waitForReporting([a.app, b], async () => {
      const rows: any[] = await a.app.db.ds.query(
        `SELECT (SELECT name FROM reporting.projects WHERE slug = 'beta') AS p,
                (SELECT project_name FROM reporting.kpis WHERE project_slug = 'beta') AS k`,
      );
      return rows[0].p === "Beta pilot" && rows[0].k === "Beta pilot";
    });
  });
});
