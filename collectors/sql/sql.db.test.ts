import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceRecord } from "../../src/collect/types.js";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/db.js";
import { contextFor, drive, lastCursor, parseExample } from "../../test/helpers/drive-collector.js";
import { sqlCollector, sqlOptions } from "./index.js";

const here = path.dirname(fileURLToPath(import.meta.url));

let db: TestDatabase;
let admin: pg.Client;

// The source system's table: numeric values (pg returns text), a weight, a tie on 2025-01-02, a NaN, a
// null observed_at and a null id.
const ROWS: [string | null, string | null, string, number | null, string | null][] = [
  ["a", "2025-01-01T00:00:00Z", "1.5", null, '{"team":"emea","n":2}'],
  ["b", "2025-01-02T00:00:00Z", "2", 3, null],
  ["c", "2025-01-02T00:00:00Z", "4.25", null, null],
  ["d", "2025-01-03T12:00:00+02:00", "-1", 1, '{"team":null}'],
  ["e", "2025-01-04T00:00:00Z", "NaN", null, null],
  ["f", null, "5", null, null],
  [null, "2025-01-05T00:00:00Z", "6", null, null],
  ["g", "2025-01-06T00:00:00.123456Z", "7", 0.5, null],
];

const SELECT = `SELECT external_id, observed_at, value, weight, dimensions FROM source_events`;
const INCREMENTAL = `${SELECT} WHERE observed_at >= coalesce($1::timestamptz, '-infinity') ORDER BY observed_at, external_id;`;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client(db.url);
  await admin.connect();
  await admin.query(`CREATE TABLE source_events (
    external_id text, observed_at timestamptz, value numeric, weight double precision, dimensions jsonb,
    local_at timestamp, day date)`);
  await admin.query("CREATE SEQUENCE source_seq");
  for (const r of ROWS) {
    await admin.query(
      "INSERT INTO source_events (external_id, observed_at, value, weight, dimensions) VALUES ($1, $2, $3, $4, $5)",
      r,
    );
  }
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

const view = (records: SourceRecord[]) =>
  records.map((r) => {
    if (r.kind === "rejected") return { rejected: r.reason, id: r.externalId, cursor: r.cursor };
    if (r.kind === "checkpoint") return { checkpoint: r.cursor };
    return {
      id: r.externalId,
      at: r.observedAt.toISOString(),
      value: r.value,
      ...(r.weight !== undefined ? { weight: r.weight } : {}),
      ...(r.dimensions ? { dims: r.dimensions } : {}),
      cursor: r.cursor,
    };
  });

