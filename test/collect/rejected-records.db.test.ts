import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createRegistry, defineCollector, type SourceRecord } from "../../src/collect/types.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Records the store cannot hold never fail a run nor a batch: each is counted in `rejected` with a
// reason in the run's log, and the rest of its batch is stored. Skipped records are counted apart.

const at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 60_000);
const good = (i: number): SourceRecord => ({ externalId: `ok${i}`, observedAt: at(i), value: i });

/** The bad records, each with the reason the run's log must give for it (worked out from the rules). */
const BAD: [SourceRecord, RegExp][] = [
  [{ externalId: "nul-id\u0000x", observedAt: at(1), value: 1 }, /^externalId: must not contain NUL/],
  [
    { externalId: "nul-dim", observedAt: at(1), value: 1, dimensions: { team: "a\u0000b" } },
    /^dimensions\.team: must not contain NUL/,
  ],
  [{ externalId: "nan", observedAt: at(1), value: Number.NaN }, /^value: must be a finite number/],
  [
    { externalId: "inf", observedAt: at(1), value: Number.POSITIVE_INFINITY },
    /^value: must be a finite number/,
  ],
  [{ externalId: "huge", observedAt: at(1), value: 2e15 }, /^value: must be within ±1e15/],
  [
    { externalId: "x".repeat(10_000), observedAt: at(1), value: 1 },
    /^externalId: must be at most \d+ characters/,
  ],
  [
    { externalId: "dim-number", observedAt: at(1), value: 1, dimensions: { n: 7 as unknown as string } },
    /^dimensions\.n: must be a string/,
  ],
  [
    {
      externalId: "dims-many",
      observedAt: at(1),
      value: 1,
      dimensions: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "v"])),
    },
    /^dimensions: must have at most \d+ keys/,
  ],
];

const source = defineCollector({
  type: "mixed",
  description: "good records, bad records and skipped ones in one batch",
  options: z.strictObject({}),
  async *collect(ctx) {
    yield good(1);
    for (const [rec] of BAD) yield rec;
    ctx.skip(3);
    yield good(2);
    yield { kind: "checkpoint", cursor: "done" };
  },
});

const CONFIG = `
metrics:
  - { key: m, name: M, unit: u, direction: LOWER_IS_BETTER }
projects:
  - { slug: p, name: P, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: m }] }
collectors:
  - { name: mixed, type: mixed, schedule: "0 * * * *", project: p, metric: m }
`;

let t: TestApp;
let sql: pg.Client;
beforeAll(async () => {
  t = await startTestApp({ config: CONFIG, registry: createRegistry([source]) });
  sql = new pg.Client(t.db.url);
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

describe("records the store cannot hold", () => {
  it("are rejected one by one with a reason; the run succeeds and stores the rest of the batch", async () => {
    const res = await t.gql(
      `mutation { runCollector(name: "mixed") { status observations rejected skipped error } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.runCollector).toEqual({
      status: "SUCCEEDED",
      observations: 2,
      rejected: BAD.length,
      skipped: 3,
      error: null,
    });
    const stored = await sql.query("SELECT external_id FROM observation ORDER BY external_id");
    expect(stored.rows.map((r) => r.external_id)).toEqual(["ok1", "ok2"]);
    const [{ log }] = (await sql.query("SELECT log FROM collector_run WHERE instance = 'mixed'")).rows;
    expect(log).toHaveLength(BAD.length);
    for (const [i, [, reason]] of BAD.entries()) expect(log[i].reason).toMatch(reason);
    // The too-long and NUL ids are not copied into the log; the others are.
    expect(log.map((l: { externalId?: string }) => l.externalId)).toEqual([
      undefined,
      "nul-dim",
      "nan",
      "inf",
      "huge",
      undefined,
      "dim-number",
      "dims-many",
    ]);
    const cursor = await sql.query("SELECT cursor FROM collector_cursor WHERE instance = 'mixed'");
    expect(cursor.rows[0].cursor).toBe("done");
  });
});
