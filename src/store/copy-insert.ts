import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

// Writing a chunk of observations given as COPY text (observationCopyFields lines): straight into
// `observation` with COPY while the rows are new (no staging table, no ON CONFLICT: as cheap as a plain
// COPY), else into a temporary staging table and one INSERT … ON CONFLICT. Used by bulk ingest; any writer
// holding COPY text inside a transaction can use it (bulk ingest; large batches of recordObservations and
// of the collector runner, whose lines carry a run_id column too: staged-upsert.ts).

const COLUMNS = "project_id, metric_id, observed_at, value, weight, external_id, dimensions, run_id";
/** The columns of COPY text lines without run_id (stored as NULL: not written by a collector run). */
const COLUMNS_NO_RUN = "project_id, metric_id, observed_at, value, weight, external_id, dimensions";

/**
 * Per connection, kept across transactions and emptied by every commit: no catalog churn per batch.
 * `seq` numbers the staged rows in COPY order, so that a later line with the same externalId wins.
 */
const STAGING = `CREATE TEMP TABLE IF NOT EXISTS observation_copy_staging (
  seq bigint GENERATED ALWAYS AS IDENTITY, project_id bigint NOT NULL, metric_id bigint NOT NULL,
  observed_at timestamptz NOT NULL, value float8 NOT NULL, weight float8 NOT NULL, external_id text,
  dimensions jsonb, run_id bigint
) ON COMMIT DELETE ROWS`;

const UPSERT = (source: string) => `WITH up AS (
    INSERT INTO observation (${COLUMNS})
    ${source}
    ON CONFLICT (project_id, metric_id, external_id) DO UPDATE SET
      observed_at = EXCLUDED.observed_at, value = EXCLUDED.value, weight = EXCLUDED.weight,
      dimensions = EXCLUDED.dimensions, run_id = EXCLUDED.run_id, recorded_at = clock_timestamp()
    RETURNING (xmax = 0) AS inserted
  )
  SELECT count(*) FILTER (WHERE inserted) AS inserted FROM up`;

/** Every staged row as it is: right when no externalId repeats within the chunk. */
const MERGE_ALL = UPSERT(`SELECT ${COLUMNS} FROM observation_copy_staging`);

/** A later row with the same externalId wins (as within a recordObservations batch). */
const MERGE_LATEST = UPSERT(`SELECT ${COLUMNS} FROM (
      SELECT DISTINCT ON (project_id, metric_id, external_id) *
      FROM observation_copy_staging WHERE external_id IS NOT NULL
      ORDER BY project_id, metric_id, external_id, seq DESC
    ) latest
    UNION ALL
    SELECT ${COLUMNS} FROM observation_copy_staging WHERE external_id IS NULL`);

const UNIQUE_VIOLATION = "23505";
/** Savepoints per transaction at most (PostgreSQL caches 64 subtransactions per backend). */
const SUBTRANSACTIONS = 48;
/** PostgreSQL's "ON CONFLICT DO UPDATE command cannot affect row a second time". */
const CARDINALITY_VIOLATION = "21000";

/** Runs one COPY … FROM STDIN with the given text; resolves with the number of rows copied. */
export function copyIn(client: pg.ClientBase, sql: string, text: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.on("finish", () => resolve(stream.rowCount));
    stream.on("error", reject);
    stream.end(text);
  });
}

export interface ChunkCounts {
  inserted: number;
  /** Rows that replaced a stored row or an earlier row of the same chunk. */
  updated: number;
}

/**
 * Writes chunks of observation rows (COPY text, one line per row, columns as observationCopyFields) into
 * `observation`, on a client that holds an open transaction; chunks must come in line order. The first
 * chunk is tried with a direct COPY under a savepoint; a unique violation (an externalId already stored)
 * rolls that back and the chunk goes through staging. The next chunk goes direct again only if the last
 * merge inserted every row (a body that is new again), so a body of updates pays for one failed COPY.
 * Each direct chunk (and each merge whose repeats are unknown) takes a subtransaction; past
 * SUBTRANSACTIONS the inserter uses staging and the de-duplicating merge only, so that the transaction
 * stays within the 64 subtransactions PostgreSQL caches per backend (beyond, every other session's
 * snapshots get slower while it runs).
 */
