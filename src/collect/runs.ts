import os from "node:os";
import type { DataSource, EntityManager } from "typeorm";
import { returnedRows } from "../db/returning.js";
import type { CollectorRun, RunStatus } from "../domain/collector-run.js";
import { ConflictError } from "../errors.js";
import { upsertObservations } from "../store/observations.js";
import type { PendingBatch } from "./batch.js";

// The collector_run rows: claims, leases and their answers for the API.

/** A collector_run row: the run as the API shows it, named by its instance. */
export type RunRow = Omit<CollectorRun, "collector"> & { instance: string };

type Db = DataSource | EntityManager;

const COLUMNS = `id::text AS id, instance, scheduled_for AS "scheduledFor", status, started_at AS "startedAt",
  finished_at AS "finishedAt", observations, rejected, skipped, error`;

/** This process, as written into the runs it owns: `host:pid:token`. */
export function ownerId(): string {
  return `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
}

export function toApi(r: RunRow): CollectorRun {
  return { ...r, collector: r.instance };
}

/** Claims a scheduled time: the RUNNING row, or null when another process has it or a run is still going. */
export async function claimScheduled(
  db: Db,
  instance: string,
  scheduledFor: Date,
  owner: string,
): Promise<RunRow | null> {
  const rows: RunRow[] = await db.query(
    `INSERT INTO collector_run (instance, scheduled_for, status, owner) VALUES ($1, $2, 'RUNNING', $3)
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [instance, scheduledFor, owner],
  );
  return rows[0] ?? null;
}

/**
 * A scheduled time that arrives while the instance is still running gets one SKIPPED row; when another
 * process already claimed (or skipped) that time, nothing is written.
 */
export async function recordSkipped(
  db: Db,
  instance: string,
  scheduledFor: Date,
  owner: string,
): Promise<RunRow | null> {
  const rows: RunRow[] = await db.query(
    `INSERT INTO collector_run (instance, scheduled_for, status, owner, finished_at, error)
     SELECT $1, $2, 'SKIPPED', $3, now(), 'the previous run of this instance was still going'
     WHERE EXISTS (SELECT 1 FROM collector_run WHERE instance = $1 AND status = 'RUNNING')
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [instance, scheduledFor, owner],
  );
  return rows[0] ?? null;
}

/** A run outside the schedule (`runCollector`, the command line); CONFLICT when one is going. */
export async function claimManual(db: Db, instance: string, owner: string): Promise<RunRow> {
  const rows: RunRow[] = await db.query(
    `INSERT INTO collector_run (instance, status, owner) VALUES ($1, 'RUNNING', $2)
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [instance, owner],
  );
  if (!rows.length) throw new ConflictError(`collector "${instance}" is already running`);
  return rows[0];
}

/** Keeps the claim alive; false when the run is no longer ours (closed by another process). */
export async function heartbeat(db: Db, runId: string, owner: string): Promise<boolean> {
  const rows = returnedRows(
    await db.query(
      `UPDATE collector_run SET heartbeat_at = now() WHERE id = $1 AND status = 'RUNNING' AND owner = $2 RETURNING id`,
      [runId, owner],
    ),
  );
  return rows.length > 0;
}

export async function finishRun(
  db: Db,
  runId: string,
  owner: string,
  status: RunStatus,
  error: string | null,
): Promise<RunRow | null> {
  const rows = returnedRows<RunRow>(
    await db.query(
      `UPDATE collector_run SET status = $3, error = $4, finished_at = now()
       WHERE id = $1 AND owner = $2 AND status = 'RUNNING' RETURNING ${COLUMNS}`,
      [runId, owner, status, error],
    ),
  );
  return rows[0] ?? null;
}

/**
 * Closes RUNNING runs whose process died: those whose heartbeat is older than the lease, and those of a
 * process on this host that is gone (a restart need not wait for the lease).
 */
