import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { DataSource, QueryRunner } from "typeorm";
import { observationCopyFields } from "./copy-text.js";
import type { RecordResult, ResolvedObservation } from "./observations.js";
import { stampTouched } from "./observations.js";

// Bulk ingest's write path: validated rows stream into a temporary staging table with COPY (the
// database's fastest way in), then one INSERT … ON CONFLICT moves them into `observation`, all inside one
// transaction. Nothing is visible, and nothing is announced, unless every line was valid.

const STAGING = `CREATE TEMP TABLE bulk_staging (
  seq bigint NOT NULL, project_id bigint NOT NULL, metric_id bigint NOT NULL, observed_at timestamptz NOT NULL,
  value float8 NOT NULL, weight float8 NOT NULL, external_id text, dimensions jsonb
) ON COMMIT DROP`;

const UPSERT = (source: string) => `WITH up AS (
    INSERT INTO observation (project_id, metric_id, observed_at, value, weight, external_id, dimensions)
    ${source}
    ON CONFLICT (project_id, metric_id, external_id) DO UPDATE SET
      observed_at = EXCLUDED.observed_at, value = EXCLUDED.value, weight = EXCLUDED.weight,
      dimensions = EXCLUDED.dimensions, run_id = NULL, recorded_at = clock_timestamp()
    RETURNING (xmax = 0) AS inserted
  )
  SELECT count(*) FILTER (WHERE inserted) AS inserted FROM up`;

const COLUMNS = "project_id, metric_id, observed_at, value, weight, external_id, dimensions";

/** Every staged row as it is: right when no externalId repeats within the request (the common case). */
const MERGE_ALL = UPSERT(`SELECT ${COLUMNS} FROM bulk_staging`);

/** Within one request a later line with the same externalId wins (as within a recordObservations batch). */
const MERGE_LATEST = UPSERT(`SELECT ${COLUMNS} FROM (
      SELECT DISTINCT ON (project_id, metric_id, external_id) *
      FROM bulk_staging WHERE external_id IS NOT NULL
      ORDER BY project_id, metric_id, external_id, seq DESC
    ) latest
    UNION ALL
    SELECT ${COLUMNS} FROM bulk_staging WHERE external_id IS NULL`);

/** PostgreSQL's "ON CONFLICT DO UPDATE command cannot affect row a second time". */
const CARDINALITY_VIOLATION = "21000";

const FLUSH_BYTES = 256 * 1024;

/** One bulk write: open() → add() per valid row → commit() or abort(). Memory stays at one chunk. */
export class BulkObservationWriter {
  private runner: QueryRunner | null = null;
  private client: pg.PoolClient | null = null;
  private copy: ReturnType<typeof copyFrom> | null = null;
  private copyDone: Promise<void> | null = null;
  private chunk: string[] = [];
  private chunkBytes = 0;
  private rows = 0;

  constructor(private readonly ds: DataSource) {}

  async open(): Promise<void> {
    this.runner = this.ds.createQueryRunner();
    this.client = (await this.runner.connect()) as pg.PoolClient;
    await this.client.query("BEGIN");
    await this.client.query(STAGING);
    const copy = this.client.query(
      copyFrom(
        "COPY bulk_staging (seq, project_id, metric_id, observed_at, value, weight, external_id, dimensions) FROM STDIN",
      ),
    );
    this.copy = copy;
    this.copyDone = new Promise((resolve, reject) => {
      copy.on("finish", () => resolve());
      copy.on("error", reject);
    });
    // Surfaced by commit(); without a listener an early error would be unhandled.
    this.copyDone.catch(() => undefined);
  }

  /** Queues one validated row; resolves when the COPY stream can take more (backpressure). */
  async add(seq: number, r: ResolvedObservation): Promise<void> {
    const line = `${seq}\t${observationCopyFields(r)}\n`;
    this.chunk.push(line);
    this.chunkBytes += line.length;
    this.rows++;
    if (this.chunkBytes >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.copy || this.chunk.length === 0) return;
    const ok = this.copy.write(this.chunk.join(""));
    this.chunk = [];
    this.chunkBytes = 0;
    if (!ok) {
      const copy = this.copy;
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          copy.off("error", fail);
          resolve();
        };
        const fail = (e: Error) => {
          copy.off("drain", done);
          reject(e);
        };
        copy.once("drain", done);
        copy.once("error", fail);
      });
    }
  }

  /** Ends the COPY, merges into `observation`, stamps and announces the change, commits. */
  async commit(): Promise<RecordResult> {
    const client = this.client;
    if (!client || !this.copy) throw new Error("bulk writer not open");
    try {
      await this.flush();
      this.copy.end();
      await this.copyDone;
      // Optimistic: without repeated externalIds the rows go in as staged, sparing a sort of the whole
      // request. A repeat makes PostgreSQL refuse the statement; the savepoint then lets the slower,
      // de-duplicating statement run in the same transaction.
      await client.query("SAVEPOINT merge");
      let counts: { inserted: string }[];
      try {
        ({ rows: counts } = await client.query(MERGE_ALL));
      } catch (e) {
        if ((e as { code?: string }).code !== CARDINALITY_VIOLATION) throw e;
        await client.query("ROLLBACK TO SAVEPOINT merge");
        ({ rows: counts } = await client.query(MERGE_LATEST));
      }
      const { rows: pairs } = await client.query(
        `SELECT DISTINCT project_id::text AS "projectId", metric_id::text AS "metricId" FROM bulk_staging`,
      );
      await stampTouched(client, pairs);
      await client.query("COMMIT");
      // Lines repeating an externalId of an earlier line count as updates, as in recordObservations.
      const inserted = Number(counts[0].inserted);
      return { inserted, updated: this.rows - inserted, touched: pairs };
    } catch (e) {
      await this.abort();
      throw e;
    } finally {
      this.release();
    }
  }

  async abort(): Promise<void> {
    const client = this.client;
    if (!client) return;
    let broken = false;
    try {
      if (this.copy && !this.copy.writableEnded) {
        // Destroying the stream sends CopyFail; the ROLLBACK then discards the staging table.
        this.copy.destroy(new Error("bulk ingest aborted"));
        await this.copyDone?.catch(() => undefined);
      }
      await client.query("ROLLBACK");
    } catch {
      broken = true;
    } finally {
      this.release(broken);
    }
  }

  /** Back to the pool; a connection left in an unknown state is closed instead. */
  private release(broken = false): void {
    const runner = this.runner as
      | (QueryRunner & { releasePostgresConnection(e?: Error): Promise<void> })
      | null;
    this.runner = null;
    this.client = null;
    this.copy = null;
    if (!runner) return;
    const done = broken
      ? runner.releasePostgresConnection(new Error("bulk ingest connection broken"))
      : runner.release();
    void done.catch(() => undefined);
  }
}
