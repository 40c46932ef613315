import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { registry } from "../../collectors/index.js";
import { type App, startApp } from "../../src/app.js";
import { readEnv } from "../../src/config/env.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createLogger } from "../../src/log.js";
import { writeConfig } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { gqlAt, spawnUplift } from "../helpers/process.js";
import { subscribe } from "../helpers/subscriber.js";

// Across processes and through a database restart: LISTEN/NOTIFY carries every change to every replica.

const CONFIG = `
metrics:
  - { key: m, name: M, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: p, name: P, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: m }] }
`;
const SUB = `subscription { kpiUpdated(projectSlug: "p") { current { value count } } }`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;
const one = (value: number, id: string) => ({
  in: [{ projectSlug: "p", metricKey: "m", observedAt: "2025-04-01T00:00:00Z", value, externalId: id }],
});

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe("live updates across replicas", () => {
  it("a subscriber on one process sees a change recorded through another", async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.drop());
    const file = writeConfig(CONFIG);
    const a = spawnUplift({ DATABASE_URL: db.url, UPLIFT_CONFIG: file });
    const b = spawnUplift({ DATABASE_URL: db.url, UPLIFT_CONFIG: file });
    cleanups.push(async () => {
      a.child.kill("SIGTERM");
      b.child.kill("SIGTERM");
      await Promise.all([a.exited, b.exited]);
    });
    const [portA, portB] = await Promise.all([a.ready, b.ready]);
    const sub = await subscribe(`http://127.0.0.1:${portA}`, SUB);
    const res = await gqlAt(portB, RECORD, one(7, "x1"));
    expect(res.data.recordObservations.inserted).toBe(1);
    // Process A registers the subscription a little after it connected, and this test cannot see when:
    // until the first event arrives, record the same observation again (an idempotent update that
    // notifies again), each time after a short wait for the event.
    let event: any;
    for (let i = 0; !event && i < 120; i++) {
      await sub.waitFor(1, 500).catch(() => null);
      event = sub.events[0];
      if (!event) expect((await gqlAt(portB, RECORD, one(7, "x1"))).data).toBeTruthy();
    }
    expect(event.data.kpiUpdated.current).toEqual({ value: 7, count: 1 });
    await sub.stop();
  });

  it("the listener reconnects after the database restarts, and subscribers then get the current figures", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-restart-"));
    fs.chmodSync(dir, 0o755);
    let pg: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: dir });
    cleanups.push(() => pg.stop());
    const env = readEnv({
      DATABASE_URL: pg.url,
      PORT: "0",
      UPLIFT_CONFIG: writeConfig(CONFIG),
      UPLIFT_SCHEDULER: "off",
    });
    const app: App = await startApp(env, createLogger({ test: true }), { registry });
    cleanups.push(() => app.stop());
    const sub = await subscribe(app.url, SUB, undefined, app.events);
    await gqlAt(app.port, RECORD, one(5, "before-restart"));
    await sub.waitFor(1);

    await pg.stop();
    pg = await startEmbeddedPostgres({ dataDir: dir, port: pg.port });
    await waitUntil(() => app.events.listening, 60_000);
    // Changes may have been missed while the connection was down: every subscribed KPI is pushed again.
    const [, resync] = await sub.waitFor(2, 60_000);
    expect(resync.data.kpiUpdated.current).toEqual({ value: 5, count: 1 });

    // And new changes arrive again (the pool may need a retry for its first query after the restart).
    await waitUntil(
      async () => (await gqlAt(app.port, RECORD, one(9, "after-restart")).catch(() => null))?.data != null,
      60_000,
    );
    const events = await sub.waitFor(3, 60_000);
    expect(events[2].data.kpiUpdated.current).toEqual({ value: 7, count: 2 });
    await sub.stop();
  });
});

async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not met in time");
}
