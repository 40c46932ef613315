import http from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bulkChunking } from "../../src/store/bulk-observations.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Bulk ingest writes its body in chunks while it streams (a direct COPY while rows are new, staging and
// INSERT … ON CONFLICT otherwise), all in one transaction. Chunks of 4 rows here, so that a small body
// spans many chunks; expected counts and values follow from the bodies, and stored rows are read back
// from PostgreSQL directly.

const METRIC = "chunks.mean";
const CHUNK = 4;
let t: TestApp;
let db: pg.Client;
let seq = 0;
const saved = bulkChunking.rows;

beforeAll(async () => {
  bulkChunking.rows = CHUNK;
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
  bulkChunking.rows = saved;
  await db?.end();
  await t?.stop();
});

async function newProject(): Promise<string> {
  const slug = `chunks-${++seq}`;
  const c = await t.gql(`mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`, {
    i: { slug, name: `Chunks ${seq}` },
  });
  expect(c.body.errors).toBeUndefined();
  const k = await t.gql(`mutation($i: TrackKpiInput!) { trackKpi(input: $i) { projectSlug } }`, {
    i: { projectSlug: slug, metricKey: METRIC },
  });
  expect(k.body.errors).toBeUndefined();
  return slug;
}

async function post(body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${t.url}/api/v1/observations`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body,
  });
  return { status: res.status, json: await res.json() };
}

const line = (slug: string, value: number, externalId?: string) =>
  JSON.stringify({
    projectSlug: slug,
    metricKey: METRIC,
    observedAt: new Date(Date.UTC(2025, 0, 1) + value * 60_000).toISOString(),
    value,
    ...(externalId === undefined ? {} : { externalId }),
  });
const body = (lines: string[]) => `${lines.join("\n")}\n`;

async function stored(slug: string): Promise<[string | null, number][]> {
  const { rows } = await db.query(
    `SELECT o.external_id, o.value FROM observation o JOIN project p ON p.id = o.project_id
     WHERE p.slug = $1 ORDER BY o.external_id, o.value`,
    [slug],
  );
  return rows.map((r) => [r.external_id, r.value]);
}

describe("bulk ingest in chunks", () => {
  it("stores nothing of earlier chunks when a line of the last chunk is bad", async () => {
    const slug = await newProject();
    const lines = Array.from({ length: 6 * CHUNK }, (_, i) => line(slug, i, `e${i}`));
    lines.push(JSON.stringify({ projectSlug: slug, metricKey: METRIC, observedAt: "2025-01-01", value: 1 }));
    const r = await post(body(lines));
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([
      { line: 6 * CHUNK + 1, field: "observedAt", message: expect.any(String) },
    ]);
    expect(await stored(slug)).toEqual([]);
  });

  it("lets a later line win across chunks, and counts every repeat as an update", async () => {
    const slug = await newProject();
    // Chunks: [a1 b2 c3 d4] [a5 e6 a7 f8] [g9 h10 b11 x12]: a repeats across and within chunk 2, b across.
    const ids = ["a", "b", "c", "d", "a", "e", "a", "f", "g", "h", "b", "x"];
    const r = await post(body(ids.map((id, i) => line(slug, i + 1, id))));
    expect(r.json).toEqual({ inserted: 9, updated: 3 });
    expect(await stored(slug)).toEqual([
      ["a", 7],
      ["b", 11],
      ["c", 3],
      ["d", 4],
      ["e", 6],
      ["f", 8],
      ["g", 9],
      ["h", 10],
      ["x", 12],
    ]);
  });

  it("counts inserts and updates exactly when new and stored rows mix, and keeps rows without an id", async () => {
    const slug = await newProject();
    // Stored first: s0 … s5.
    expect((await post(body([0, 1, 2, 3, 4, 5].map((i) => line(slug, i, `s${i}`))))).json).toEqual({
      inserted: 6,
      updated: 0,
    });
    // Chunk 1 all new (direct COPY); chunk 2 holds s1 (staging); chunk 3 new again; chunk 4 holds s4, s5
    // and a row without an id; chunk 5 new.
    const lines = [
      ...["n1", "n2", "n3", "n4"].map((id, i) => line(slug, 100 + i, id)),
      ...["n5", "s1", "n6", "n7"].map((id, i) => line(slug, 200 + i, id)),
      ...["n8", "n9", "n10", "n11"].map((id, i) => line(slug, 300 + i, id)),
      line(slug, 400, "s4"),
      line(slug, 401),
      line(slug, 402, "s5"),
      line(slug, 403, "n12"),
      line(slug, 500, "n13"),
    ];
    const r = await post(body(lines));
    expect(r.json).toEqual({ inserted: 14, updated: 3 });
    const rows = await stored(slug);
    expect(rows).toHaveLength(6 + 14);
    const byId = new Map(rows.map(([id, v]) => [id, v]));
    expect([byId.get("s1"), byId.get("s4"), byId.get("s5"), byId.get("s0"), byId.get(null)]).toEqual([
      201, 400, 402, 0, 401,
    ]);
    // A row re-recorded through bulk ingest belongs to no collector run.
    const { rows: runs } = await db.query(
      `SELECT count(*)::int AS n FROM observation o JOIN project p ON p.id = o.project_id
       WHERE p.slug = $1 AND o.run_id IS NOT NULL`,
      [slug],
    );
    expect(runs[0].n).toBe(0);
  });

  it("keeps counts and the later line's value past the savepoint budget (one row per chunk)", async () => {
    const slug = await newProject();
    const saved = { ...bulkChunking };
    // 70 chunks: more than the 48 savepoints a transaction may use; the rest go through the de-duplicating merge.
    Object.assign(bulkChunking, { rows: 1 });
    try {
      const ids = Array.from({ length: 70 }, (_, i) => (i >= 60 ? `r${i - 60}` : `r${i}`));
      const r = await post(body(ids.map((id, i) => line(slug, i, id))));
      expect(r.json).toEqual({ inserted: 60, updated: 10 });
      const rows = await stored(slug);
      expect(rows).toHaveLength(60);
      const byId = new Map(rows.map(([id, v]) => [id, v]));
      expect([byId.get("r0"), byId.get("r9"), byId.get("r10"), byId.get("r59")]).toEqual([60, 69, 10, 59]);
    } finally {
      Object.assign(bulkChunking, saved);
    }
  });

  it("stores long, escaped and multi-byte lines exactly when they outgrow a chunk's buffer", async () => {
    const slug = await newProject();
    const saved = { ...bulkChunking };
    // Buffers of 300 bytes: most lines below are longer, so the buffer grows for them.
    Object.assign(bulkChunking, { bytes: 300, firstBytes: 100, rows: 1_000 });
    try {
      const rows = Array.from({ length: 9 }, (_, i) => ({
        projectSlug: slug,
        metricKey: METRIC,
        observedAt: new Date(Date.UTC(2025, 1, 1, i)).toISOString(),
        value: i,
        externalId: `id-${i}-${"é🚀\\t\t".repeat(i * 8)}`,
        dimensions: { team: `équipe ${"ü".repeat(i * 30)}`, note: "tab\there\nline" },
      }));
      const r = await post(body(rows.map((x) => JSON.stringify(x))));
      expect(r.json).toEqual({ inserted: 9, updated: 0 });
      const { rows: got } = await db.query(
        `SELECT o.external_id, o.value, o.dimensions FROM observation o JOIN project p ON p.id = o.project_id
         WHERE p.slug = $1 ORDER BY o.value`,
        [slug],
      );
      expect(got).toEqual(
        rows.map((x) => ({ external_id: x.externalId, value: x.value, dimensions: x.dimensions })),
      );
    } finally {
      Object.assign(bulkChunking, saved);
    }
  });

  it("stores nothing, and frees its connection, when the client goes away mid-body", async () => {
    const slug = await newProject();
    const url = new URL(`${t.url}/api/v1/observations`);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
    });
    req.on("error", () => undefined);
    // Ten chunks' worth, sent; the body never ends.
    req.write(body(Array.from({ length: 10 * CHUNK }, (_, i) => line(slug, i, `g${i}`))));
    // Wait until the server holds its transaction open, waiting for more of the body; then go away.
    const idle = async () =>
      (
        await db.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()
           AND state = 'idle in transaction' AND pid <> pg_backend_pid()
           AND application_name <> 'uplift-reporting'`, // the refresher's drain may be open too
        )
      ).rows[0].n as number;
    for (let i = 0; i < 200 && (await idle()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    // All forty lines arrived in one write: a moment later every chunk is in the open transaction.
    await new Promise((r) => setTimeout(r, 500));
    expect(await idle()).toBe(1);
    req.destroy();
    // The server rolls back and returns the connection; nothing of the ten chunks is visible then or after.
    const settled = async () => {
      for (let i = 0; i < 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        if ((await idle()) > 0) continue;
        await new Promise((r) => setTimeout(r, 100));
        if ((await idle()) === 0) return true;
      }
      return false;
    };
    expect(await settled()).toBe(true);
    expect(await stored(slug)).toEqual([]);
    // The pool is sound: the same lines then go in whole.
    const r = await post(body(Array.from({ length: 10 * CHUNK }, (_, i) => line(slug, i, `g${i}`))));
    expect(r.json).toEqual({ inserted: 10 * CHUNK, updated: 0 });
  });
});
