import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { queueEmpty, seedPortfolio, waitForReporting } from "./seed.js";

// uplift_reader may read the reporting schema and nothing else. The role is cluster-wide; the password
// is the same in every test file that sets one.
const PASSWORD = "reader-Secret-123";

let t: TestApp;
let reader: pg.Client;
beforeAll(async () => {
  t = await startTestApp({ env: { UPLIFT_READER_PASSWORD: PASSWORD } });
  await seedPortfolio(t);
  await waitForReporting(t.app, () => queueEmpty(t.app));
  const u = new URL(t.db.url);
  u.username = "uplift_reader";
  u.password = PASSWORD;
  reader = new pg.Client(u.toString());
  await reader.connect();
}, 60_000);
afterAll(async () => {
  await reader?.end();
  await t?.stop();
});

async function refused(sql: string): Promise<string> {
  try {
    await reader.query(sql);
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "allowed";
}

describe("uplift_reader", () => {
  it("reads every table and view of the reporting schema", async () => {
    for (const rel of [
      "kpis",
      "projects",
      "series",
      "observations",
      "collector_runs",
      "metrics",
      "kpi_windows",
      "audit_log",
    ]) {
      const r = await reader.query(`SELECT count(*)::int AS n FROM reporting.${rel}`);
      expect(r.rows[0].n, rel).toBeGreaterThanOrEqual(0);
    }
    const k = await reader.query(`SELECT count(*)::int AS n FROM reporting.kpis`);
    expect(k.rows[0].n).toBe(4);
  });

  it("reads the audit log (the seed's definitions, as the API wrote them) and the runs' skipped counts", async () => {
    const api = await t.gql(`{ auditLog(first: 1000) { id actor action projectSlug metricKey } }`);
    expect(api.body.errors).toBeUndefined();
    const sql = await reader.query(
      `SELECT id::text AS id, actor, action, project_slug AS "projectSlug", metric_key AS "metricKey"
       FROM reporting.audit_log ORDER BY at DESC, id DESC`,
    );
    expect(sql.rows.length).toBeGreaterThan(0);
    expect(sql.rows).toEqual(api.body.data.auditLog);
    const runs = await reader.query(`SELECT skipped FROM reporting.collector_runs LIMIT 0`);
    expect(runs.fields.map((f) => f.name)).toEqual(["skipped"]);
  });

  it("is refused on the base tables, the queue and the migrations table", async () => {
    for (const rel of ["observation", "project", "kpi", "cost", "reporting_queue", "migrations", "metric"])
      expect(await refused(`SELECT * FROM public.${rel} LIMIT 1`), rel).toBe("42501"); // no USAGE on public
  });

  it("is refused on writes: to reporting, new tables, temporary tables", async () => {
    // 25006: read-only transaction (the role's default); also refused with it switched off.
    expect(await refused(`DELETE FROM reporting.kpis`)).toMatch(/^(25006|42501)$/);
    await reader.query(`SET default_transaction_read_only = off`);
    expect(await refused(`DELETE FROM reporting.kpis`)).toBe("42501");
    expect(await refused(`UPDATE reporting.projects SET name = 'x'`)).toBe("42501");
    expect(
      await refused(`INSERT INTO reporting.metrics (key, name, unit, direction, aggregation, metric_id)
      VALUES ('x', 'x', 'x', 'x', 'x', 0)`),
    ).toBe("42501");
    expect(await refused(`CREATE TABLE reporting.mine (x int)`)).toBe("42501");
    expect(await refused(`CREATE TABLE public.mine (x int)`)).toBe("42501");
    expect(await refused(`CREATE TEMP TABLE mine (x int)`)).toBe("42501");
    expect(await refused(`SELECT reporting_enqueue()`)).toMatch(/^(42501|0A000|42883)$/);
  });

  it("a wrong password is refused, and the app's own role keeps its rights", async () => {
    const u = new URL(t.db.url);
    u.username = "uplift_reader";
    u.password = "wrong";
    const bad = new pg.Client(u.toString());
    await expect(bad.connect()).rejects.toThrow(/password authentication failed/);
    // The app's own connection still reads everything.
    const [n] = await t.app.db.ds.query(`SELECT count(*)::int AS n FROM observation`);
    expect(n.n).toBeGreaterThan(0);
  });
});
