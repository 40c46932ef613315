import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { templateCollector } from "../../collectors/_template/index.js";
import { createRegistry } from "../../src/collect/types.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { type LocalServer, sendJson, startLocalServer } from "../helpers/local-server.js";

// docs/collectors.md walks through collectors/_template/index.ts: the page and the file must be one
// text, and that collector must do what the page says through the real runner and database.

const GUIDE = path.join(PROJECT_ROOT, "docs", "collectors.md");
const TEMPLATE = path.join(PROJECT_ROOT, "collectors", "_template", "index.ts");

/** 204 tickets, one a minute from 2025-03-01; every 10th unresolved; 30 minutes to resolve (by hand). */
const minute = (i: number) => new Date(Date.parse("2025-03-01T00:00:00Z") + i * 60_000).toISOString();
const ticket = (i: number) => ({
  id: 1000 + i,
  created_at: minute(i),
  resolved_at: i % 10 === 9 ? null : minute(i + 30),
  updated_at: minute(i + 30),
});

let tickets = Array.from({ length: 204 }, (_, i) => ticket(i));
let api: LocalServer;
let t: TestApp;
let sql: pg.Client;

beforeAll(async () => {
  // The fictional API of the walkthrough: updated_since inclusive, page numbers, next_page null at the end.
  api = await startLocalServer((req, res, url) => {
    if (req.headers.authorization !== "Bearer t0ken") return void res.writeHead(401).end();
    const since = url.searchParams.get("updated_since") ?? "";
    const page = Number(url.searchParams.get("page"));
    const per = Number(url.searchParams.get("per_page"));
    const all = tickets.filter((x) => x.updated_at >= since);
    const slice = all.slice((page - 1) * per, page * per);
    sendJson(res, {
      total: all.length,
      tickets: slice,
      next_page: page * per < all.length ? page + 1 : null,
    });
  });
  t = await startTestApp({
    registry: createRegistry([templateCollector]),
    config: `
metrics:
  - { key: minutes, name: Minutes, unit: min, direction: LOWER_IS_BETTER }
projects:
  - { slug: desk, name: Desk, goLiveAt: "2025-03-02T00:00:00Z", kpis: [{ metric: minutes }] }
collectors:
  - name: tickets
    type: template
    schedule: "0 * * * *"
    project: desk
    metric: minutes
    options: { baseUrl: "${api.url}", token: t0ken, since: "2025-01-01", pageSize: 41 }
`,
  });
  sql = new pg.Client(t.db.url);
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
  await api?.close();
});

const stored = async () =>
  (await sql.query("SELECT external_id, value FROM observation ORDER BY external_id")).rows as {
    external_id: string;
    value: number;
  }[];
const run = async (range?: { from: Date; to: Date }) => {
  const { done } = await t.app.collectors.startManual("tickets", range ? { range } : {});
  return done;
};

describe("the collector walkthrough (docs/collectors.md)", () => {
  it("shows the template's code, all of it, under 60 lines of code", () => {
    const code = fs.readFileSync(TEMPLATE, "utf8");
    expect(fs.readFileSync(GUIDE, "utf8")).toContain(`\`\`\`ts\n${code}\`\`\``);
    expect(code.split("\n").filter((l) => l.trim() && !l.trim().startsWith("//")).length).toBeLessThan(60);
  });

  it("stores every resolved ticket of a five-page API, counts the unresolved as skipped", async () => {
    const r = await run();
    expect(r).toMatchObject({ status: "SUCCEEDED", observations: 184, rejected: 0, skipped: 20 });
    expect(api.requests.map((q) => new URL(q.path, api.url).searchParams.get("page"))).toEqual([
      "1",
      "2",
      "3",
      "4",
      "5",
    ]);
    const rows = await stored();
    expect(rows).toHaveLength(184); // 204 less the 20 unresolved (i = 9, 19, …, 199)
    expect(new Set(rows.map((x) => x.value))).toEqual(new Set([30]));
  });

  it("a second run asks only from the cursor and stores what is new", async () => {
    const before = api.requests.length;
    tickets = [...tickets, ticket(300), ticket(301)];
    const r = await run();
    expect(r).toMatchObject({ status: "SUCCEEDED", rejected: 0 });
    const asked = api.requests.slice(before).map((q) => new URL(q.path, api.url).searchParams);
    // The cursor is the last page's last updated_at (ticket 203, resolved at minute 233).
    expect(asked.map((q) => q.get("updated_since"))).toEqual([minute(233)]);
    // Ticket 203 again (updated_since is inclusive: upserted), and the two new ones.
    expect(r.observations).toBe(3);
    expect(await stored()).toHaveLength(186);
  });

  it("a backfill stores only its range", async () => {
    await sql.query("TRUNCATE observation, observation_activity");
    const from = new Date(minute(100 + 30));
    const to = new Date(minute(120 + 30));
    const r = await run({ from, to });
    expect(r).toMatchObject({ status: "SUCCEEDED" });
    // Resolved in [minute 130, minute 150): tickets 100..119 less the unresolved 109 and 119.
    const ids = (await stored()).map((x) => Number(x.external_id) - 1000);
    expect(ids).toEqual([
      100, 101, 102, 103, 104, 105, 106, 107, 108, 110, 111, 112, 113, 114, 115, 116, 117, 118,
    ]);
    // The backfill left the instance's cursor where the incremental runs put it.
    const cursor = await sql.query("SELECT cursor FROM collector_cursor WHERE instance = 'tickets'");
    expect(cursor.rows[0].cursor).toBe(minute(331));
  });
});
