import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { EntityManager } from "typeorm";
import { COPY_NULL, copyText } from "./copy-text.js";
import type { ResolvedObservation } from "./observations.js";

// Large batches of the collector runner and recordObservations, written with COPY inside the caller's
// transaction (so a runner's cursor still commits with its rows, and a failure rolls back all of it).
// First an optimistic COPY straight into `observation` under a savepoint: new rows cost what COPY costs,
// with no speculative insertion per row. The first stored externalId (unique violation) rolls that back
// to the savepoint; the batch then goes through a temporary staging table and one INSERT … ON CONFLICT.
// Rows arrive collapsed (one per externalId: the caller keeps the later item), so neither statement can
// meet the same key twice.

const COLUMNS = "project_id, metric_id, observed_at, value, weight, external_id, dimensions, run_id";

/** Per connection, kept across transactions and emptied by every commit; no catalog churn per batch. */
const STAGING = `CREATE TEMP TABLE IF NOT EXISTS observation_staging (
  project_id bigint NOT NULL, metric_id bigint NOT NULL, observed_at timestamptz NOT NULL,
  value float8 NOT NULL, weight float8 NOT NULL, external_id text, dimensions jsonb, run_id bigint
) ON COMMIT DELETE ROWS`;

const MERGE = `WITH up AS (
    INSERT INTO observation (${COLUMNS})
    SELECT ${COLUMNS} FROM observation_staging
    ON CONFLICT (project_id, metric_id, external_id) DO UPDATE SET
      observed_at = EXCLUDED.observed_at, value = EXCLUDED.value, weight = EXCLUDED.weight,
      dimensions = EXCLUDED.dimensions, run_id = EXCLUDED.run_id, recorded_at = clock_timestamp()
    RETURNING (xmax = 0) AS inserted
  )
  SELECT count(*) FILTER (WHERE inserted)::int AS inserted FROM up`;

const UNIQUE_VIOLATION = "23505";

const DAY_MS = 86_400_000;
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));

/**
 * `toISOString()` of the rows' timestamps, cheaper: the date part is formatted once per day (a batch's
 * rows share few days), the time of day from lookup tables. Same text.
 */
function isoFormatter(): (d: Date) => string {
  let day = Number.NaN;
  let prefix = "";
  return (d) => {
    const ms = d.getTime();
    const k = Math.floor(ms / DAY_MS);
    if (k !== day) {
      day = k;
      prefix = new Date(k * DAY_MS).toISOString().slice(0, 11);
    }
    // Years beyond 9999 or before 0 have a longer form: left to toISOString.
    if (prefix.length !== 11 || prefix.charCodeAt(10) !== 84 /* T */) return d.toISOString();
    let t = ms - k * DAY_MS;
    const h = Math.floor(t / 3_600_000);
    t -= h * 3_600_000;
    const mi = Math.floor(t / 60_000);
    t -= mi * 60_000;
    const s = Math.floor(t / 1000);
    return `${prefix}${TWO[h]}:${TWO[mi]}:${TWO[s]}.${THREE[t - s * 1000]}Z`;
  };
}

/** COPY text of the rows (the columns of copy-text.ts, then run_id); one string, ~0.5 MB per 5,000 rows. */
export function copyLines(rows: readonly ResolvedObservation[], runId: string | null): string {
  const tail = `\t${runId ?? COPY_NULL}\n`;
  const iso = isoFormatter();
  let text = "";
  for (const r of rows) {
    text += `${r.projectId}\t${r.metricId}\t${iso(r.observedAt)}\t${r.value}\t${r.weight}\t${
      r.externalId === null ? COPY_NULL : copyText(r.externalId)
    }\t${r.dimensions ? copyText(JSON.stringify(r.dimensions)) : COPY_NULL}${tail}`;
  }
  return text;
}

/** The pg client under a TypeORM transaction's entity manager; null outside a transaction. */
export async function transactionClient(m: EntityManager): Promise<pg.PoolClient | null> {
  const qr = m.queryRunner;
  if (!qr?.isTransactionActive) return null;
  return (await qr.connect()) as pg.PoolClient;
}

async function copyInto(client: pg.PoolClient, sql: string, text: string): Promise<number> {
  const stream = client.query(copyFrom(sql));
  await new Promise<void>((resolve, reject) => {
    stream.on("finish", resolve);
    stream.on("error", reject);
    stream.end(text);
  });
  return stream.rowCount;
}

/**
 * COPY straight into `observation` under a savepoint: the inserted count, or null (rolled back to the
 * savepoint, the transaction still usable) when a row's externalId is already stored.
 */
export async function directCopy(client: pg.PoolClient, text: string): Promise<number | null> {
  await client.query("SAVEPOINT staged_upsert");
  try {
    const n = await copyInto(client, `COPY observation (${COLUMNS}) FROM STDIN`, text);
    await client.query("RELEASE SAVEPOINT staged_upsert");
    return n;
  } catch (e) {
    if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw e;
    await client.query("ROLLBACK TO SAVEPOINT staged_upsert");
    await client.query("RELEASE SAVEPOINT staged_upsert");
    return null;
  }
}

/** COPY into the staging table, then one INSERT … ON CONFLICT into `observation`: the inserted count. */
export async function stagedMerge(client: pg.PoolClient, text: string): Promise<number> {
  await client.query(STAGING);
  // Emptied by every commit; emptied here too in case an earlier batch of this transaction staged rows.
  await client.query("DELETE FROM observation_staging");
  await copyInto(client, `COPY observation_staging (${COLUMNS}) FROM STDIN`, text);
  const {
    rows: [counts],
  } = await client.query<{ inserted: number }>(MERGE);
  return counts!.inserted;
}

/**
 * Writes collapsed rows (no externalId twice) in the client's open transaction; exact counts: inserted are
 * new rows, updated are stored rows overwritten.
 */
export async function stagedUpsert(
  client: pg.PoolClient,
  rows: readonly ResolvedObservation[],
  runId: string | null,
): Promise<{ inserted: number; updated: number }> {
  const text = copyLines(rows, runId);
  const direct = await directCopy(client, text);
  if (direct !== null) return { inserted: direct, updated: 0 };
  const inserted = await stagedMerge(client, text);
  return { inserted, updated: rows.length - inserted };
}
