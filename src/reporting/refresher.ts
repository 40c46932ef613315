import { EventEmitter } from "node:events";
import type { DataSource } from "typeorm";
import { returnedRows } from "../db/returning.js";
import type { KpiEngine } from "../kpi/engine.js";
import { PgListener } from "../live/listener.js";
import type { Logger } from "../log.js";
import { refreshKpis, refreshMetrics, refreshProjects } from "./rows.js";

/** Triggers on the base tables queue changes in reporting_queue and NOTIFY this channel on commit. */
export const REPORTING_CHANNEL = "uplift_reporting";
/** Announced by a refresher when the rows it wrote are committed (payload: JSON {kpis, projects}). */
export const REFRESHED_CHANNEL = "uplift_reporting_refreshed";
/** One refresher at a time across all replicas of one database drains the queue. */
const LOCK_KEY = 0x75706c69; // "upli"

export interface RefresherOptions {
  /** Changes arriving within this window are drained together (default 20 ms). */
  coalesceMs?: number;
  /** days_in_pilot grows with time: project rows are recomputed this often (default 60 s). */
  projectsEveryMs?: number;
  /** A drain that found the lock taken, or a missed notification, is retried this often (default 1 s). */
  retryMs?: number;
}

export interface RefreshedEvent {
  kpis: string[];
  projects: string[];
}

/**
 * Keeps the `reporting` tables current. Every write queues what it touched (triggers, in the writer's
 * transaction); a drain claims the queue under a transaction-scoped advisory lock, so each change is
 * refreshed once across replicas and never by two at a time (a later drain cannot be overtaken by an
 * earlier one). Only the KPIs and projects a change touched are recomputed, and the engine's cache makes
 * untouched KPIs of a touched project cost no aggregate query.
 */
export class ReportingRefresher extends EventEmitter {
  private readonly listener: PgListener;
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private again = false;
  private draining = false;
  private stopped = false;
  private lastProjects = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly engine: KpiEngine,
    url: string,
    private readonly currency: string,
    private readonly log: Logger,
    private readonly opts: RefresherOptions = {},
  ) {
    super();
    this.listener = new PgListener(
      url,
      [REPORTING_CHANNEL],
      { notification: () => this.request(), reconnected: () => this.request() },
      log.child({ component: "reporting" }),
    );
  }

  /** Queues a full refresh (every KPI, project and metric) and waits for it: start-up. */
  async start(): Promise<void> {
    await this.listener.start();
    await this.ds.query(`INSERT INTO reporting_queue (kind) VALUES ('all')`);
    await this.drainNow();
    // A safety net: a drain that lost the lock race, or a notification lost in a reconnect, is picked up.
    const every = this.opts.retryMs ?? 1000;
    this.periodic = setInterval(() => this.request(), every);
    this.periodic.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.timer, this.retry]) if (t) clearTimeout(t);
    if (this.periodic) clearInterval(this.periodic);
    await this.listener.stop();
    await this.running;
  }

  /** Schedules a drain after the coalescing window. */
  request(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drainNow();
    }, this.opts.coalesceMs ?? 20);
  }

  /** Drains until the queue is empty (or another replica holds the lock); one drain at a time here. */
  drainNow(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.running;
    }
    this.draining = true;
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.drainOnce()));
        } while (this.again && !this.stopped);
      } catch (e) {
        if (!this.stopped) this.log.warn("refreshing the reporting schema failed; retrying", { error: e });
      } finally {
        this.draining = false;
      }
    })();
    return this.running;
  }

  /** One claimed batch: true when it refreshed something (the queue may hold more). */
  private async drainOnce(): Promise<boolean> {
    const projectsDue = Date.now() - this.lastProjects >= (this.opts.projectsEveryMs ?? 60_000);
    let refreshed: RefreshedEvent | null = null;
    const got = await this.ds.transaction(async (m) => {
      const [{ locked }] = await m.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [LOCK_KEY]);
      if (!locked) return false;
      const claimed = returnedRows<{ kind: string; kpi_id: string; project_id: string; metric_id: string }>(
        await m.query(
          `DELETE FROM reporting_queue WHERE id IN (SELECT id FROM reporting_queue ORDER BY id LIMIT 10000)
           RETURNING kind, kpi_id::text, project_id::text, metric_id::text`,
        ),
      );
      if (!claimed.length && !projectsDue) return true;
      const all = claimed.some((c) => c.kind === "all");
      const pairs = claimed.filter((c) => c.kind === "pair");
      const kpiRows: { id: string; project_id: string }[] = await m.query(
        `SELECT id::text, project_id::text FROM kpi
         WHERE $1 OR id = ANY($2::bigint[]) OR project_id = ANY($3::bigint[]) OR metric_id = ANY($4::bigint[])
            OR (project_id, metric_id) IN (SELECT * FROM unnest($5::bigint[], $6::bigint[]))`,
        [
          all,
          ids(claimed, "kpi", "kpi_id"),
          ids(claimed, "project", "project_id"),
          ids(claimed, "metric", "metric_id"),
          pairs.map((p) => p.project_id),
          pairs.map((p) => p.metric_id),
        ],
      );
      // Rows of KPIs and projects that were deleted are removed by asking for their ids too.
      const kpiIds = new Set([...kpiRows.map((k) => k.id), ...ids(claimed, "kpi", "kpi_id")]);
      let projectIds = new Set([
        ...kpiRows.map((k) => k.project_id),
        ...ids(claimed, "project", "project_id"),
        ...ids(claimed, "kpi", "project_id"),
      ]);
      if (all || projectsDue) {
        const every: { id: string }[] = await m.query(
          `SELECT id::text FROM project UNION SELECT project_id::text FROM reporting.projects`,
        );
        projectIds = new Set(every.map((p) => p.id));
      }
      if (all) {
        const stale: { kpi_id: string }[] = await m.query(`SELECT kpi_id::text FROM reporting.kpis`);
        for (const s of stale) kpiIds.add(s.kpi_id);
      }
      const metricIds = ids(claimed, "metric", "metric_id");
      if (all) await refreshMetrics(m, null);
      else if (metricIds.length) await refreshMetrics(m, metricIds);
      // Project rows first: the observations view joins them for slugs.
      await refreshProjects(this.ds, m, this.engine, [...projectIds], this.currency);
      await refreshKpis(m, this.engine, [...kpiIds]);
      if (all || projectsDue) this.lastProjects = Date.now();
      refreshed = { kpis: [...kpiIds], projects: [...projectIds] };
      const payload = JSON.stringify(refreshed);
      await m.query(`SELECT pg_notify($1, $2)`, [
        REFRESHED_CHANNEL,
        payload.length < 7000 ? payload : JSON.stringify({ kpis: [], projects: [], many: true }),
      ]);
      return true;
    });
    if (!got) {
      // Another replica is draining; it will see what was queued before its claim. Retry for the rest.
      if (!this.retry && !this.stopped) {
        this.retry = setTimeout(() => {
          this.retry = null;
          this.request();
        }, 250);
        this.retry.unref();
      }
      return false;
    }
    if (refreshed) this.emit("refreshed", refreshed);
    return refreshed !== null;
  }
}

function ids(
  rows: { kind: string; kpi_id: string; project_id: string; metric_id: string }[],
  kind: string,
  col: "kpi_id" | "project_id" | "metric_id",
): string[] {
  return [...new Set(rows.filter((r) => r.kind === kind && r[col] !== null).map((r) => r[col]))];
}
