import fs from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { queueEmpty, seedPortfolio, waitForReporting } from "./seed.js";

// Every panel of docs/grafana/uplift-dashboard.json runs as uplift_reader against a seeded database.
const PASSWORD = "reader-Secret-123"; // the same in every test file: the role is cluster-wide
const dashboard = JSON.parse(
  fs.readFileSync(new URL("../../docs/grafana/uplift-dashboard.json", import.meta.url), "utf8"),
);

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

/** Grafana's substitutions: the multi-value variable as a quoted list, $__timeFilter as a range. */
function expand(sql: string, projects: string[]): string {
  return sql
    .replaceAll("$project", projects.map((p) => `'${p}'`).join(","))
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      "$1 BETWEEN '2024-01-01T00:00:00Z'::timestamptz AND '2026-01-01T00:00:00Z'::timestamptz",
    );
}

describe("Grafana dashboard", () => {
  it("uses the PostgreSQL data source and the reporting schema only", () => {
    const sqls: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((x: any) => x.rawSql));
    expect(sqls.length).toBe(6);
    for (const sql of sqls) expect(sql).toMatch(/FROM reporting\.(kpis|projects|series)\b/);
    for (const p of dashboard.panels) expect(p.datasource.type).toBe("grafana-postgresql-datasource");
  });

  it("the project variable's query runs as uplift_reader", async () => {
    const v = dashboard.templating.list[0];
    const r = await reader.query(v.query);
    expect(r.rows.map((x: { slug: string }) => x.slug)).toEqual(["alpha", "beta"]);
  });

  for (const p of dashboard.panels)
    it(`panel "${p.title}" runs as uplift_reader and shows rows`, async () => {
      for (const target of p.targets) {
        const r = await reader.query(expand(target.rawSql, ["alpha", "beta"]));
        expect(r.rows.length, p.title).toBeGreaterThan(0);
      }
    });

  it("the ROI panel shows the beta pilot's cost exact to the cent", async () => {
    const roi = dashboard.panels.find((p: any) => p.title.startsWith("ROI"));
    const r = await reader.query(expand(roi.targets[0].rawSql, ["beta"]));
    expect(r.rows[0].cost).toBe("299999.96"); // numeric: exact text
  });
});
