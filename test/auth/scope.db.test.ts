import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp } from "./helpers.js";

// A key scoped to projects: lists and the portfolio are computed over those projects alone; naming any
// other project is NOT_FOUND for reads and FORBIDDEN for writes, and a refused write stores nothing.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: alpha, name: Alpha, stage: PILOT, stageSince: "2025-01-01T00:00:00Z", kpis: [{ metric: it.resolution_time, valuePerUnit: 1, annualVolume: 100 }], goLiveAt: "2025-02-01T00:00:00Z" }
  - { slug: beta, name: Beta, stage: PRODUCTION, kpis: [{ metric: it.resolution_time, valuePerUnit: 1, annualVolume: 1000 }], goLiveAt: "2025-02-01T00:00:00Z" }
  - { slug: gamma, name: Gamma, stage: IDEA }
collectors:
  - { name: alpha-demo, type: demo, schedule: "0 0 1 1 *", project: alpha, metric: it.resolution_time, options: { seed: a, goLiveAt: 2025-02-01T00:00:00Z, since: 2025-01-25T00:00:00Z, before: 10, after: 5, eventsPerDay: 1, granularity: day } }
  - { name: beta-demo, type: demo, schedule: "0 0 1 1 *", project: beta, metric: it.resolution_time, options: { seed: b, goLiveAt: 2025-02-01T00:00:00Z, since: 2025-01-25T00:00:00Z, before: 10, after: 5, eventsPerDay: 1, granularity: day } }
