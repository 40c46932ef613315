import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// The statement timeout of the API's pool, and /readyz on its own connection. A table lock held by a
// second connection makes queries wait for as long as the test wants, without depending on timing.
const started: TestApp[] = [];
const clients: pg.Client[] = [];
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  for (const t of started) await t.stop();
});

async function lockProjects(url: string): Promise<pg.Client> {
  const c = new pg.Client(url);
  await c.connect();
  clients.push(c);
  await c.query("BEGIN");
  await c.query("LOCK TABLE project IN ACCESS EXCLUSIVE MODE");
  return c;
}

/** Resolves once `n` connections of the app wait on a lock (pg_stat_activity). */
async function waitForLockWaiters(admin: pg.Client, db: string, n: number) {
  for (;;) {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND application_name = 'uplift' AND wait_event_type = 'Lock'`,
      [db],
    );
    if (rows[0].n >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const gql = (t: TestApp, query: string) =>
  fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe("UPLIFT_STATEMENT_TIMEOUT_MS", () => {
  it("cancels a request's statement that runs past it, with a message naming the setting and no SQL", async () => {
    const t = await startTestApp({ env: { UPLIFT_STATEMENT_TIMEOUT_MS: "300" } });
    started.push(t);
    const lock = await lockProjects(t.db.url);
    const res = await gql(t, "{ projects { slug } }"); // waits for the lock until the timeout cancels it
    await lock.query("ROLLBACK");
    expect(res.body.errors[0].extensions.code).toBe("INTERNAL_SERVER_ERROR");
    expect(res.body.errors[0].message).toContain("UPLIFT_STATEMENT_TIMEOUT_MS");
    expect(JSON.stringify(res.body)).not.toMatch(/SELECT|canceling statement/i);
    // The pool is healthy afterwards.
    expect((await gql(t, "{ projects { slug } }")).body).toEqual({ data: { projects: [] } });
  });
});

describe("/readyz", () => {
  it("stays ready while every connection of the pool is busy", async () => {
    const t = await startTestApp({ env: { UPLIFT_DB_POOL_SIZE: "2", UPLIFT_STATEMENT_TIMEOUT_MS: "0" } });
    started.push(t);
    const lock = await lockProjects(t.db.url);
    const admin = new pg.Client(t.db.url);
    await admin.connect();
    clients.push(admin);
    // Two requests hold both pooled connections, waiting on the lock.
    const busy = [gql(t, "{ projects { slug } }"), gql(t, "{ projects { name } }")];
    await waitForLockWaiters(admin, t.db.name, 2);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
    await lock.query("ROLLBACK");
    for (const r of await Promise.all(busy)) expect(r.body.errors).toBeUndefined();
  });

  it("answers 503 when migrations are missing, from its own connection", async () => {
    const t = await startTestApp();
    started.push(t);
    const admin = new pg.Client(t.db.url);
    await admin.connect();
    clients.push(admin);
    const { rows } = await admin.query("SELECT name FROM migrations ORDER BY id DESC LIMIT 1");
    await admin.query("DELETE FROM migrations WHERE name = $1", [rows[0].name]);
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "unavailable", reason: "migrations pending" });
    await admin.query("INSERT INTO migrations (timestamp, name) VALUES ($1, $2)", [
      Number(rows[0].name.slice(-13)),
      rows[0].name,
    ]);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  });
});
