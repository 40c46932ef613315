import type pg from "pg";
import type { DataSource, QueryRunner } from "typeorm";
import { ObservationCopyInserter } from "./copy-insert.js";
import { observationCopyFields } from "./copy-text.js";
import type { RecordResult, ResolvedObservation } from "./observations.js";
import { stampTouched } from "./observations.js";

// Bulk ingest's write path: validated rows are cut into chunks that go to PostgreSQL while the body is
// still being read (ObservationCopyInserter: a direct COPY while the rows are new, staging and
// INSERT … ON CONFLICT otherwise), so that the database's work on one chunk overlaps Node's parsing of
// the next. Everything happens in one transaction: nothing is visible, and nothing is announced, unless
// every line was valid and the whole body arrived.

/** Rows per chunk: large enough to keep per-chunk round trips and subtransactions few, small in memory. */
export const bulkChunking = { rows: 50_000 };

/** One bulk write: open() → add() per valid row, in line order → commit() or abort(). */
export class BulkObservationWriter {
  private runner: QueryRunner | null = null;
  private client: pg.PoolClient | null = null;
  private inserter: ObservationCopyInserter | null = null;
  private lines: string[] = [];
  /** externalIds of the chunk being built, by "projectId metricId": a repeat decides the merge. */
  private seen = new Map<string, Set<string>>();
  private last: { projectId: string; metricId: string; ids: Set<string> } | null = null;
  private repeats = false;
  /** The chunk PostgreSQL is working on (at most one: memory stays at about two chunks). */
  private inflight: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private readonly touched = new Map<string, { projectId: string; metricId: string }>();
  private inserted = 0;
  private updated = 0;

  constructor(private readonly ds: DataSource) {}

  async open(): Promise<void> {
    this.runner = this.ds.createQueryRunner();
    this.client = (await this.runner.connect()) as pg.PoolClient;
    await this.client.query("BEGIN");
    this.inserter = new ObservationCopyInserter(this.client);
  }

  /** Queues one validated row; resolves at once unless a full chunk waits for the previous one. */
  async add(r: ResolvedObservation): Promise<void> {
    this.lines.push(`${observationCopyFields(r)}\n`);
    let last = this.last;
    if (!last || last.projectId !== r.projectId || last.metricId !== r.metricId) {
      const pair = `${r.projectId} ${r.metricId}`;
      let ids = this.seen.get(pair);
      if (!ids) {
        ids = new Set();
        this.seen.set(pair, ids);
      }
      if (!this.touched.has(pair)) this.touched.set(pair, { projectId: r.projectId, metricId: r.metricId });
      last = this.last = { projectId: r.projectId, metricId: r.metricId, ids };
    }
    if (r.externalId !== null) {
      if (last.ids.has(r.externalId)) this.repeats = true;
      else last.ids.add(r.externalId);
    }
    if (this.lines.length >= bulkChunking.rows) await this.dispatch();
  }

  /** Hands the chunk built so far to PostgreSQL once the previous one is done. */
  private async dispatch(): Promise<void> {
    const lines = this.lines;
    const repeats = this.repeats;
    this.lines = [];
    this.seen = new Map();
    this.last = null;
    this.repeats = false;
    await this.inflight;
    if (this.failure) throw this.failure.error;
    if (lines.length === 0) return;
    const inserter = this.inserter;
    if (!inserter) throw new Error("bulk writer not open");
    this.inflight = inserter.write(lines.join(""), lines.length, repeats).then(
      (c) => {
        this.inserted += c.inserted;
        this.updated += c.updated;
      },
      (error) => {
        this.failure = { error };
      },
    );
  }

  /** Writes the last chunk, stamps and announces the change, commits. */
  async commit(): Promise<RecordResult> {
    const client = this.client;
    if (!client) throw new Error("bulk writer not open");
    try {
      await this.dispatch();
      await this.inflight;
      if (this.failure) throw this.failure.error;
      const pairs = [...this.touched.values()];
      await stampTouched(client, pairs);
      await client.query("COMMIT");
      // Lines repeating an externalId of an earlier line count as updates, as in recordObservations.
      return { inserted: this.inserted, updated: this.updated, touched: pairs };
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
      // The chunk in flight ends (or fails) first: the connection takes one statement at a time.
      await this.inflight;
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
    this.inserter = null;
    this.lines = [];
    if (!runner) return;
    const done = broken
      ? runner.releasePostgresConnection(new Error("bulk ingest connection broken"))
      : runner.release();
    void done.catch(() => undefined);
  }
}
