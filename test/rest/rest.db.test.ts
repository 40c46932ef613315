import { validate } from "@readme/openapi-parser";
import { parse as parseCsv } from "csv-parse/sync";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { restRouter } from "../../src/rest/router.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { ok } from "../kpi/reference.js";
import { queueEmpty, seedPortfolio, waitForReporting } from "../reporting/seed.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: "currency: EUR\nmetrics: []\n" });
  await seedPortfolio(t);
  await waitForReporting(t.app, () => queueEmpty(t.app));
}, 60_000);
afterAll(async () => t?.stop());

async function get(path: string, headers: Record<string, string> = {}, base = t.url) {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

/** A SQL row as JSON would carry it: dates as ISO text, numeric (money) as numbers. */
function sqlAsJson(row: Record<string, unknown>, money: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k] = v instanceof Date ? v.toISOString() : money.includes(k) && v !== null ? Number(v) : v;
  return out;
}

/** Each CSV field is the JSON value written out: empty for null, true/false, numbers as JavaScript prints them. */
function expectCsvEqualsJson(csv: string, json: Record<string, unknown>[], columns: string[]) {
  expect(csv.includes("\r\n")).toBe(true); // RFC 4180 line ends
  const records: string[][] = parseCsv(csv, { relax_column_count: false });
  expect(records[0]).toEqual(columns);
  expect(records.length - 1).toBe(json.length);
  json.forEach((row, i) => {
    columns.forEach((c, j) => {
      const v = row[c];
      expect(records[i + 1][j], `${i}.${c}`).toBe(v === null ? "" : String(v));
    });
  });
}

const CASES = [
  {
    path: "/api/v1/kpis",
    sql: `SELECT * FROM reporting.kpis ORDER BY project_slug, metric_key`,
    money: ["annual_benefit"],
    drop: ["kpi_id", "project_id", "metric_id"],
  },
  {
    path: "/api/v1/projects",
    sql: `SELECT * FROM reporting.projects ORDER BY slug`,
    money: ["benefit_12m", "cost_12m", "net_12m"],
    drop: ["project_id", "computed_at"],
  },
  {
    path: "/api/v1/series?project=alpha&metric=rt&bucket=WEEK",
    sql: `SELECT * FROM reporting.series WHERE project_slug = 'alpha' AND metric_key = 'rt' AND bucket = 'WEEK'
          ORDER BY start, phase DESC`,
    money: [],
    drop: ["kpi_id"],
  },
];

