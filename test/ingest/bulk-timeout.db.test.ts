import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// A bulk request whose statement outlasts UPLIFT_STATEMENT_TIMEOUT_MS gets an answer naming the setting
// (503, retryable) and stores nothing. The wait is made certain, not timed: another connection holds a
// lock on `observation` that the request's COPY must wait for, so the timeout always fires first.

let t: TestApp;
let db: pg.Client;

beforeAll(async () => {
  t = await startTestApp({
    env: { UPLIFT_STATEMENT_TIMEOUT_MS: "300" },
    config: `
metrics:
  - { key: m, name: M, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - slug: p
    name: P
    goLiveAt: "2025-06-01T00:00:00Z"
    kpis: [{ metric: m }]
`,
  });
  db = new pg.Client(t.db.url);
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
});

it("answers 503 naming UPLIFT_STATEMENT_TIMEOUT_MS and stores nothing when a statement times out", async () => {
  const body = `${Array.from({ length: 50 }, (_, i) =>
    JSON.stringify({
      projectSlug: "p",
      metricKey: "m",
      observedAt: "2025-05-01T00:00:00Z",
      value: i,
      externalId: `x${i}`,
    }),
  ).join("\n")}\n`;
  await db.query("BEGIN");
  await db.query("LOCK TABLE observation IN ACCESS EXCLUSIVE MODE");
  let res: Response;
  try {
    res = await fetch(`${t.url}/api/v1/observations`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body,
    });
  } finally {
    await db.query("ROLLBACK");
  }
  expect(res.status).toBe(503);
  const json = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
  expect(json.errors[0]!.message).toContain("UPLIFT_STATEMENT_TIMEOUT_MS");
  expect(json.errors[0]!.message).not.toMatch(/SELECT|INSERT|COPY/);
  const { rows } = await db.query("SELECT count(*)::int AS n FROM observation");
  expect(rows[0].n).toBe(0);
  // The connection went back to the pool in a usable state: the same body now goes in.
  const again = await fetch(`${t.url}/api/v1/observations`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body,
  });
  expect(again.status).toBe(200);
  expect(await again.json()).toEqual({ inserted: 50, updated: 0 });
});
