import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ownerId } from "../../src/collect/runs.js";
import { CollectorService } from "../../src/collect/service.js";
import { createRegistry, defineCollector, type SourceRecord } from "../../src/collect/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// The runner and scheduler with a scripted source: what each run stores, counts and commits.

/** The source's behaviour, set per test: records to emit, where to fail, how long to wait. */
const script = {
  records: [] as SourceRecord[],
  failAfter: null as number | null,
  delayMs: 0,
  seenCursor: [] as (string | null)[],
  gate: null as Promise<void> | null,
  /** After this many records the source hangs until the run is stopped (time limit, shutdown). */
  hangAfter: null as number | null,
};

function obs(i: number, extra: Partial<Record<string, unknown>> = {}): SourceRecord {
  return {
    externalId: `r${i}`,
    observedAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000),
    value: i,
    cursor: String(i).padStart(6, "0"),
    ...extra,
  } as SourceRecord;
}

const scripted = defineCollector({
  type: "scripted",
  description: "emits the records the test scripted",
  options: z.strictObject({}),
  async *collect(ctx) {
    script.seenCursor.push(ctx.cursor);
    const after =
      ctx.cursor === null
        ? -1
        : script.records.findIndex((r) => (r as { cursor?: string }).cursor! > ctx.cursor!);
    const start = ctx.cursor === null ? 0 : after < 0 ? script.records.length : after;
    for (let i = start; i < script.records.length; i++) {
      if (script.failAfter !== null && i >= script.failAfter)
        throw new Error("source exploded (HTTP 500 after retries)");
      if (script.gate) await script.gate;
      if (script.hangAfter !== null && i >= script.hangAfter && !ctx.signal.aborted)
        await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
      if (script.delayMs) await new Promise((r) => setTimeout(r, script.delayMs));
      if (ctx.signal.aborted) return;
      yield script.records[i];
    }
  },
});

const CONFIG = `
metrics:
  - { key: m, name: M, unit: u, direction: LOWER_IS_BETTER }
projects:
  - { slug: p, name: P, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: m }] }
collectors:
  - { name: src, type: scripted, schedule: "0 * * * *", project: p, metric: m }
`;

let t: TestApp;
let sql: pg.Client;
beforeAll(async () => {
  t = await startTestApp({
    config: CONFIG,
    registry: createRegistry([scripted]),
    collectorOptions: {
      leaseMs: 2000,
      answerWithinMs: 5000,
      run: { batchSize: 10, flushMs: 60_000, heartbeatMs: 200 },
    },
  });
  sql = new pg.Client(t.db.url);
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});
beforeEach(async () => {
  await sql.query("TRUNCATE observation, observation_activity, collector_run, collector_cursor");
  Object.assign(script, {
    records: [],
    failAfter: null,
    delayMs: 0,
    seenCursor: [],
    gate: null,
    hangAfter: null,
  });
});

const RUN = `mutation { runCollector(name: "src") { id collector status scheduledFor observations rejected error } }`;
const count = async () => Number((await sql.query("SELECT count(*) FROM observation")).rows[0].count);
const cursor = async () =>
  (await sql.query("SELECT cursor FROM collector_cursor WHERE instance = 'src'")).rows[0]?.cursor ?? null;

