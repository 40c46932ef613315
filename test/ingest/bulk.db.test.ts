import http from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// POST /api/v1/observations (contract, "BI access → Bulk ingest"): NDJSON and CSV, the rules of
// recordObservations, all or nothing with line-numbered errors. Stored rows are read back from PostgreSQL
// directly, never through the API under test.

const METRIC = "bulk.mean";
let t: TestApp;
let db: pg.Client;
let seq = 0;

beforeAll(async () => {
  t = await startTestApp({
    config: `
metrics:
  - { key: ${METRIC}, name: Handle time, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEAN }
`,
  });
  db = new pg.Client(t.db.url);
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
});

async function newProject(): Promise<string> {
  const slug = `bulk-${++seq}`;
  const c = await t.gql(`mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`, {
    i: { slug, name: `Bulk ${seq}` },
  });
  expect(c.body.errors).toBeUndefined();
  const k = await t.gql(`mutation($i: TrackKpiInput!) { trackKpi(input: $i) { projectSlug } }`, {
    i: { projectSlug: slug, metricKey: METRIC },
  });
  expect(k.body.errors).toBeUndefined();
  return slug;
}

async function post(body: string | Buffer, type: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${t.url}/api/v1/observations`, {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
  return { status: res.status, json: await res.json() };
}

const ndjson = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

async function stored(slug: string) {
  const { rows } = await db.query(
    `SELECT o.observed_at, o.value, o.weight, o.external_id, o.dimensions
     FROM observation o JOIN project p ON p.id = o.project_id WHERE p.slug = $1
     ORDER BY o.observed_at, o.external_id`,
    [slug],
  );
  return rows as {
    observed_at: Date;
    value: number;
    weight: number;
    external_id: string | null;
    dimensions: any;
  }[];
}

describe("bulk ingest, NDJSON", () => {
  it("stores every line, with defaults, dimensions and offsets applied, and reports inserts", async () => {
    const slug = await newProject();
    const body = ndjson([
      { projectSlug: slug, metricKey: METRIC, observedAt: "2025-01-01T10:00:00Z", value: 4, externalId: "a" },
      {
        projectSlug: slug,
        metricKey: METRIC,
        observedAt: "2025-01-01T12:30:00+02:00",
        value: 6.5,
        weight: 3,
        externalId: "b",
        dimensions: { team: "blue" },
      },
      { projectSlug: slug, metricKey: METRIC, observedAt: "2025-01-02T00:00:00Z", value: -1, weight: null },
    ]);
    const r = await post(body, "application/x-ndjson");
    expect(r).toEqual({ status: 200, json: { inserted: 3, updated: 0 } });
    const rows = await stored(slug);
    expect(
      rows.map((x) => [x.observed_at.toISOString(), x.value, x.weight, x.external_id, x.dimensions]),
    ).toEqual([
      ["2025-01-01T10:00:00.000Z", 4, 1, "a", null],
      ["2025-01-01T10:30:00.000Z", 6.5, 3, "b", { team: "blue" }],
      ["2025-01-02T00:00:00.000Z", -1, 1, null, null],
    ]);
  });

  it("is idempotent by externalId: a second post updates, and a later line with the same id wins", async () => {
    const slug = await newProject();
    const line = (value: number, id: string) => ({
      projectSlug: slug,
      metricKey: METRIC,
      observedAt: "2025-02-01T00:00:00Z",
      value,
      externalId: id,
    });
    expect((await post(ndjson([line(1, "x"), line(2, "y")]), "application/x-ndjson")).json).toEqual({
      inserted: 2,
      updated: 0,
    });
    // x again twice (the second wins) and a new z: counted in order as recordObservations counts them.
    const again = await post(ndjson([line(10, "x"), line(11, "x"), line(3, "z")]), "application/x-ndjson");
    expect(again.json).toEqual({ inserted: 1, updated: 2 });
    const rows = await stored(slug);
    expect(rows.map((x) => [x.external_id, x.value])).toEqual([
      ["x", 11],
      ["y", 2],
      ["z", 3],
    ]);
  });

  it("refuses the whole body when any line is bad, naming each line and field, and stores nothing", async () => {
    const slug = await newProject();
    const good = { projectSlug: slug, metricKey: METRIC, observedAt: "2025-03-01T00:00:00Z", value: 1 };
    const lines = [
      JSON.stringify(good),
      JSON.stringify({ ...good, value: "7" }),
      "{not json",
      "",
      JSON.stringify({ ...good, projectSlug: "no-such-project" }),
      JSON.stringify({ ...good, observedAt: "2025-03-01T00:00:00" }),
      JSON.stringify({ ...good, weight: 0 }),
      JSON.stringify({ ...good, extra: true }),
      JSON.stringify({ ...good, externalId: "a\u0000b" }),
      JSON.stringify({ ...good, dimensions: { team: 5 } }),
      JSON.stringify({ ...good, value: 2e15 }),
      JSON.stringify(good),
    ];
    const r = await post(`${lines.join("\n")}\n`, "application/x-ndjson");
    expect(r.status).toBe(400);
    const got = r.json.errors.map((e: any) => [e.line, e.field]);
    expect(got).toEqual([
      [2, "value"],
      [3, ""],
      [5, "projectSlug"],
      [6, "observedAt"],
      [7, "weight"],
      [8, "extra"],
      [9, "externalId"],
      [10, "dimensions.team"],
      [11, "value"],
    ]);
    for (const e of r.json.errors) expect(typeof e.message).toBe("string");
    expect(await stored(slug)).toEqual([]);
  });

  it("lists at most 100 problems", async () => {
    const slug = await newProject();
    const bad = JSON.stringify({ projectSlug: slug, metricKey: METRIC, observedAt: "x", value: 1 });
    const r = await post(`${Array(250).fill(bad).join("\n")}\n`, "application/x-ndjson");
    expect(r.status).toBe(400);
    expect(r.json.errors).toHaveLength(100);
    expect(r.json.errors[99].line).toBe(100);
  });

  it("keeps memory flat: 200,000 lines in one streamed request", async () => {
    const slug = await newProject();
    const n = 200_000;
    const start = Date.parse("2024-01-01T00:00:00Z");
    // Streams the body in pieces, as a client uploading a large file would.
    const url = new URL(`${t.url}/api/v1/observations`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
        },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      let i = 0;
      const pump = () => {
        while (i < n) {
          const chunk: string[] = [];
          for (let k = 0; k < 5_000 && i < n; k++, i++)
            chunk.push(
              JSON.stringify({
                projectSlug: slug,
                metricKey: METRIC,
                observedAt: new Date(start + i * 60_000).toISOString(),
                value: i % 10,
                externalId: `e${i}`,
              }),
            );
          if (!req.write(`${chunk.join("\n")}\n`)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ inserted: n, updated: 0 });
    const { rows } = await db.query(
      `SELECT count(*)::int AS n, sum(value)::float8 AS s FROM observation o JOIN project p ON p.id = o.project_id WHERE p.slug = $1`,
      [slug],
    );
    // value = i mod 10: each digit 20,000 times, so the sum is 20,000 × 45.
    expect(rows[0]).toEqual({ n, s: 20_000 * 45 });
  });

  it("announces the change: the KPI's figures reflect the bulk rows", async () => {
    const slug = await newProject();
    const rows = [2, 4, 9].map((value, i) => ({
      projectSlug: slug,
      metricKey: METRIC,
      observedAt: `2025-04-0${i + 1}T00:00:00Z`,
      value,
    }));
    expect((await post(ndjson(rows), "application/x-ndjson")).status).toBe(200);
    const q = await t.gql(`query($s: String!) { project(slug: $s) { kpis { current { value count } } } }`, {
      s: slug,
    });
    expect(q.body.data.project.kpis[0].current).toEqual({ value: 5, count: 3 });
  });
});

describe("bulk ingest, CSV", () => {
  it("reads the header, dim.<key> columns, quoted cells and empty optional cells", async () => {
    const slug = await newProject();
    const csv = [
      "projectSlug,metricKey,observedAt,value,weight,externalId,dim.team",
      `${slug},${METRIC},2025-05-01T00:00:00Z,3,,c1,"red, dark"`,
      `${slug},${METRIC},2025-05-02T00:00:00Z,5,2,,`,
      "",
    ].join("\r\n");
    const r = await post(csv, "text/csv; charset=utf-8");
    expect(r).toEqual({ status: 200, json: { inserted: 2, updated: 0 } });
    const rows = await stored(slug);
    expect(rows.map((x) => [x.value, x.weight, x.external_id, x.dimensions])).toEqual([
      [3, 1, "c1", { team: "red, dark" }],
      [5, 2, null, null],
    ]);
  });

  it("names an unknown or missing column, and bad cells by line and column", async () => {
    const r1 = await post("projectSlug,metricKey,observedAt,valu\n", "text/csv");
    expect(r1.status).toBe(400);
    expect(r1.json.errors.map((e: any) => e.field).sort()).toEqual(["valu", "value"]);
    const slug = await newProject();
    const r2 = await post(
      `projectSlug,metricKey,observedAt,value\n${slug},${METRIC},2025-05-01T00:00:00Z,0x10\n${slug},${METRIC},2025-05-01T00:00:00Z,1,9\n`,
      "text/csv",
    );
    expect(r2.status).toBe(400);
    expect(r2.json.errors.map((e: any) => [e.line, e.field])).toEqual([
      [2, "value"],
      [3, ""],
    ]);
    expect(await stored(slug)).toEqual([]);
  });
});

describe("bulk ingest, the request itself", () => {
  it("refuses other media types with 415 and a code", async () => {
    const r = await post("{}", "application/json");
    expect(r.status).toBe(415);
    expect(r.json.errors[0].extensions.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("accepts an empty body as nothing to do", async () => {
    expect(await post("", "application/x-ndjson")).toEqual({
      status: 200,
      json: { inserted: 0, updated: 0 },
    });
  });

  it("refuses a line longer than its limit without buffering it", async () => {
    const slug = await newProject();
    const huge = JSON.stringify({
      projectSlug: slug,
      metricKey: METRIC,
      observedAt: "2025-01-01T00:00:00Z",
      value: 1,
      externalId: "x".repeat(400_000),
    });
    const r = await post(`${huge}\n`, "application/x-ndjson");
    expect(r.status).toBe(400);
    expect(r.json.errors[0]).toMatchObject({ line: 1, field: "" });
    expect(r.json.errors[0].message).toMatch(/longer than/);
  });
});
