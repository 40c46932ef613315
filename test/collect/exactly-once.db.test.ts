import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { spawnUplift } from "../helpers/process.js";

// Real processes against one database: a run killed with SIGKILL mid-way, then run again, stores every
// source record exactly once; two processes scheduling one instance every second never run a time twice.

const N = 600;
const items = Array.from({ length: N }, (_, i) => ({
  id: `T${i}`,
  updated: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
  minutes: (i % 17) + 1,
}));

let server: http.Server;
let port = 0;
let pageDelayMs = 100;
/** Pages from this offset on are held until `release` is called (a source that stalls mid-way). */
let holdFrom: number | null = null;
let held: Promise<void> = Promise.resolve();
let release: () => void = () => undefined;

/** Pages of 20 items with updated >= `after` (an overlapping cursor, as vendors need), Link rel="next". */
function source(req: http.IncomingMessage, res: http.ServerResponse) {
  const url = new URL(req.url!, `http://127.0.0.1:${port}`);
  const after = url.searchParams.get("after");
  const offset = Number(url.searchParams.get("offset") ?? 0);
  const matching = items.filter((x) => !after || x.updated >= after);
  const page = matching.slice(offset, offset + 20);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (offset + 20 < matching.length) {
    const next = new URL(url);
    next.searchParams.set("offset", String(offset + 20));
    headers.link = `<${next.href}>; rel="next"`;
  }
  const hold = holdFrom !== null && offset >= holdFrom ? held : Promise.resolve();
  void hold.then(() =>
    setTimeout(() => {
      res.writeHead(200, headers);
      res.end(JSON.stringify({ items: page }));
    }, pageDelayMs),
  );
}

function config(schedule: string) {
  return `
metrics:
  - { key: m, name: M, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: p, name: P, goLiveAt: "2025-01-01T00:05:00Z", kpis: [{ metric: m }] }
collectors:
  - name: src
    type: http-json
    schedule: "${schedule}"
    project: p
    metric: m
    options:
      url: http://127.0.0.1:${port}/items
      items: $.items
      fields: { observedAt: $.updated, value: $.minutes, externalId: $.id }
      pagination: { type: link }
      cursorField: $.updated
      cursorParam: after
`;
}

function writeConfig(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-once-"));
  const file = path.join(dir, "uplift.yaml");
  fs.writeFileSync(file, text);
  return file;
}