export async function reapDeadRuns(db: Db, leaseMs: number, self: string): Promise<RunRow[]> {
  const [host, pid] = self.split(":");
  const running: { id: string; owner: string | null }[] = await db.query(
    `SELECT id::text AS id, owner FROM collector_run WHERE status = 'RUNNING'`,
  );
  const deadHere = running
    .filter((r) => {
      const [h, p] = (r.owner ?? "").split(":");
      return r.owner !== self && h === host && (p === pid || !pidAlive(Number(p)));
    })
    .map((r) => r.id);
  return returnedRows<RunRow>(
    await db.query(
      `UPDATE collector_run SET status = 'FAILED', finished_at = now(),
       error = 'the process running it stopped before it finished (last heartbeat ' ||
               to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')'
     WHERE status = 'RUNNING' AND (heartbeat_at < now() - make_interval(secs => $1::float8 / 1000) OR id = ANY($2::bigint[]))
     RETURNING ${COLUMNS}`,
      [leaseMs, deadHere],
    ),
  );
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function getRun(db: Db, id: string): Promise<RunRow | null> {
  const rows: RunRow[] = await db.query(`SELECT ${COLUMNS} FROM collector_run WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** Newest first. */
export async function listRuns(db: Db, instance: string | null, limit: number): Promise<RunRow[]> {
  return db.query(
    `SELECT ${COLUMNS} FROM collector_run WHERE ($1::text IS NULL OR instance = $1)
     ORDER BY started_at DESC, id DESC LIMIT $2`,
    [instance, limit],
  );
}

/** The newest run of each instance (SKIPPED ones included). */
export async function lastRuns(db: Db, instances: string[]): Promise<Map<string, RunRow>> {
  const rows: RunRow[] = await db.query(
    `SELECT DISTINCT ON (instance) ${COLUMNS} FROM collector_run WHERE instance = ANY($1)
     ORDER BY instance, started_at DESC, id DESC`,
    [instances],
  );
  return new Map(rows.map((r) => [r.instance, r]));
}

/** When the instance last had a scheduled time handled (run or skipped), or last ran at all. */
export async function lastActivity(db: Db, instance: string): Promise<Date | null> {
  const [row] = await db.query(
    `SELECT greatest(max(scheduled_for), max(started_at)) AS at FROM collector_run WHERE instance = $1`,
    [instance],
  );
  return row?.at ?? null;
}

/** The run's claim was taken over by another process (its lease ran out): it must stop writing. */
export class ClaimLost extends Error {
  constructor() {
    super("the run's claim was taken over by another process (its lease ran out)");
  }
}

/**
 * Commits one batch of a run in one transaction: its observations, the run's counters and rejection
 * sample, and the cursor that covers the batch (none in a backfill). Throws ClaimLost, rolling back,
 * when the run is no longer ours, so a closed run never writes.
 */
export async function commitBatch(
  ds: DataSource,
  run: { id: string; instance: string; owner: string },
  b: PendingBatch,
): Promise<number> {
  return ds.transaction(async (m) => {
    const written = await upsertObservations(m, b.rows, run.id);
    const stored = written.inserted + written.updated;
    const owned = returnedRows(
      await m.query(
        `UPDATE collector_run SET observations = observations + $3, rejected = rejected + $4,
         skipped = skipped + $5, log = $6::jsonb, heartbeat_at = now()
       WHERE id = $1 AND owner = $2 AND status = 'RUNNING' RETURNING id`,
        [run.id, run.owner, stored, b.rejected, b.skipped, JSON.stringify(b.sample)],
      ),
    );
    if (!owned.length) throw new ClaimLost();
    if (b.cursor !== null) {
      await m.query(
        `INSERT INTO collector_cursor (instance, cursor, run_id, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (instance) DO UPDATE SET cursor = EXCLUDED.cursor, run_id = EXCLUDED.run_id, updated_at = now()`,
        [run.instance, b.cursor, run.id],
      );
    }
    return stored;
  });
}

export async function readCursor(db: Db, instance: string): Promise<string | null> {
  const [row] = await db.query(`SELECT cursor FROM collector_cursor WHERE instance = $1`, [instance]);
  return row?.cursor ?? null;
}