describe("REST /api/v1: JSON = CSV = SQL", () => {
  for (const c of CASES) {
    it(c.path, async () => {
      const json = await get(c.path);
      expect(json.status).toBe(200);
      expect(json.type).toMatch(/application\/json/);
      const rows = JSON.parse(json.text) as Record<string, unknown>[];
      const sql = (await t.app.db.ds.query(c.sql)).map((r: any) => {
        for (const d of c.drop) delete r[d];
        return sqlAsJson(r, c.money);
      });
      expect(rows.length).toBeGreaterThan(0);
      expect(rows).toEqual(sql);
      const columns = Object.keys(rows[0]);
      const csv = await get(`${c.path}${c.path.includes("?") ? "&" : "?"}format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.type).toMatch(/text\/csv/);
      expectCsvEqualsJson(csv.text, rows, columns);
      const byAccept = await get(c.path, { accept: "text/csv" });
      expect(byAccept.text).toBe(csv.text);
    });
  }

  it("money is exact to the cent in every form: 299,999.96", async () => {
    const json = JSON.parse((await get("/api/v1/projects")).text);
    expect(json.find((p: any) => p.slug === "beta").cost_12m).toBe(299_999.96);
    const csv = (await get("/api/v1/projects?format=csv")).text;
    expect(csv).toContain(",299999.96,300000.04,");
  });

  it("filters kpis by project and stage", async () => {
    const alpha = JSON.parse((await get("/api/v1/kpis?project=alpha")).text);
    expect(alpha.map((k: any) => k.metric_key)).toEqual(["deals", "med", "rt"]);
    const pilots = JSON.parse((await get("/api/v1/kpis?stage=PILOT")).text);
    expect(pilots.map((k: any) => `${k.project_slug}/${k.metric_key}`)).toEqual(["beta/ovr"]);
  });

  it("the portfolio equals GraphQL's", async () => {
    const rest = JSON.parse((await get("/api/v1/portfolio")).text);
    const gql = (
      await ok(
        t,
        `{ portfolio { projectCount byStage { stage count } medianDaysInPilot pilotConversionPct totalAnnualBenefit } }`,
      )
    ).portfolio;
    expect(rest.projectCount).toBe(gql.projectCount);
    expect(rest.byStage).toEqual(gql.byStage);
    expect(rest.pilotConversionPct).toBe(gql.pilotConversionPct);
    expect(rest.totalAnnualBenefit).toBe(gql.totalAnnualBenefit);
    expect(rest.currency).toBe("EUR");
    expect(Math.abs(rest.medianDaysInPilot - gql.medianDaysInPilot)).toBeLessThan(0.01); // a second apart
    const csv: Record<string, string>[] = parseCsv((await get("/api/v1/portfolio?format=csv")).text, {
      columns: true,
    });
    expect(csv[0].stage_PILOT).toBe("1");
  });
});

describe("REST errors", () => {
  it("unknown project or metric: 404", async () => {
    for (const path of [
      "/api/v1/kpis?project=nope",
      "/api/v1/series?project=nope&metric=rt&bucket=WEEK",
      "/api/v1/series?project=alpha&metric=ovr&bucket=WEEK",
      "/api/v1/series?project=alpha&metric=nope&bucket=WEEK",
    ]) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(JSON.parse(r.text).errors[0]).toMatchObject({ code: "NOT_FOUND" });
    }
  });

  it("a bad parameter: 400 naming the field", async () => {
    const cases: [string, string][] = [
      ["/api/v1/kpis?stage=LAUNCHED", "stage"],
      ["/api/v1/kpis?project=Not_A_Slug", "project"],
      ["/api/v1/series?project=alpha&metric=rt&bucket=YEAR", "bucket"],
      ["/api/v1/series?project=alpha&metric=rt", "bucket"],
      ["/api/v1/series?project=alpha&metric=rt&bucket=WEEK&from=yesterday", "from"],
      [
        "/api/v1/series?project=alpha&metric=rt&bucket=WEEK&from=2025-03-01T00:00:00Z&to=2025-02-01T00:00:00Z",
        "to",
      ],
      ["/api/v1/projects?format=xml", "format"],
    ];
    for (const [path, field] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      const body = JSON.parse(r.text);
      expect(
        body.errors.map((e: any) => e.field),
        path,
      ).toContain(field);
      expect(typeof body.errors[0].message).toBe("string");
    }
  });

  it("series keeps the buckets whose start lies in [from, to)", async () => {
    const all = JSON.parse((await get("/api/v1/series?project=alpha&metric=rt&bucket=MONTH")).text);
    expect(all.map((r: any) => `${r.start.slice(0, 7)}:${r.phase}`)).toEqual([
      "2025-01:BEFORE",
      "2025-02:BEFORE",
      "2025-03:AFTER",
      "2025-04:AFTER",
    ]);
    const some = JSON.parse(
      (
        await get(
          "/api/v1/series?project=alpha&metric=rt&bucket=MONTH&from=2025-02-01T00:00:00Z&to=2025-04-01T00:00:00Z",
        )
      ).text,
    );
    expect(some.map((r: any) => r.start.slice(0, 7))).toEqual(["2025-02", "2025-03"]);
  });
});

describe("OpenAPI", () => {
  it("is a valid OpenAPI 3.1 document generated from the routes' schemas", async () => {
    const r = await get("/api/v1/openapi.json");
    expect(r.status).toBe(200);
    const doc = JSON.parse(r.text);
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc));
    expect(result.valid, JSON.stringify(result)).toBe(true);
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/api/v1/kpis",
      "/api/v1/openapi.json",
      "/api/v1/portfolio",
      "/api/v1/projects",
      "/api/v1/series",
    ]);
    const params = doc.paths["/api/v1/series"].get.parameters;
    const bucket = params.find((p: any) => p.name === "bucket");
    expect(bucket).toMatchObject({ in: "query", required: true, schema: { enum: ["DAY", "WEEK", "MONTH"] } });
    expect(doc.components.schemas.KpiRow.properties.annual_benefit).toBeDefined();
  });
});

describe("credentials (res.locals.principal set by the auth middleware)", () => {
  it("a key scoped to one project sees its rows alone; naming another project is 404", async () => {
    const scoped: Principal = { actor: "bi-key", role: "reader", projects: ["beta"] };
    const app = express();
    app.use((_req, res, next) => {
      res.locals.principal = scoped;
      next();
    });
    app.use(restRouter({ ds: t.app.db.ds, engine: await engineOf(), currency: "EUR" }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const base = `http://127.0.0.1:${(server.address() as any).port}`;
    try {
      const kpis = JSON.parse((await get("/api/v1/kpis", {}, base)).text);
      expect(kpis.map((k: any) => k.project_slug)).toEqual(["beta"]);
      const projects = JSON.parse((await get("/api/v1/projects", {}, base)).text);
      expect(projects.map((p: any) => p.slug)).toEqual(["beta"]);
      expect((await get("/api/v1/kpis?project=alpha", {}, base)).status).toBe(404);
      expect((await get("/api/v1/series?project=alpha&metric=rt&bucket=WEEK", {}, base)).status).toBe(404);
      const portfolio = JSON.parse((await get("/api/v1/portfolio", {}, base)).text);
      expect(portfolio.projectCount).toBe(1);
      expect(portfolio.totalAnnualBenefit).toBe(600_000);
    } finally {
      server.close();
    }
  });
});

async function engineOf() {
  const { KpiEngine } = await import("../../src/kpi/engine.js");
  return new KpiEngine(t.app.db.ds);
}
