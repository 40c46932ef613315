import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry as builtIn } from "../../collectors/index.js";
import { type App, startApp } from "../../src/app.js";
import { readEnv } from "../../src/config/env.js";
import { createLogger } from "../../src/log.js";
import { stampTouched } from "../../src/store/observations.js";
import { startTestApp, type TestApp, writeConfig } from "../helpers/app.js";
import { statementsSentBy } from "../helpers/statements.js";

// Serving figures from memory: a warm request costs one statement (the change-stamp check) and no
// aggregate, and a change committed by ANOTHER process — a second app on the same database, or a plain pg
// client writing rows and stamping them as the store does — is in the very next request's answer.

const CONFIG = `
metrics:
  - { key: sc.time, name: Time, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEAN }
  - { key: sc.p50, name: Time p50, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEDIAN }
projects:
  - { slug: sc-a, name: A, stage: PRODUCTION, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: sc.time }, { metric: sc.p50 }] }
  - { slug: sc-b, name: B, stage: PRODUCTION, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: sc.time }] }
`;

const KPI = `query($slug: String!, $m: String!) { project(slug: $slug) {
  name kpi(metricKey: $m) { baseline { value count } current { value count } updatedAt } } }`;
const PAGE = `{ projects { slug kpis { metric { key } baseline { value count } current { value count } } } }`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`;

let a: TestApp;
let b: App; // a second app (another replica) on the same database
let client: pg.Client; // a plain connection, as another process would have

beforeAll(async () => {
  // The engine's own cache is what these tests are about: whole-answer reuse (response-cache.db.test.ts) off.
  a = await startTestApp({ config: CONFIG, env: { UPLIFT_RESPONSE_CACHE_BYTES: "0" } });
  b = await startApp(
    readEnv({
      DATABASE_URL: a.db.url,
      PORT: "0",
      HOST: "127.0.0.1",
      UPLIFT_CONFIG: writeConfig(CONFIG),
      UPLIFT_SCHEDULER: "off",
    }),
    createLogger({ test: true }),
    { registry: builtIn },
  );
  client = new pg.Client(a.db.url);
  await client.connect();
  const obs = (slug: string, metricKey: string, at: string, value: number) => ({
    projectSlug: slug,
    metricKey,
    observedAt: at,
    value,
  });
  const r = await a.gql(RECORD, {
    in: [
      obs("sc-a", "sc.time", "2025-02-01T00:00:00Z", 10),
      obs("sc-a", "sc.time", "2025-02-02T00:00:00Z", 12),
      obs("sc-a", "sc.time", "2025-04-01T00:00:00Z", 4),
      obs("sc-a", "sc.p50", "2025-02-01T00:00:00Z", 7),
      obs("sc-a", "sc.p50", "2025-04-01T00:00:00Z", 3),
      obs("sc-b", "sc.time", "2025-02-01T00:00:00Z", 5),
      obs("sc-b", "sc.time", "2025-04-01T00:00:00Z", 1),
    ],
  });
  expect(r.body.errors).toBeUndefined();
});

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await b?.stop();
  await a?.stop();
});

async function kpiOf(slug: string, m: string) {
  const r = await a.gql(KPI, { slug, m });
  expect(r.body.errors).toBeUndefined();
  return r.body.data.project.kpi;
}

const AGGREGATE = /FROM\s+observation\s+o\b/;

describe("serving figures from the engine's cache", () => {
  it("answers a warm KPI request with one statement, the stamp check, and no aggregate", async () => {
    await kpiOf("sc-a", "sc.time"); // computes and caches
    const sent = await statementsSentBy(async () => {
      for (let i = 0; i < 5; i++) {
        const k = await kpiOf("sc-a", "sc.time");
        expect(k.baseline).toEqual({ value: 11, count: 2 });
        expect(k.current).toEqual({ value: 4, count: 1 });
      }
    });
    expect(sent).toHaveLength(5);
    for (const s of sent) {
      expect(s).toMatch(/observation_activity/);
      expect(s).not.toMatch(AGGREGATE);
    }
  });

  it("answers a warm page of projects with their KPIs from the cache (two statements, none an aggregate)", async () => {
    await a.gql(PAGE);
    const sent = await statementsSentBy(async () => {
      const r = await a.gql(PAGE);
      expect(r.body.errors).toBeUndefined();
      const byslug = Object.fromEntries(r.body.data.projects.map((p: any) => [p.slug, p.kpis]));
      expect(byslug["sc-b"]).toEqual([
        { metric: { key: "sc.time" }, baseline: { value: 5, count: 1 }, current: { value: 1, count: 1 } },
      ]);
    });
    // The project list, then every KPI of every listed project with its stamp (one statement).
    expect(sent).toHaveLength(2);
    expect(sent.filter((s) => AGGREGATE.test(s))).toEqual([]);
  });

  it("serves a change committed through another app instance in the very next request", async () => {
    const bUrl = `${b.url}/graphql`;
    let sum = 4;
    let n = 1;
    for (let i = 0; i < 10; i++) {
      await kpiOf("sc-a", "sc.time"); // cached at the current stamp
      const value = i + 1;
      const res = await fetch(bUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: RECORD,
          variables: {
            in: [
              {
                projectSlug: "sc-a",
                metricKey: "sc.time",
                observedAt: `2025-05-${String(i + 1).padStart(2, "0")}T00:00:00Z`,
                value,
              },
            ],
          },
        }),
      });
      expect(((await res.json()) as any).data.recordObservations.inserted).toBe(1);
      sum += value;
      n += 1;
      const k = await kpiOf("sc-a", "sc.time");
      expect(k.current).toEqual({ value: sum / n, count: n });
    }
  });

  it("serves rows written and stamped by a plain pg client in the very next request", async () => {
    const before = await kpiOf("sc-a", "sc.p50");
    expect(before.current).toEqual({ value: 3, count: 1 });
    const { rows } = await client.query(
      `SELECT p.id AS project, m.id AS metric FROM project p, metric m WHERE p.slug = 'sc-a' AND m.key = 'sc.p50'`,
    );
    const { project, metric } = rows[0];
    // AFTER values 3 (stored), 1, 2: the weighted median is 2.
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO observation (project_id, metric_id, observed_at, value, weight)
       VALUES ($1, $2, '2025-04-02T00:00:00Z', 1, 1), ($1, $2, '2025-04-03T00:00:00Z', 2, 1)`,
      [project, metric],
    );
    await stampTouched(client, [{ projectId: String(project), metricId: String(metric) }]);
    await client.query("COMMIT");
    const after = await kpiOf("sc-a", "sc.p50");
    expect(after.current).toEqual({ value: 2, count: 3 });
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThan(new Date(before.updatedAt).getTime());
  });

  it("serves a project renamed by another process in the very next request", async () => {
    await kpiOf("sc-a", "sc.time");
    await client.query(
      `UPDATE project SET name = 'A renamed', updated_at = clock_timestamp() WHERE slug = 'sc-a'`,
    );
    const r = await a.gql(KPI, { slug: "sc-a", m: "sc.time" });
    expect(r.body.data.project.name).toBe("A renamed");
  });
});