`;

const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;
const obs = (projectSlug: string, observedAt: string, value: number) => ({
  projectSlug,
  metricKey: "it.resolution_time",
  observedAt,
  value,
});

let t: AuthApp;
let scoped: string; // writer on alpha and gamma
let scopedAdmin: string; // admin on alpha
const observations = async () =>
  Number((await t.app.db.ds.query(`SELECT count(*) AS n FROM observation`))[0].n);

beforeAll(async () => {
  t = await startAuthApp(CONFIG);
  scoped = await t.key("alpha-gamma", "WRITER", ["alpha", "gamma"]);
  scopedAdmin = await t.key("alpha-admin", "ADMIN", ["alpha"]);
  // Baseline 10 and after 4 on alpha (improvement 6 minutes × 1 × 100/year = 600); beta 10 → 8 (2 × 1000 = 2000).
  const all = await t.as(ADMIN_TOKEN, RECORD, {
    in: [
      obs("alpha", "2025-01-10T00:00:00Z", 10),
      obs("alpha", "2025-03-10T00:00:00Z", 4),
      obs("beta", "2025-01-10T00:00:00Z", 10),
      obs("beta", "2025-03-10T00:00:00Z", 8),
    ],
  });
  expect(all.body.errors).toBeUndefined();
});
afterAll(async () => t?.stop());

describe("a key scoped to projects", () => {
  it("lists only its projects, and the portfolio counts only them", async () => {
    const q = `{ projects { slug } portfolio { projectCount byStage { stage count } totalAnnualBenefit
      stalledPilots(olderThanDays: 0) { slug } } }`;
    const res = await t.as(scoped, q);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.projects).toEqual([{ slug: "alpha" }, { slug: "gamma" }]);
    expect(res.body.data.portfolio).toEqual({
      projectCount: 2,
      byStage: [
        { stage: "IDEA", count: 1 },
        { stage: "PILOT", count: 1 },
        { stage: "PRODUCTION", count: 0 },
        { stage: "RETIRED", count: 0 },
      ],
      totalAnnualBenefit: 600,
      stalledPilots: [{ slug: "alpha" }],
    });
    // The unscoped admin token sees all three, and both benefits: 600 + 2000.
    const all = await t.as(ADMIN_TOKEN, q);
    expect(all.body.data.portfolio.projectCount).toBe(3);
    expect(all.body.data.portfolio.totalAnnualBenefit).toBe(2600);
  });

  it("naming another project in a read is NOT_FOUND, whether it exists or not", async () => {
    for (const slug of ["beta", "does-not-exist"]) {
      const res = await t.as(scoped, `query($s: String!) { project(slug: $s) { slug } }`, { s: slug });
      expect(res.body.errors?.[0].extensions.code).toBe("NOT_FOUND");
      expect(res.body.errors?.[0].message).toBe(`no project with slug "${slug}"`);
      expect(res.body.data).toEqual({ project: null });
    }
    const own = await t.as(scoped, `{ project(slug: "alpha") { slug kpis { current { value } } } }`);
    expect(own.body.data.project).toEqual({ slug: "alpha", kpis: [{ current: { value: 4 } }] });
  });

  it("collectors and their runs: only those of its projects; another project's collector is NOT_FOUND", async () => {
    await t.as(ADMIN_TOKEN, `mutation { runCollector(name: "beta-demo") { status } }`);
    await t.as(ADMIN_TOKEN, `mutation { runCollector(name: "alpha-demo") { status } }`);
    const res = await t.as(scoped, `{ collectors { name } collectorRuns { collector } }`);
    expect(res.body.data).toEqual({
      collectors: [{ name: "alpha-demo" }],
      collectorRuns: [{ collector: "alpha-demo" }],
    });
    const other = await t.as(scoped, `{ collectorRuns(collector: "beta-demo") { collector } }`);
    expect(other.body.errors?.[0].extensions.code).toBe("NOT_FOUND");
  });

  it("writing to another project is FORBIDDEN and stores nothing, even mixed into a batch of its own", async () => {
    const before = await observations();
    const res = await t.as(scoped, RECORD, {
      in: [obs("alpha", "2025-03-11T00:00:00Z", 3), obs("beta", "2025-03-11T00:00:00Z", 3)],
    });
    expect(res.body.errors?.[0].extensions.code).toBe("FORBIDDEN");
    expect(res.body.errors?.[0].message).toBe('the key "alpha-gamma" may not change project "beta"');
    expect(await observations()).toBe(before);
    const own = await t.as(scoped, RECORD, { in: [obs("alpha", "2025-03-11T00:00:00Z", 3)] });
    expect(own.body.data).toEqual({ recordObservations: { inserted: 1 } });
    expect(await observations()).toBe(before + 1);
  });

  it("a scoped admin changes its projects only, and nothing that concerns every project", async () => {
    const ok = await t.as(
      scopedAdmin,
      `mutation { updateProject(slug: "alpha", input: { owner: "me" }) { owner } }`,
    );
    expect(ok.body.data).toEqual({ updateProject: { owner: "me" } });
    for (const q of [
      `mutation { updateProject(slug: "beta", input: { owner: "me" }) { owner } }`,
      `mutation { createProject(input: { slug: "delta", name: "D" }) { slug } }`,
      `mutation { defineMetric(input: { key: "x", name: "X", unit: "u", direction: LOWER_IS_BETTER }) { key } }`,
      `mutation { createApiKey(input: { name: "escalate", role: ADMIN }) { secret } }`,
      `mutation { runCollector(name: "beta-demo") { status } }`,
      `{ apiKeys { name } }`,
    ]) {
      const res = await t.as(scopedAdmin, q);
      expect(res.body.errors?.[0].extensions.code, q).toBe("FORBIDDEN");
    }
    const rows = await t.app.db.ds.query(
      `SELECT (SELECT owner FROM project WHERE slug = 'beta') AS owner,
              (SELECT count(*) FROM project WHERE slug = 'delta')::int AS delta,
              (SELECT count(*) FROM metric WHERE key = 'x')::int AS metric,
              (SELECT count(*) FROM api_key WHERE name = 'escalate')::int AS keys`,
    );
    expect(rows[0]).toEqual({ owner: null, delta: 0, metric: 0, keys: 0 });
  });
});