describe("a collector run", () => {
  it("stores every record once, counts them, and commits the cursor of the last one", async () => {
    script.records = Array.from({ length: 25 }, (_, i) => obs(i));
    const res = await t.gql(RUN);
    expect(res.body.data.runCollector).toMatchObject({
      status: "SUCCEEDED",
      observations: 25,
      rejected: 0,
      scheduledFor: null,
      error: null,
    });
    expect(await count()).toBe(25);
    expect(await cursor()).toBe("000024");
    // Again: the collector resumes after the cursor and stores nothing new.
    const again = await t.gql(RUN);
    expect(again.body.data.runCollector).toMatchObject({ status: "SUCCEEDED", observations: 0 });
    expect(script.seenCursor).toEqual([null, "000024"]);
    expect(await count()).toBe(25);
  });

  it("counts records it cannot store as rejected, with reasons in the run's log, and goes on", async () => {
    script.records = [
      obs(0),
      obs(1, { value: Number.NaN }),
      obs(2, { externalId: "" }),
      obs(3, { observedAt: new Date(Date.now() + 3 * 86_400_000) }),
      { kind: "rejected", reason: "resolved_at is not a date: 'yesterday'", externalId: "INC9" },
      obs(5, { weight: 0 }),
      obs(6),
    ];
    const res = await t.gql(RUN);
    expect(res.body.data.runCollector).toMatchObject({ status: "SUCCEEDED", observations: 2, rejected: 5 });
    const log = (await sql.query("SELECT log FROM collector_run")).rows[0].log as { reason: string }[];
    expect(log.map((l) => l.reason)).toEqual([
      "value: must be a finite number",
      "externalId: is required",
      "observedAt: must not be more than 24 hours in the future",
      "resolved_at is not a date: 'yesterday'",
      "weight: must be > 0 and ≤ 1e9",
    ]);
  });

  it("a failed run keeps the batches it committed, never moves the cursor past them, and the next run resumes there", async () => {
    script.records = Array.from({ length: 35 }, (_, i) => obs(i));
    script.failAfter = 25; // batches of 10: 0–9 and 10–19 committed, 20–24 read but not committed
    const failed = await t.gql(RUN);
    expect(failed.body.data.runCollector).toMatchObject({ status: "FAILED", observations: 20 });
    expect(failed.body.data.runCollector.error).toContain("source exploded");
    expect(await count()).toBe(20);
    expect(await cursor()).toBe("000019");

    script.failAfter = null;
    const next = await t.gql(RUN);
    expect(next.body.data.runCollector).toMatchObject({ status: "SUCCEEDED", observations: 15 });
    expect(script.seenCursor).toEqual([null, "000019"]);
    const ids = (await sql.query("SELECT external_id FROM observation ORDER BY value")).rows.map(
      (r) => r.external_id,
    );
    expect(ids).toEqual(Array.from({ length: 35 }, (_, i) => `r${i}`)); // no gap, no duplicate
  });

  it("a batch the database refuses while the next one is read fails the run; nothing after it is stored", async () => {
    // The runner commits one batch while it reads the next: the refusal surfaces at the next commit.
    await sql.query(`CREATE FUNCTION refuse_15() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.value = 15 THEN RAISE EXCEPTION 'disk full (test)'; END IF; RETURN NEW; END $$`);
    await sql.query(
      `CREATE TRIGGER refuse_15 BEFORE INSERT ON observation FOR EACH ROW EXECUTE FUNCTION refuse_15()`,
    );
    try {
      script.records = Array.from({ length: 35 }, (_, i) => obs(i));
      const failed = await t.gql(RUN);
      expect(failed.body.data.runCollector).toMatchObject({ status: "FAILED", observations: 10 });
      expect(failed.body.data.runCollector.error).toContain("disk full (test)");
      expect(await count()).toBe(10);
      expect(await cursor()).toBe("000009");
    } finally {
      await sql.query("DROP TRIGGER refuse_15 ON observation; DROP FUNCTION refuse_15()");
    }
    const next = await t.gql(RUN);
    expect(next.body.data.runCollector).toMatchObject({ status: "SUCCEEDED", observations: 25 });
    expect(script.seenCursor).toEqual([null, "000009"]);
    const values = (await sql.query("SELECT value FROM observation ORDER BY value")).rows.map((r) => r.value);
    expect(values).toEqual(Array.from({ length: 35 }, (_, i) => i));
  });

  it("a run that fails before its first commit leaves the cursor where it was", async () => {
    await sql.query(`INSERT INTO collector_cursor (instance, cursor) VALUES ('src', '000003')`);
    script.records = Array.from({ length: 12 }, (_, i) => obs(i));
    script.failAfter = 8;
    const res = await t.gql(RUN);
    expect(res.body.data.runCollector.status).toBe("FAILED");
    expect(await cursor()).toBe("000003");
    expect(await count()).toBe(0);
  });

  it("answers NOT_FOUND for an unknown instance and CONFLICT while a run is going", async () => {
    const unknown = await t.gql(`mutation { runCollector(name: "nope") { id } }`);
    expect(unknown.body.errors?.[0].extensions.code).toBe("NOT_FOUND");
    let open!: () => void;
    script.gate = new Promise((r) => {
      open = r;
    });
    script.records = [obs(0)];
    const first = t.gql(RUN);
    await waitFor(
      async () => (await sql.query("SELECT 1 FROM collector_run WHERE status = 'RUNNING'")).rowCount === 1,
    );
    const second = await t.gql(RUN);
    expect(second.body.errors?.[0].extensions.code).toBe("CONFLICT");
    open();
    expect((await first).body.data.runCollector.status).toBe("SUCCEEDED");
  });

  it("answers with the RUNNING run when it takes longer than the wait, and lists runs newest first", async () => {
    script.records = Array.from({ length: 3 }, (_, i) => obs(i));
    let open!: () => void;
    script.gate = new Promise((r) => {
      open = r;
    });
    const svc = t.app.collectors as CollectorService;
    const short = new CollectorService((svc as unknown as { deps: never }).deps, svc.instances, {
      answerWithinMs: 100,
    });
    const answer = await short.runNow("src");
    expect(answer.status).toBe("RUNNING");
    open();
    await waitFor(
      async () => (await sql.query("SELECT 1 FROM collector_run WHERE status = 'SUCCEEDED'")).rowCount === 1,
    );
    await t.gql(RUN);
    const runs = await t.gql(
      `{ collectorRuns(collector: "src", limit: 5) { id status } collectors { name lastRun { id } nextRunAt } }`,
    );
    const ids = runs.body.data.collectorRuns.map((r: { id: string }) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(runs.body.data.collectors[0].lastRun.id).toBe(String(ids[0]));
    expect(runs.body.data.collectors[0].nextRunAt).toBeNull(); // the scheduler is off in this app
    await short.stop();
  });
});

describe("claims and leases", () => {
  it("closes a RUNNING run whose heartbeat stopped, as FAILED with an error that says so", async () => {
    await sql.query(
      `INSERT INTO collector_run (instance, status, owner, heartbeat_at) VALUES ('src', 'RUNNING', 'elsewhere:1:x', now() - interval '1 hour')`,
    );
    script.records = [obs(0)];
    const res = await t.gql(RUN);
    expect(res.body.data.runCollector.status).toBe("SUCCEEDED");
    const dead = (await sql.query("SELECT status, error FROM collector_run WHERE owner = 'elsewhere:1:x'"))
      .rows[0];
    expect(dead.status).toBe("FAILED");
    expect(dead.error).toMatch(/process running it stopped/);
  });

  it("a run whose claim is taken over stops writing", async () => {
    script.records = Array.from({ length: 40 }, (_, i) => obs(i));
    script.delayMs = 20;
    const svc = t.app.collectors as CollectorService;
    const { row, done } = await svc.startManual("src");
    await waitFor(async () => (await count()) >= 10);
    // Another process decided this run was dead and closed it.
    await sql.query(`UPDATE collector_run SET status = 'FAILED', error = 'reaped' WHERE id = $1`, [row.id]);
    const before = await count();
    await done;
    expect(await count()).toBeLessThanOrEqual(before + 0);
    expect(
      (await sql.query("SELECT status, error FROM collector_run WHERE id = $1", [row.id])).rows[0],
    ).toEqual({ status: "FAILED", error: "reaped" });
  });

  it("two processes handling the same scheduled time run it once", async () => {
    script.records = [obs(0), obs(1)];
    const svc = t.app.collectors as CollectorService;
    const deps = (svc as unknown as { deps: { ds: never; log: never; events: never } }).deps;
    const a = new CollectorService({ ...deps, owner: ownerId() }, svc.instances);
    const b = new CollectorService({ ...deps, owner: ownerId() }, svc.instances);
    const when = new Date("2026-01-01T10:00:00Z");
    const results = await Promise.all([
      a.onScheduledTime(svc.instances[0], when),
      b.onScheduledTime(svc.instances[0], when),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    await waitFor(
      async () => (await sql.query("SELECT 1 FROM collector_run WHERE status = 'RUNNING'")).rowCount === 0,
    );
    const rows = (await sql.query("SELECT scheduled_for, status FROM collector_run")).rows;
    expect(rows).toEqual([{ scheduled_for: when, status: "SUCCEEDED" }]);
    await a.stop();
    await b.stop();
  });

  it("a scheduled time that arrives while the previous run is going gets one SKIPPED run", async () => {
    let open!: () => void;
    script.gate = new Promise((r) => {
      open = r;
    });
    script.records = [obs(0)];
    const svc = t.app.collectors as CollectorService;
    const inst = svc.instances[0];
    await svc.onScheduledTime(inst, new Date("2026-01-01T10:00:00Z"));
    const skipped = await svc.onScheduledTime(inst, new Date("2026-01-01T11:00:00Z"));
    expect(skipped?.status).toBe("SKIPPED");
    expect(await svc.onScheduledTime(inst, new Date("2026-01-01T11:00:00Z"))).toBeNull(); // once only
    open();
    await waitFor(
      async () => (await sql.query("SELECT 1 FROM collector_run WHERE status = 'RUNNING'")).rowCount === 0,
    );
    const rows = (await sql.query("SELECT scheduled_for, status FROM collector_run ORDER BY scheduled_for"))
      .rows;
    expect(rows.map((r) => r.status)).toEqual(["SUCCEEDED", "SKIPPED"]);
  });

  it("an overdue instance runs once at start, for the latest missed time; one that never ran waits", async () => {
    script.records = [obs(0)];
    const svc = t.app.collectors as CollectorService;
    const deps = (svc as unknown as { deps: { ds: never; log: never; events: never } }).deps;
    // A fixed clock: the real one may cross an hour between the test's reading and the scheduler's.
    // Half past the previous hour: in the past, so the real cron task (it fires at real hours) adds no
    // run up to it.
    const NOW = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 30 * 60_000);
    const now = () => NOW;
    const fresh = new CollectorService({ ...deps, owner: ownerId() }, svc.instances, { now });
    await fresh.startScheduler();
    await fresh.stop();
    expect((await sql.query("SELECT count(*) FROM collector_run")).rows[0].count).toBe("0");

    // It last ran five hours ago on an hourly schedule: four or five times were missed.
    const fiveHoursAgo = new Date(NOW.getTime() - 30 * 60_000 - 5 * 3_600_000);
    await sql.query(
      `INSERT INTO collector_run (instance, scheduled_for, status, started_at, finished_at) VALUES ('src', $1, 'SUCCEEDED', $1, $1)`,
      [fiveHoursAgo],
    );
    const again = new CollectorService({ ...deps, owner: ownerId() }, svc.instances, { now });
    await again.startScheduler();
    await waitFor(
      async () => (await sql.query("SELECT 1 FROM collector_run WHERE status = 'RUNNING'")).rowCount === 0,
    );
    await again.stop();
    const latestHour = new Date(NOW.getTime() - 30 * 60_000); // the hour NOW is in
    // Up to NOW: the real cron task may fire at a real hour while the test runs.
    const runs = (
      await sql.query(
        "SELECT scheduled_for FROM collector_run WHERE scheduled_for > $1 AND scheduled_for <= $2",
        [fiveHoursAgo, NOW],
      )
    ).rows;
    expect(runs).toEqual([{ scheduled_for: latestHour }]);
  });

  it("a run that exceeds its time limit fails and says so, keeping the batches it committed", async () => {
    // One batch of 5, then the source hangs. The test fires the time limit itself once that batch is
    // committed, so a slow machine cannot move the limit before or after it.
    script.records = Array.from({ length: 50 }, (_, i) => obs(i));
    script.hangAfter = 5;
    let expire: (() => void) | null = null;
    let limitMs = 0;
    let cancelled = false;
    const svc = t.app.collectors as CollectorService;
    const deps = (svc as unknown as { deps: never }).deps;
    const limited = new CollectorService(deps, svc.instances, {
      run: {
        timeLimitMs: 90_000,
        batchSize: 5,
        startTimeLimit: (fn, ms) => {
          expire = fn;
          limitMs = ms;
          return () => {
            cancelled = true;
          };
        },
      },
    });
    const { done } = await limited.startManual("src");
    await waitFor(async () => (await count()) >= 5);
    expect(limitMs).toBe(90_000);
    expire!();
    const run = await done;
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe("time limit of 90 s exceeded");
    expect(run.observations).toBe(5); // the batch committed before the limit is kept
    expect(await count()).toBe(5);
    expect(cancelled).toBe(true); // the timer is cleared when the run ends
    await limited.stop();
  });

  it("shutdown cancels a running run: it ends FAILED and keeps what it committed", async () => {
    script.records = Array.from({ length: 100 }, (_, i) => obs(i));
    script.hangAfter = 5; // one batch, then the source hangs until the run is stopped
    const svc = t.app.collectors as CollectorService;
    const deps = (svc as unknown as { deps: never }).deps;
    const s = new CollectorService(deps, svc.instances, { run: { batchSize: 5 } });
    const { done } = await s.startManual("src");
    await waitFor(async () => (await count()) >= 5);
    await s.stop();
    const run = await done;
    expect(run.status).toBe("FAILED");
    expect(run.error).toContain("shutting down");
    expect(run.observations).toBe(5);
    expect(await count()).toBe(5);
  });
});

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not met in time");
}
