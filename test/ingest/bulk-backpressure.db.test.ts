import http from "node:http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Backpressure from PostgreSQL back to the client's socket: while the database takes no rows (a lock held
// by another session blocks the bulk request's COPY), the server stops reading the body, so what it holds
// stays bounded whatever the body's size. The bound is on bytes the client could hand over: the server's
// two COPY chunks and stream buffers plus the kernel's socket buffers (loopback autotuning: at most
// tcp_rmem + tcp_wmem, 36 MB on a default Linux) stay far below it. A busy machine makes the server read
// less, never more.

const METRIC = "backpressure.mean";
const LINES = 900_000;
const BOUND = 64 * 2 ** 20;
let t: TestApp;
let db: pg.Client;
let locker: pg.Client;
let lockerPid: number;

beforeAll(async () => {
  t = await startTestApp({
    config: `
metrics:
  - { key: ${METRIC}, name: Handle time, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEAN }
`,
  });
  db = new pg.Client(t.db.url);
  await db.connect();
  locker = new pg.Client(t.db.url);
  await locker.connect();
  lockerPid = (await locker.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
});
afterAll(async () => {
  await locker?.end();
  await db?.end();
  await t?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server's sessions (not the test's two) that match `where`. */
async function sessions(where: string): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()
     AND backend_type = 'client backend' AND pid NOT IN (pg_backend_pid(), $1) AND ${where}`,
    [lockerPid],
  );
  return rows[0].n;
}

describe("bulk ingest backpressure", () => {
  it("stops reading the body while PostgreSQL takes no rows, and stores nothing when the client then leaves", async () => {
    const slug = "backpressure";
    const c = await t.gql(`mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`, {
      i: { slug, name: "Backpressure" },
    });
    expect(c.body.errors).toBeUndefined();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE observation IN SHARE MODE");

    const url = new URL(`${t.url}/api/v1/observations`);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
    });
    req.on("error", () => undefined);
    let written = 0;
    let i = 0;
    let progress = Date.now();
    const start = Date.UTC(2024, 0, 1);
    const pump = () => {
      progress = Date.now();
      while (i < LINES) {
        const lines: string[] = [];
        for (let k = 0; k < 1_000 && i < LINES; k++, i++)
          lines.push(
            JSON.stringify({
              projectSlug: slug,
              metricKey: METRIC,
              observedAt: new Date(start + i * 60_000).toISOString(),
              value: i % 10,
              externalId: `b${i}`,
            }),
          );
        const text = `${lines.join("\n")}\n`;
        written += Buffer.byteLength(text);
        progress = Date.now();
        if (!req.write(text)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
    // Until the client has had no room for a second (or has sent everything: backpressure broken).
    for (let n = 0; n < 600 && i < LINES && Date.now() - progress < 1_000; n++) await sleep(100);

    // The server's COPY waits for the lock: the stall is PostgreSQL's, not a slow reader's.
    expect(await sessions("wait_event_type = 'Lock'")).toBe(1);
    expect(i).toBeLessThan(LINES);
    expect(written).toBeLessThan(BOUND);

    req.destroy();
    await locker.query("COMMIT");
    // The server rolls back once its COPY ends, and returns the connection.
    for (let n = 0; n < 200 && (await sessions("state <> 'idle'")) > 0; n++) await sleep(50);
    expect(await sessions("state <> 'idle'")).toBe(0);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM observation o JOIN project p ON p.id = o.project_id WHERE p.slug = $1`,
      [slug],
    );
    expect(rows[0].n).toBe(0);
  });
});