export class ObservationCopyInserter {
  private direct = true;
  private staged = false;
  private subtransactions = 0;
  /** The columns of the COPY text given to write(). */
  private readonly columns: string;

  /** `runId`: the lines end with a run_id column (else it is stored as NULL). */
  constructor(
    private readonly client: pg.ClientBase,
    opts: { runId?: boolean } = {},
  ) {
    this.columns = opts.runId ? COLUMNS : COLUMNS_NO_RUN;
  }

  /**
   * `repeats`: whether an externalId (with its project and metric) occurs twice within the chunk, if the
   * caller knows; unknown costs a savepoint around the merge instead.
   */
  async write(text: string | Buffer, rows: number, repeats?: boolean): Promise<ChunkCounts> {
    if (rows === 0) return { inserted: 0, updated: 0 };
    if (this.direct && repeats !== true && this.subtransactions < SUBTRANSACTIONS) {
      const copied = await this.tryDirect(text);
      if (copied !== null) return { inserted: copied, updated: rows - copied };
    }
    const inserted = await this.merge(text, repeats);
    this.direct = inserted === rows;
    return { inserted, updated: rows - inserted };
  }

  /** COPY straight into `observation`; null when a row conflicts (nothing of the chunk stays). */
  private async tryDirect(text: string | Buffer): Promise<number | null> {
    const c = this.client;
    this.subtransactions++;
    await c.query("SAVEPOINT copy_direct");
    try {
      const n = await copyIn(c, `COPY observation (${this.columns}) FROM STDIN`, text);
      await c.query("RELEASE SAVEPOINT copy_direct");
      return n;
    } catch (e) {
      if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw e;
      await c.query("ROLLBACK TO SAVEPOINT copy_direct");
      await c.query("RELEASE SAVEPOINT copy_direct");
      this.direct = false;
      return null;
    }
  }

  private async merge(text: string | Buffer, repeats?: boolean): Promise<number> {
    const c = this.client;
    // Empty at the start of every transaction (ON COMMIT DELETE ROWS; a rollback discards its rows); a
    // caller that staged rows earlier in this transaction (another inserter) is covered by the DELETE,
    // cheap on an empty table; within one inserter the chunks are large, so TRUNCATE leaves no dead rows.
    if (this.staged) await c.query("TRUNCATE observation_copy_staging");
    else {
      await c.query(STAGING);
      await c.query("DELETE FROM observation_copy_staging");
    }
    this.staged = true;
    await copyIn(c, `COPY observation_copy_staging (${this.columns}) FROM STDIN`, text);
    let counts: { inserted: string }[];
    if (repeats === undefined && this.subtransactions < SUBTRANSACTIONS) {
      this.subtransactions++;
      // Optimistic: a repeat makes PostgreSQL refuse MERGE_ALL; the savepoint lets MERGE_LATEST run.
      await c.query("SAVEPOINT copy_merge");
      try {
        ({ rows: counts } = await c.query(MERGE_ALL));
        await c.query("RELEASE SAVEPOINT copy_merge");
      } catch (e) {
        if ((e as { code?: string }).code !== CARDINALITY_VIOLATION) throw e;
        await c.query("ROLLBACK TO SAVEPOINT copy_merge");
        await c.query("RELEASE SAVEPOINT copy_merge");
        ({ rows: counts } = await c.query(MERGE_LATEST));
      }
    } else ({ rows: counts } = await c.query(repeats === false ? MERGE_ALL : MERGE_LATEST));
    return Number(counts[0].inserted);
  }
}