describe("sql options", () => {
  it("applies the defaults and cleans the query", () => {
    const o = sqlOptions.parse({ connectionString: "postgres://x@h/db", query: " SELECT 1 ;; \n" });
    expect(o).toEqual({
      connectionString: "postgres://x@h/db",
      query: "SELECT 1",
      batchSize: 5000,
      statementTimeoutMs: 300_000,
    });
  });

  it("refuses parameters other than $1, bad dates and unknown options", () => {
    const issues = (raw: object) => {
      const r = sqlOptions.safeParse({ connectionString: "postgres://x@h/db", query: "SELECT 1", ...raw });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(issues({ query: "SELECT $1, $2" })).toEqual([
      "query: only $1 (the cursor) can be used as a parameter",
    ]);
    expect(issues({ since: "2025-01-01" })).toEqual([
      'since: expected an ISO-8601 date-time with an offset, got "2025-01-01"',
    ]);
    expect(issues({ batchSize: 0 })).toHaveLength(1);
    expect(issues({ password: "x" })).toHaveLength(1);
    expect(
      sqlOptions.parse({ connectionString: "p", query: "q", since: "2025-01-01T00:00:00+01:00" }).since,
    ).toEqual(new Date("2024-12-31T23:00:00Z"));
  });

  it("accepts its example.yaml", () => {
    const [o] = parseExample(sqlCollector, path.join(here, "example.yaml"), {
      SOURCE_DB_URL: "postgres://u@h/d",
    });
    expect(o!.query).toContain("$1");
  });
});

describe("sql collector", () => {
  it("reads every row in order, rejects bad rows, and puts the cursor where no tie is split", async () => {
    const records = await drive(sqlCollector, {
      connectionString: db.url,
      query: `${SELECT} ORDER BY observed_at, external_id NULLS LAST`,
      batchSize: 2, // the tie b/c straddles two FETCHes
    });
    expect(view(records)).toEqual([
      {
        id: "a",
        at: "2025-01-01T00:00:00.000Z",
        value: 1.5,
        dims: { team: "emea", n: "2" },
        cursor: "2025-01-01T00:00:00.000Z",
      },
      { id: "b", at: "2025-01-02T00:00:00.000Z", value: 2, weight: 3, cursor: undefined },
      { id: "c", at: "2025-01-02T00:00:00.000Z", value: 4.25, cursor: "2025-01-02T00:00:00.000Z" },
      { id: "d", at: "2025-01-03T10:00:00.000Z", value: -1, weight: 1, cursor: "2025-01-03T10:00:00.000Z" },
      { rejected: 'row 5: value "NaN" is not a number', id: "e", cursor: "2025-01-04T00:00:00.000Z" },
      {
        rejected: "row 6: external_id is null",
        id: undefined,
        cursor: "2025-01-05T00:00:00.000Z",
      },
      { id: "g", at: "2025-01-06T00:00:00.123Z", value: 7, weight: 0.5, cursor: undefined },
      // The last row has no observed_at; every row has been read, so it carries the latest one.
      { rejected: "row 8: observed_at is null", id: "f", cursor: "2025-01-06T00:00:00.123Z" },
    ]);
  });

  it("binds $1 to null on the first run, then to the committed cursor", async () => {
    const options = { connectionString: db.url, query: INCREMENTAL, batchSize: 3 };
    const first = await drive(sqlCollector, options);
    const ids = (rs: SourceRecord[]) =>
      rs.map((r) => (r.kind === "checkpoint" ? "-" : (r.externalId ?? "?")));
    expect(ids(first)).toEqual(["a", "b", "c", "d", "e", "?", "g"]);
    const cursor = lastCursor(first);
    expect(cursor).toBe("2025-01-06T00:00:00.123Z");

    // New rows land in the source; the next run starts at the cursor (>=: g again, harmless upsert).
    await admin.query(
      `INSERT INTO source_events (external_id, observed_at, value) VALUES
       ('h', '2025-01-07T00:00:00Z', 8), ('old', '2024-12-01T00:00:00Z', 9)`,
    );
    try {
      const second = await drive(sqlCollector, options, { cursor });
      expect(view(second)).toEqual([
        {
          id: "g",
          at: "2025-01-06T00:00:00.123Z",
          value: 7,
          weight: 0.5,
          cursor: "2025-01-06T00:00:00.123Z",
        },
        { id: "h", at: "2025-01-07T00:00:00.000Z", value: 8, cursor: "2025-01-07T00:00:00.000Z" },
      ]);
      // A cursor in the middle of the tie: both tied rows come again.
      const mid = await drive(sqlCollector, options, { cursor: "2025-01-02T00:00:00.000Z" });
      expect(ids(mid)).toEqual(["b", "c", "d", "e", "?", "g", "h"]);
    } finally {
      await admin.query(`DELETE FROM source_events WHERE external_id IN ('h', 'old')`);
    }
  });

  it("uses since as $1 on the first run only", async () => {
    const options = { connectionString: db.url, query: INCREMENTAL, since: "2025-01-03T00:00:00Z" };
    const ids = (rs: SourceRecord[]) =>
      rs.map((r) => (r.kind === "checkpoint" ? "-" : (r.externalId ?? "?")));
    expect(ids(await drive(sqlCollector, options))).toEqual(["d", "e", "?", "g"]);
    expect(ids(await drive(sqlCollector, options, { cursor: "2025-01-04T00:00:00.000Z" }))).toEqual([
      "e",
      "?",
      "g",
    ]);
  });

  it("throws when rows go backwards in observed_at, after yielding the rows before", async () => {
    const got: SourceRecord[] = [];
    const ctx = contextFor(sqlCollector, {
      connectionString: db.url,
      query: `${SELECT} WHERE observed_at IS NOT NULL ORDER BY external_id DESC NULLS LAST`,
    });
    await expect(
      (async () => {
        for await (const r of sqlCollector.collect(ctx)) got.push(r);
      })(),
    ).rejects.toThrow(
      "sql: rows are not in observed_at order: row 2 (2025-01-04T00:00:00.000Z) comes after row 1 (2025-01-06T00:00:00.123Z); the query must end with ORDER BY observed_at",
    );
    // Row 1 was held back (its successor was unknown) and is not yielded: nothing past the fault moves the cursor.
    expect(got).toEqual([]);
  });

  it("throws naming the columns the query lacks", async () => {
    await expect(
      drive(sqlCollector, {
        connectionString: db.url,
        query: "SELECT observed_at AS at, value FROM source_events",
      }),
    ).rejects.toThrow(
      "sql: the query returns no column observed_at, no column external_id (it returns at, value)",
    );
  });

  it("reads timestamp and date columns as UTC whatever the process's time zone", async () => {
    const tz = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      const at = async (expr: string) => {
        const records = await drive(sqlCollector, {
          connectionString: db.url,
          query: `SELECT 'x' AS external_id, ${expr} AS observed_at, 1 AS value`,
        });
        return (view(records)[0] as { at: string }).at;
      };
      expect(new Date(2025, 5, 1).getTimezoneOffset()).toBe(240); // the zone change took effect
      expect(await at("'2025-06-01 10:00:00.5'::timestamp")).toBe("2025-06-01T10:00:00.500Z");
      expect(await at("'2025-06-02'::date")).toBe("2025-06-02T00:00:00.000Z");
      expect(await at("'2025-06-01 10:00:00+02'::timestamptz")).toBe("2025-06-01T08:00:00.000Z");
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it("runs read-only", async () => {
    await expect(
      drive(sqlCollector, {
        connectionString: db.url,
        query: "SELECT 'x' AS external_id, now() AS observed_at, nextval('source_seq') AS value",
      }),
    ).rejects.toThrow(/cannot execute nextval\(\) in a read-only transaction/);
  });

  it("streams: the first rows arrive before the query has finished", async () => {
    const t0 = Date.now();
    let firstAt = 0;
    const ids: string[] = [];
    for await (const r of sqlCollector.collect(
      contextFor(sqlCollector, {
        connectionString: db.url,
        batchSize: 2,
        // Rows 3 and 4 take a second each to produce; rows 1 and 2 are free.
        query: `SELECT g::text AS external_id, timestamptz '2025-01-01' + g * interval '1 day' AS observed_at, g AS value
                FROM generate_series(1, 4) g WHERE g < 3 OR pg_sleep(1) IS NOT NULL`,
      }),
    )) {
      if (!firstAt) firstAt = Date.now();
      ids.push((r as { externalId: string }).externalId);
    }
    const total = Date.now() - t0;
    expect(ids).toEqual(["1", "2", "3", "4"]);
    expect(total).toBeGreaterThanOrEqual(2000);
    expect(total - (firstAt - t0)).toBeGreaterThanOrEqual(1500);
  });

  it("gives up at statement_timeout", async () => {
    await expect(
      drive(sqlCollector, {
        connectionString: db.url,
        statementTimeoutMs: 200,
        query: "SELECT 'x' AS external_id, now() AS observed_at, 1 AS value FROM pg_sleep(5)",
      }),
    ).rejects.toThrow(/statement timeout/);
  });

  it("cancels the running query and closes the connection on abort", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(new Error("run cancelled")), 500);
    await expect(
      drive(
        sqlCollector,
        {
          connectionString: db.url,
          query: "SELECT 'x' AS external_id, now() AS observed_at, 1 AS value FROM pg_sleep(30)",
        },
        { signal: ac.signal },
      ),
    ).rejects.toThrow("run cancelled");
    expect(Date.now() - t0).toBeLessThan(10_000);
    // The backend is gone (it may take a moment to exit after the connection closes).
    let left: unknown[] = [];
    for (let i = 0; i < 50; i++) {
      left = (
        await admin.query(
          `SELECT pid, state, query FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'uplift-sql-collector'`,
        )
      ).rows;
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toEqual([]);
  });
});