function collectCli(env: Record<string, string>) {
  const tsx = pathToFileURL(path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  const base = { ...process.env };
  delete base.VITEST;
  delete base.NODE_ENV;
  const child = spawn(
    process.execPath,
    ["--import", tsx, path.join(PROJECT_ROOT, "src", "cli", "collect.ts"), "src"],
    {
      cwd: PROJECT_ROOT,
      env: { ...base, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout.on("data", (c) => {
    out += c;
  });
  child.stderr.on("data", (c) => {
    out += c;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, exited, output: () => out };
}

let db: TestDatabase;
let sql: pg.Client;
beforeAll(async () => {
  server = http.createServer(source);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as { port: number }).port;
  db = await createTestDatabase();
  sql = new pg.Client(db.url);
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await db?.drop();
  await new Promise((r) => server?.close(r));
});

async function waitFor(cond: () => Promise<boolean>, ms = 30_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met in time");
}

describe("exactly once across processes", () => {
  it("a run killed with SIGKILL mid-way, then run again, stores every record exactly once", async () => {
    await sql.query("TRUNCATE observation, collector_run, collector_cursor");
    // 25 pages of 100 ms take at least 2.5 s, so the runner (it commits every 2 s) commits at least once
    // before the source stalls at item 500; the kill comes while it stalls, however slow the machine.
    pageDelayMs = 100;
    holdFrom = 500;
    held = new Promise((r) => {
      release = r;
    });
    const env = { DATABASE_URL: db.url, UPLIFT_CONFIG: writeConfig(config("0 0 1 1 *")) };
    const first = collectCli(env);
    await waitFor(
      async () => Number((await sql.query("SELECT count(*) FROM observation")).rows[0].count) > 0,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const afterKill = Number((await sql.query("SELECT count(*) FROM observation")).rows[0].count);
    const cursorAfterKill = (await sql.query("SELECT cursor FROM collector_cursor")).rows[0]?.cursor;
    expect(afterKill).toBeGreaterThan(0);
    expect(afterKill).toBeLessThan(N);
    // The cursor covers exactly what was committed: the newest stored record.
    const newest = (await sql.query("SELECT max(observed_at) AS t FROM observation")).rows[0].t as Date;
    expect(cursorAfterKill).toBe(newest.toISOString());

    pageDelayMs = 5;
    holdFrom = null;
    release();
    const second = collectCli(env);
    expect(await second.exited).toBe(0);
    expect(second.output()).toMatch(/src: SUCCEEDED/);
    const stats = (
      await sql.query(
        "SELECT count(*)::int AS n, count(DISTINCT external_id)::int AS ids, sum(value)::float8 AS total FROM observation",
      )
    ).rows[0];
    expect(stats.n).toBe(N);
    expect(stats.ids).toBe(N);
    expect(stats.total).toBe(items.reduce((s, x) => s + x.minutes, 0));
    const runs = (await sql.query("SELECT status, error FROM collector_run ORDER BY id")).rows;
    expect(runs[0].status).toBe("FAILED"); // the killed run, closed by the next process on this host
    expect(runs[0].error).toMatch(/stopped before it finished/);
    expect(runs[1].status).toBe("SUCCEEDED");
  });

  it("two processes scheduling one instance every second run each scheduled time once, never overlapping", async () => {
    await sql.query("TRUNCATE observation, collector_run, collector_cursor");
    pageDelayMs = 150; // runs take ~0.3–0.5 s; some seconds find the previous run still going
    const env = {
      DATABASE_URL: db.url,
      UPLIFT_CONFIG: writeConfig(config("* * * * * *")),
      UPLIFT_SCHEDULER: "on",
    };
    const a = spawnUplift(env);
    const b = spawnUplift(env);
    await Promise.all([a.ready, b.ready]);
    // Until at least 4 scheduled times are done and both processes took part: on a quiet machine about
    // 5 s, on a loaded one longer (a fixed window would see too few runs there).
    await waitFor(async () => {
      const done = (
        await sql.query(
          `SELECT DISTINCT split_part(owner, ':', 1) || ':' || split_part(owner, ':', 2) AS process
           FROM collector_run WHERE scheduled_for IS NOT NULL AND status <> 'RUNNING'`,
        )
      ).rows;
      const count = Number(
        (
          await sql.query(
            "SELECT count(*) FROM collector_run WHERE scheduled_for IS NOT NULL AND status <> 'RUNNING'",
          )
        ).rows[0].count,
      );
      return count >= 4 && done.length === 2;
    }, 120_000);
    a.child.kill("SIGTERM");
    b.child.kill("SIGTERM");
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);

    const rows = (
      await sql.query(
        `SELECT scheduled_for, status, owner, started_at, finished_at FROM collector_run
         WHERE scheduled_for IS NOT NULL ORDER BY scheduled_for`,
      )
    ).rows;
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const times = rows.map((r) => r.scheduled_for.getTime());
    expect(new Set(times).size).toBe(times.length); // no scheduled time twice
    const owners = new Set(rows.map((r) => r.owner.split(":").slice(0, 2).join(":")));
    expect(owners.size).toBe(2); // both processes took part
    // Runs of the instance never overlap: each starts after the previous one finished.
    const ran = rows.filter((r) => r.status !== "SKIPPED").sort((x, y) => x.started_at - y.started_at);
    for (let i = 1; i < ran.length; i++)
      expect(ran[i].started_at.getTime()).toBeGreaterThanOrEqual(ran[i - 1].finished_at.getTime());
    expect(rows.every((r) => r.status !== "RUNNING")).toBe(true);
    // And every source record is stored once, however many runs overlapped in the source.
    expect(
      Number(
        (await sql.query("SELECT count(DISTINCT external_id) - count(*) AS d FROM observation")).rows[0].d,
      ),
    ).toBe(0);
  });
});
