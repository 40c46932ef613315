import type { DataSource } from "typeorm";
import type { Events } from "../api/events.js";
import { returnedRows } from "../db/returning.js";
import type { InputProblem } from "../errors.js";
import type { Logger } from "../log.js";
import { recordCollectorRun } from "../metrics/registry.js";
import {
  checkObservationFields,
  type ResolvedObservation,
  upsertObservations,
} from "../store/observations.js";
import { createHttpClient } from "./http-client.js";
import type { Instance } from "./instances.js";
import { finishRun, getRun, heartbeat, type RunRow, readCursor, toApi } from "./runs.js";
import type { CollectContext, SourceRecord } from "./types.js";

export interface RunOptions {
  /** Aborts the run (shutdown). */
  signal?: AbortSignal;
  /** The run fails when it takes longer (default 30 minutes). */
  timeLimitMs?: number;
  /** A backfill of an explicit range; such a run leaves the instance's cursor where it was. */
  range?: { from: Date | null; to: Date | null } | null;
  batchSize?: number;
  /** A partial batch is committed after this long, so the cursor follows a slow source closely. */
  flushMs?: number;
  heartbeatMs?: number;
  /** Called after every commit, for progress lines. */
  onProgress?: (p: RunProgress) => void;
}

export interface RunProgress {
  records: number;
  observations: number;
  rejected: number;
  total: number | null;
  elapsedMs: number;
}

export interface RunnerDeps {
  ds: DataSource;
  log: Logger;
  events: Events;
  owner: string;
}

/** Reasons kept in the run's log for rejected records. */
const REJECTION_SAMPLE = 20;

class RunStopped extends Error {}

/**
 * Executes a claimed run: streams the collector's records, validates and maps them, and commits each
 * batch together with the run's counters and the cursor that covers it, in one transaction. A crash
 * keeps what was committed; the next run resumes from the committed cursor (externalId upserts absorb
 * the overlap). A run whose claim was taken over (its lease ran out) stops writing at its next commit.
 */
