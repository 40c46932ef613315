import pg from "pg";
import {
  type CollectContext,
  createCursorHold,
  defineCollector,
  isoDateTime,
  parseDateTime,
  type ReadRecord,
  readObservation,
  rejection,
  SourceError,
  showValue,
  toExternalId,
  toInstant,
  z,
} from "../../src/collect/sdk/index.js";

// A PostgreSQL query: one observation per row (columns observed_at, value, external_id[, weight]
// [, dimensions]), read through a server-side cursor in a read-only transaction so memory stays flat.
// `$1` is bound to the committed cursor (the greatest observed_at stored so far), so each run reads only
// what is new. See README.md.

const REQUIRED_COLUMNS = ["observed_at", "value", "external_id"] as const;
const CURSOR_NAME = "uplift_sql_collector";

export const sqlOptions = z.strictObject({
  /** postgres://user:password@host:5432/database?sslmode=require */
  connectionString: z.string().min(1),
  /** One SELECT; `$1` (optional) is the cursor, a timestamptz, null on the first run without `since`. */
  query: z
    .string()
    .min(1)
    .transform((q) => q.replace(/[\s;]+$/, "").trim())
    .refine((q) => !/\$(?:[2-9]|1\d)/.test(q), "only $1 (the cursor) can be used as a parameter"),
  /** The value of $1 on the first run (instead of null). */
  since: isoDateTime.optional(),
  /** Rows per FETCH. */
  batchSize: z.int().min(1).max(100_000).default(5_000),
  /** statement_timeout of each statement (each FETCH), in milliseconds; 0 = none. */
  statementTimeoutMs: z.int().min(0).default(300_000),
});

export type SqlOptions = z.output<typeof sqlOptions>;

/** `timestamp` and `date` columns carry no zone: read them as UTC (pg's default would use the process's zone). */
function getTypeParser(oid: number, format?: string): any {
  if (format !== "binary") {
    if (oid === 1114) return (s: string) => parseDateTime(`${s}Z`) ?? s;
    if (oid === 1082) return (s: string) => parseDateTime(`${s}T00:00:00Z`) ?? s;
  }
  return pg.types.getTypeParser(oid, format as "text");
}

/** Asks the server to cancel the running statement of backend `pid` (on a second connection). */
async function cancelBackend(connectionString: string, pid: number): Promise<void> {
  const c = new pg.Client({ connectionString, application_name: "uplift-sql-collector-cancel" });
  c.on("error", () => undefined);
  try {
    await c.connect();
    await c.query("SELECT pg_cancel_backend($1)", [pid]);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const COLUMN: Record<string, string> = { externalId: "external_id", observedAt: "observed_at" };

function readRow(row: Record<string, unknown>, n: number): { record: ReadRecord; at: Date | null } {
  const at = toInstant(row.observed_at);
  const d = row.dimensions ?? {};
  if (typeof d !== "object" || Array.isArray(d) || d instanceof Date) {
    return {
      record: rejection(
        `row ${n}: dimensions ${showValue(d)} is not a JSON object`,
        toExternalId(row.external_id),
      ),
      at,
    };
  }
  const record = readObservation(
    {
      externalId: row.external_id,
      value: row.value,
      observedAt: row.observed_at,
      weight: row.weight,
      dimensions: d as Record<string, unknown>,
    },
    {
      source: () => "",
      absent: (v) => (v === null || v === undefined ? "is null" : null),
      prefix: `row ${n}: `,
      name: (field) => COLUMN[field] ?? field,
      idExpected: "a non-empty text or a number",
    },
  );
  return { record, at };
}

async function* collect(ctx: CollectContext<SqlOptions>): AsyncGenerator<ReadRecord> {
  const o = ctx.options;
  const usesCursor = /\$1(?!\d)/.test(o.query);
  const param = ctx.range?.from?.toISOString() ?? ctx.cursor ?? o.since?.toISOString() ?? null;

  const client = new pg.Client({
    connectionString: o.connectionString,
    application_name: "uplift-sql-collector",
    connectionTimeoutMillis: 30_000,
    types: { getTypeParser },
  });
  // A connection lost mid-run surfaces as the failure of the pending query; without a listener the
  // 'error' event would crash the process.
  client.on("error", (e) => ctx.log.warn("sql: connection error", { error: e }));
  let pid: number | null = null;
  let cancelling: Promise<void> | null = null;
  const onAbort = () => {
    if (pid !== null) {
      cancelling = cancelBackend(o.connectionString, pid).catch((e) =>
        ctx.log.warn("sql: could not cancel the query", { error: e }),
      );
    }
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });

  // A record carries its cursor only when the next row's observed_at is later (createCursorHold), so a
  // committed cursor never splits rows sharing one observed_at (safe with `> $1` as well as `>=`).
  let n = 0;
  let previous = 0;
  const hold = createCursorHold((at, before) => {
    throw new SourceError(
      `sql: rows are not in observed_at order: row ${n} (${at}) comes after row ${previous} (${before}); the query must end with ORDER BY observed_at`,
    );
  });
  try {
    ctx.signal.throwIfAborted();
    await client.connect();
    pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    ctx.signal.throwIfAborted();
    await client.query("BEGIN READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${o.statementTimeoutMs}`);
    await client.query("SET LOCAL TimeZone = 'UTC'");
    await client.query(`DECLARE ${CURSOR_NAME} NO SCROLL CURSOR FOR ${o.query}`, usesCursor ? [param] : []);
    for (let batch = 0; ; batch++) {
      ctx.signal.throwIfAborted();
      const res = await client.query<Record<string, unknown>>(
        `FETCH FORWARD ${o.batchSize} FROM ${CURSOR_NAME}`,
      );
      if (batch === 0) {
        const names = res.fields.map((f) => f.name);
        const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
        if (missing.length > 0) {
          throw new SourceError(
            `sql: the query returns no column ${missing.join(", no column ")} (it returns ${names.join(", ") || "no columns"})`,
          );
        }
      }
      for (const row of res.rows) {
        n++;
        const r = readRow(row, n);
        const ready = hold.push(r.record, r.at?.toISOString());
        if (r.at) previous = n;
        if (ready) yield ready;
      }
      if (res.rows.length < o.batchSize) break;
    }
    await client.query("COMMIT");
    // Every row has been read: the latest observed_at is a safe cursor, even on a row that has none.
    const last = hold.finish(true);
    if (last) yield last;
  } catch (e) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? e;
    throw e;
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    if (cancelling) await cancelling;
    await client.end().catch(() => undefined);
  }
}

export const sqlCollector = defineCollector({
  type: "sql",
  description:
    "Reads observations from a PostgreSQL query (observed_at, value, external_id), incrementally by observed_at.",
  options: sqlOptions,
  collect,
});
