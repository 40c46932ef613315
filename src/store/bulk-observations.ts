import type pg from "pg";
import type { DataSource, QueryRunner } from "typeorm";
import { ObservationCopyInserter } from "./copy-insert.js";
import { isoFormatter, observationCopyFields } from "./copy-text.js";
import type { RecordResult, ResolvedObservation } from "./observations.js";
import { stampTouched } from "./observations.js";

// Bulk ingest's write path: validated rows are cut into chunks that go to PostgreSQL while the body is
// still being read (ObservationCopyInserter: a direct COPY while the rows are new, staging and
// INSERT … ON CONFLICT otherwise), so that the database's work on one chunk overlaps Node's parsing of
// the next. Everything happens in one transaction: nothing is visible, and nothing is announced, unless
// every line was valid and the whole body arrived.

/**
 * A chunk ends at `bytes` of COPY text or `rows` rows. The first chunk is `firstBytes` and each next one
 * doubles up to `bytes`, so that PostgreSQL starts early (a small body overlaps too) while a large body
 * goes in few chunks (few round trips and subtransactions).
 */
export const bulkChunking = {
  bytes: 4 * 2 ** 20,
  firstBytes: 256 * 2 ** 10,
  rows: 100_000,
};

/** One bulk write: open() → add() per valid row, in line order → commit() or abort(). */
export class BulkObservationWriter {
  private runner: QueryRunner | null = null;
  private client: pg.PoolClient | null = null;
  private inserter: ObservationCopyInserter | null = null;
  /**
   * COPY text is written into one of two buffers (outside V8's heap, reused): one being filled, the other
   * with PostgreSQL. Per-line strings then die young, and memory stays at two chunks.
   */
  private buffer: Buffer | null = null;
  private spare: Buffer | null = null;
  private used = 0;
  private rows = 0;
  private limit = bulkChunking.firstBytes;
  /** The project × metric pair of the last row (most bodies hold one or a few, in runs). */
  private last: { projectId: string; metricId: string } | null = null;
  /** The chunk PostgreSQL is working on (at most one: memory stays at about two chunks). */
  private inflight: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private readonly touched = new Map<string, { projectId: string; metricId: string }>();
  private inserted = 0;
  private updated = 0;

  /** Rows of a body share few days: the date part of their timestamps is formatted once per day. */
  private readonly iso = isoFormatter();

  constructor(private readonly ds: DataSource) {}

  async open(): Promise<void> {
    this.runner = this.ds.createQueryRunner();
    this.client = (await this.runner.connect()) as pg.PoolClient;
    await this.client.query("BEGIN");
    this.inserter = new ObservationCopyInserter(this.client);
  }

  /** Queues one validated row; true when the chunk is full: the caller then awaits flush(). */
  add(r: ResolvedObservation): boolean {
    const line = `${observationCopyFields(r, this.iso)}\n`;
    // UTF-8 takes at most 3 bytes per UTF-16 unit; a line too long for the buffer gets a larger one.
    const room = line.length * 3;
    if (!this.buffer || this.buffer.length - this.used < room) this.grow(room);
    this.used += (this.buffer as Buffer).write(line, this.used);
    this.rows++;
    const last = this.last;
    if (!last || last.projectId !== r.projectId || last.metricId !== r.metricId) {
      const pair = `${r.projectId} ${r.metricId}`;
      if (!this.touched.has(pair)) this.touched.set(pair, { projectId: r.projectId, metricId: r.metricId });
      this.last = { projectId: r.projectId, metricId: r.metricId };
    }
    return this.used >= this.limit || this.rows >= bulkChunking.rows;
  }

  /** A buffer for the chunk being built with room for `room` more bytes (keeping what it holds). */
  private grow(room: number): void {
    const size = Math.max(bulkChunking.bytes, this.used + room);
    let next = this.spare && this.spare.length >= size ? this.spare : null;
    if (next) this.spare = null;
    else next = Buffer.allocUnsafe(size);
    if (this.buffer && this.used > 0) this.buffer.copy(next, 0, 0, this.used);
    this.buffer = next;
  }

  /** Hands the chunk built so far to PostgreSQL once the previous one is done. */
  async flush(): Promise<void> {
    const buffer = this.buffer;
    const used = this.used;
    const rows = this.rows;
    this.buffer = null;
    this.used = 0;
    this.rows = 0;
    this.limit = Math.min(this.limit * 2, bulkChunking.bytes);
    await this.inflight;
    if (this.failure) throw this.failure.error;
    if (!buffer || rows === 0) return;
    const inserter = this.inserter;
    if (!inserter) throw new Error("bulk writer not open");
    this.inflight = inserter.write(buffer.subarray(0, used), rows).then(
      (c) => {
        // Free again once PostgreSQL has it all (a fallback to staging reads it a second time).
        this.spare = buffer;
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
      await this.flush();
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
    this.buffer = null;
    this.spare = null;
    if (!runner) return;
    const done = broken
      ? runner.releasePostgresConnection(new Error("bulk ingest connection broken"))
      : runner.release();
    void done.catch(() => undefined);
  }
}
