import type { DataSource } from "typeorm";
import type { Events } from "../live/events.js";
import type { Logger } from "../log.js";
import { recordCollectorRun } from "../metrics/registry.js";
import { RunBatch } from "./batch.js";
import { createHttpClient } from "./http-client.js";
import type { Instance } from "./instances.js";
import { commitBatch, finishRun, getRun, heartbeat, type RunRow, readCursor, toApi } from "./runs.js";
import type { CollectContext, SourceRecord } from "./types.js";

export interface RunOptions {
  /** Aborts the run (shutdown). */
  signal?: AbortSignal;
  /** The run fails when it takes longer (default 30 minutes). */
  timeLimitMs?: number;
  /** Starts the time limit's timer, returning its cancel (default: setTimeout); tests fire it themselves. */
  startTimeLimit?: (expire: () => void, ms: number) => () => void;
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
  skipped: number;
  total: number | null;
  elapsedMs: number;
}

export interface RunnerDeps {
  ds: DataSource;
  log: Logger;
  events: Events;
  owner: string;
}

class RunStopped extends Error {}

/** Records between two turns of the event loop while a commit is in flight (see the collect loop). */
const YIELD_EVERY = 250;

function startTimer(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
}

/**
 * Executes a claimed run: streams the collector's records into a RunBatch (batch.ts: validation, rejects,
 * skips, cursor) and commits each batch with commitBatch (runs.ts: rows, counters and cursor in one
 * transaction). A crash
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
  const cancelLimit = (opts.startTimeLimit ?? startTimer)(
    () => stop(`time limit of ${Math.round(limit / 1000)} s exceeded`),
    limit,
  );
  const beat = setInterval(() => {
    heartbeat(ds, run.id, owner)
      .then((ours) => {
        if (!ours) stop("the run's claim was taken over by another process (its lease ran out)");
      })
      .catch((e) => log.warn("heartbeat failed", { error: e }));
  }, opts.heartbeatMs ?? 5000);

  const progress: RunProgress = {
    records: 0,
    observations: 0,
    rejected: 0,
    skipped: 0,
    total: null,
    elapsedMs: 0,
  };
  const batch = new RunBatch(inst, opts.range ?? null, (reason, externalId, nth) => {
    if (nth <= 5) log.warn("record rejected", { reason, externalId });
  });
  let lastFlush = Date.now();

  // One commit at a time, in order (a cursor never moves ahead of the rows before it), while the next
  // batch is collected: the database's work overlaps the collector's instead of following it.
  let inflight: Promise<void> | null = null;
  const settle = async () => {
    const p = inflight;
    inflight = null;
    if (p) await p;
  };
  const commit = async () => {
    await settle();
    if (!batch.pending) return;
    const totals = { ...batch.totals };
    const p = commitBatch(ds, { id: run.id, instance: inst.name, owner }, batch.take()).then((stored) => {
      progress.observations += stored;
      Object.assign(progress, {
        records: totals.records,
        rejected: totals.rejected,
        skipped: totals.skipped,
        elapsedMs: Date.now() - started,
      });
      opts.onProgress?.({ ...progress });
    });
    // Surfaced by the next settle(); until then it must not count as unhandled.
    p.catch(() => undefined);
    inflight = p;
    lastFlush = Date.now();
  };

  let status: "SUCCEEDED" | "FAILED" = "SUCCEEDED";
  let error: string | null = null;
  try {
    const ctx: CollectContext<unknown> = {
      options: inst.options,
      cursor: opts.range ? null : await readCursor(ds, inst.name),
      range: opts.range ?? null,
      signal: controller.signal,
      http: createHttpClient({ signal: controller.signal, log }),
      log,
      now: new Date(),
      reportTotal: (total) => {
        progress.total = total;
      },
      skip: (count = 1) => batch.skip(count),
    };
    let sinceYield = 0;
    for await (const rec of inst.collector.collect(ctx) as AsyncIterable<SourceRecord>) {
      if (controller.signal.aborted) throw controller.signal.reason;
      batch.add(rec);
      if (batch.size >= batchSize || Date.now() - lastFlush >= flushMs) await commit();
      else if (inflight && ++sinceYield >= YIELD_EVERY) {
        // Records that arrive without I/O (a page already parsed) are all microtasks: the commit's round
        // trips would wait for the whole next batch. Letting I/O in keeps the commit moving meanwhile.
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (controller.signal.aborted) throw controller.signal.reason;
    await commit();
    await settle();
  } catch (e) {
    // A commit still going finishes (or fails) before the run is closed: its rows and cursor stand.
    await settle().catch(() => undefined);
    status = "FAILED";
    const reason = controller.signal.aborted ? controller.signal.reason : e;
    error = reason instanceof Error ? reason.message : String(reason);
    log.warn("collector run failed", { error });
  } finally {
    cancelLimit();
    clearInterval(beat);
    opts.signal?.removeEventListener("abort", onExternalAbort);
  }

  const finished = (await finishRun(ds, run.id, owner, status, error)) ?? (await getRun(ds, run.id))!;
  log.info("collector run finished", {
    status: finished.status,
    observations: finished.observations,
    rejected: finished.rejected,
    skipped: finished.skipped,
    outOfRange: batch.totals.outOfRange || undefined,
    ms: Date.now() - started,
  });
  deps.events.runFinished(toApi(finished));
  recordCollectorRun(finished);
  return finished;
}