export async function executeRun(
  deps: RunnerDeps,
  inst: Instance,
  run: RunRow,
  opts: RunOptions = {},
): Promise<RunRow> {
  const { ds, owner } = deps;
  const log = deps.log.child({ collector: inst.name, run: run.id });
  const batchSize = opts.batchSize ?? 5000;
  const flushMs = opts.flushMs ?? 2000;
  const started = Date.now();
  const controller = new AbortController();
  const stop = (reason: string) => {
    if (!controller.signal.aborted) controller.abort(new RunStopped(reason));
  };
  const onExternalAbort = () => stop("cancelled: Uplift is shutting down");
  if (opts.signal?.aborted) onExternalAbort();
  opts.signal?.addEventListener("abort", onExternalAbort, { once: true });
  const limit = opts.timeLimitMs ?? 30 * 60_000;
  const timer = setTimeout(() => stop(`time limit of ${Math.round(limit / 1000)} s exceeded`), limit);
  const beat = setInterval(() => {
    heartbeat(ds, run.id, owner)
      .then((ours) => {
        if (!ours) stop("the run's claim was taken over by another process (its lease ran out)");
      })
      .catch((e) => log.warn("heartbeat failed", { error: e }));
  }, opts.heartbeatMs ?? 5000);

  let batch: ResolvedObservation[] = [];
  let rejectedSinceCommit = 0;
  const sample: { reason: string; externalId?: string }[] = [];
  let pendingCursor: string | null = null;
  let lastFlush = Date.now();
  const progress: RunProgress = { records: 0, observations: 0, rejected: 0, total: null, elapsedMs: 0 };
  const backfill = !!opts.range;

  const commit = async () => {
    if (!batch.length && !rejectedSinceCommit && pendingCursor === null) return;
    const rows = batch;
    const rejected = rejectedSinceCommit;
    const cursor = backfill ? null : pendingCursor;
    const result = await ds.transaction(async (m) => {
      const written = await upsertObservations(m, rows, run.id);
      const owned = returnedRows(
        await m.query(
          `UPDATE collector_run SET observations = observations + $3, rejected = rejected + $4,
           log = $5::jsonb, heartbeat_at = now()
         WHERE id = $1 AND owner = $2 AND status = 'RUNNING' RETURNING id`,
          [run.id, owner, written.inserted + written.updated, rejected, JSON.stringify(sample)],
        ),
      );
      // Taken over: roll back so a closed run never writes (the other process may be collecting again).
      if (!owned.length)
        throw new RunStopped("the run's claim was taken over by another process (its lease ran out)");
      if (cursor !== null) {
        await m.query(
          `INSERT INTO collector_cursor (instance, cursor, run_id, updated_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (instance) DO UPDATE SET cursor = EXCLUDED.cursor, run_id = EXCLUDED.run_id, updated_at = now()`,
          [inst.name, cursor, run.id],
        );
      }
      return written;
    });
    batch = [];
    rejectedSinceCommit = 0;
    pendingCursor = null;
    lastFlush = Date.now();
    progress.observations += result.inserted + result.updated;
    progress.elapsedMs = Date.now() - started;
    opts.onProgress?.({ ...progress });
  };

  let status: "SUCCEEDED" | "FAILED" = "SUCCEEDED";
  let error: string | null = null;
  try {
    const ctx: CollectContext<unknown> = {
      options: inst.options,
      cursor: backfill ? null : await readCursor(ds, inst.name),
      range: opts.range ?? null,
      signal: controller.signal,
      http: createHttpClient({ signal: controller.signal, log }),
      log,
      now: new Date(),
      reportTotal: (total) => {
        progress.total = total;
      },
    };
    for await (const rec of inst.collector.collect(ctx) as AsyncIterable<SourceRecord>) {
      if (controller.signal.aborted) throw controller.signal.reason;
      progress.records++;
      if (rec.kind === "checkpoint") {
        pendingCursor = rec.cursor;
      } else if (rec.kind === "rejected") {
        reject(rec.reason, rec.externalId);
        if (rec.cursor !== undefined) pendingCursor = rec.cursor;
      } else {
        const problems: InputProblem[] = [];
        // Collected records always carry the source's id: it is what makes re-collection idempotent.
        const hasId = typeof rec.externalId === "string" && rec.externalId !== "";
        if (!hasId) problems.push({ field: "record.externalId", message: "is required" });
        checkObservationFields(
          { ...rec, externalId: hasId ? rec.externalId : undefined },
          "record",
          problems,
        );
        if (problems.length)
          reject(problems.map((p) => `${p.field.slice(7)}: ${p.message}`).join("; "), rec.externalId);
        else {
          batch.push({
            projectId: inst.projectId,
            metricId: inst.metricId,
            observedAt: rec.observedAt,
            value: rec.value,
            weight: rec.weight ?? 1,
            externalId: rec.externalId,
            dimensions: rec.dimensions ?? null,
          });
        }
        if (rec.cursor !== undefined) pendingCursor = rec.cursor;
      }
      if (batch.length >= batchSize || Date.now() - lastFlush >= flushMs) await commit();
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    await commit();
  } catch (e) {
    status = "FAILED";
    const reason = controller.signal.aborted ? controller.signal.reason : e;
    error = reason instanceof Error ? reason.message : String(reason);
    log.warn("collector run failed", { error });
  } finally {
    clearTimeout(timer);
    clearInterval(beat);
    opts.signal?.removeEventListener("abort", onExternalAbort);
  }

  function reject(reason: string, externalId?: string) {
    rejectedSinceCommit++;
    progress.rejected++;
    if (sample.length < REJECTION_SAMPLE) sample.push({ reason, ...(externalId ? { externalId } : {}) });
    if (progress.rejected <= 5) log.warn("record rejected", { reason, externalId });
  }

  const finished = (await finishRun(ds, run.id, owner, status, error)) ?? (await getRun(ds, run.id))!;
  log.info("collector run finished", {
    status: finished.status,
    observations: finished.observations,
    rejected: finished.rejected,
    ms: Date.now() - started,
  });
  deps.events.runFinished(toApi(finished));
  recordCollectorRun(finished);
  return finished;
}
