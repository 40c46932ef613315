import { EventEmitter } from "node:events";
import pg from "pg";
import type { DataSource } from "typeorm";
import { inBackground } from "../kpi/background.js";
import type { KpiEngine } from "../kpi/engine.js";
import { PgListener } from "../live/listener.js";
import type { Logger } from "../log.js";
import { buildProjectRows, computeKpiRows, loadProjectInputs, upsertStatement } from "./rows.js";

/** Triggers on the base tables queue changes in reporting_queue and NOTIFY this channel on commit. */
export const REPORTING_CHANNEL = "uplift_reporting";
/** Announced by a refresher when the rows it wrote are committed (payload: JSON {kpis, projects}). */
export const REFRESHED_CHANNEL = "uplift_reporting_refreshed";
/** One refresher at a time across all replicas of one database drains the queue. */
const LOCK_KEY = 0x75706c69; // "upli"
const CLAIM = 10_000;
const CHUNK = 100;

export interface RefresherOptions {
  /** Changes arriving within this window are drained together (default 20 ms). */
  coalesceMs?: number;
  /**
   * Under a stream of writes, a drain waits this many times as long as the previous drain took, counted
   * from its end (default 9): refreshing then takes at most a tenth of the time, however often batches
   * commit, instead of recomputing the touched KPIs after every batch.
   */
  restFactor?: number;
  /**
   * The shortest such rest (default 1 s): a drain recomputes whole KPIs, so its cost grows with the stored
   * observations; were the rest only proportional to it, a cheap drain would just run more often, and
   * refreshing would keep a fifth of the time under a stream of batches (a collector run) whatever it costs.
   * A change that follows no drain within this long is still drained after `coalesceMs` only.
   */
  minRestMs?: number;
  /**
   * What a commit may wait for its refresh under a stream, in ms (default 4,000: the contract keeps
   * `reporting` within 5 s of every commit, a second to spare). A commit that just missed a drain waits
   * for the rest of that drain, the rest, and its own drain: the rest is at most this less two drains.
   */
  latencyBudgetMs?: number;
  /** The rest allowed however long drains take (default 2 s, the fixed cap before the budget above). */
  maxRestMs?: number;
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
  /** A change announced while draining: scheduled when the drain ends, with the rest after it. */
  private requested = false;
  private lastDrainMs = 0;
  private lastDrainEnd = 0;
  /** Whether the current drain wrote rows (set by drainOnce). */
  private wrote = false;
  private stopped = false;
  private lastProjects = 0;
  private client: pg.Client | null = null;
  private columns: Map<string, string[]> | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly engine: KpiEngine,
    private readonly url: string,
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
    // The full refresh of start-up says nothing of what a change costs: the first change is not held back.
    this.lastDrainMs = 0;
    this.lastDrainEnd = 0;
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
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  /** Schedules a drain after the coalescing window. */
  request(): void {
    if (this.stopped || this.timer) return;
    if (this.draining) {
      this.requested = true;
      return;
    }
    const d = this.lastDrainMs;
    const rest =
      this.lastDrainEnd +
      Math.min(
        Math.max((this.opts.restFactor ?? 9) * d, this.opts.minRestMs ?? 1000),
        Math.max(this.opts.maxRestMs ?? 2000, (this.opts.latencyBudgetMs ?? 4000) - 2 * d),
      ) -
      Date.now();
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.drainNow();
      },
      Math.max(this.opts.coalesceMs ?? 20, rest),
    );
  }

  /** Drains until the queue is empty (or another replica holds the lock); one drain at a time here. */
  drainNow(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.running;
    }
    this.draining = true;
    const started = Date.now();
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
        // Only a drain that recomputed something sets the rest: the periodic safety-net drain of an empty
        // queue must not delay the next change, nor make the drains look cheap.
        if (this.wrote) {
          this.wrote = false;
          this.lastDrainEnd = Date.now();
          this.lastDrainMs = this.lastDrainEnd - started;
        }
        if (this.requested) {
          this.requested = false;
          this.request();
        }
      }
    })();
    return this.running;
  }

  /** The refresher's own connection: its transactions hold the claim while the pool computes. */
  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const c = new pg.Client({ connectionString: this.url, application_name: "uplift-reporting" });
    c.on("error", () => {
      if (this.client === c) this.client = null;
    });
    await c.connect();
    if (!this.columns) {
      const rows = await c.query(
        `SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS cols
         FROM information_schema.columns WHERE table_schema = 'reporting' GROUP BY table_name`,
      );
      this.columns = new Map(rows.rows.map((r) => [`reporting.${r.table_name}`, r.cols as string[]]));
    }
    this.client = c;
    return c;
  }

  /**
   * One claimed batch: true when the queue may hold more. Round trips on the claiming connection:
   * BEGIN + lock + claim + the KPIs concerned (one), then the rows and COMMIT (one); the engine computes
   * on the pool in between.
   */
  private async drainOnce(): Promise<boolean> {
    const projectsDue = Date.now() - this.lastProjects >= (this.opts.projectsEveryMs ?? 60_000);
    const c = await this.connection();
    let open = false;
    try {
      // Asynchronous commit: the rows are derived data, and a crash that loses this commit loses the queue
      // claim with it (one transaction), so the change is simply refreshed again after recovery.
      const results = (await c.query(`BEGIN; SET LOCAL synchronous_commit = off;
        WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(${LOCK_KEY}) AS locked),
        claimed AS (
          DELETE FROM reporting_queue WHERE (SELECT locked FROM lock)
            AND id IN (SELECT id FROM reporting_queue ORDER BY id LIMIT ${CLAIM})
          RETURNING kind, kpi_id::text, project_id::text, metric_id::text),
        kpis AS (
          SELECT k.id::text AS id, k.project_id::text AS project_id FROM kpi k
          WHERE EXISTS (SELECT 1 FROM claimed c WHERE c.kind = 'all'
            OR (c.kind = 'kpi' AND c.kpi_id::bigint = k.id)
            OR (c.kind = 'project' AND c.project_id::bigint = k.project_id)
            OR (c.kind = 'metric' AND c.metric_id::bigint = k.metric_id)
            OR (c.kind = 'pair' AND c.project_id::bigint = k.project_id AND c.metric_id::bigint = k.metric_id)))
        SELECT (SELECT locked FROM lock) AS locked,
               (SELECT coalesce(json_agg(c), '[]') FROM claimed c) AS claimed,
               (SELECT coalesce(json_agg(k), '[]') FROM kpis k) AS kpis`)) as unknown as pg.QueryResult[];
      open = true;
      const { locked, claimed, kpis } = results[2].rows[0] as {
        locked: boolean;
        claimed: Claim[];
        kpis: { id: string; project_id: string }[];
      };
      if (!locked) {
        await c.query("ROLLBACK");
        open = false;
        this.retryLater();
        return false;
      }
      if (!claimed.length && !projectsDue) {
        await c.query("COMMIT");
        open = false;
        return false;
      }
      const all = claimed.some((x) => x.kind === "all");
      // Rows of KPIs and projects that were deleted are removed by naming their ids too.
      const kpiIds = new Set([...kpis.map((k) => k.id), ...ids(claimed, "kpi", "kpi_id")]);
      let projectIds = new Set([
        ...kpis.map((k) => k.project_id),
        ...ids(claimed, "project", "project_id"),
        ...ids(claimed, "kpi", "project_id"),
      ]);
      if (all || projectsDue) {
        const every: { id: string }[] = await this.ds.query(
          `SELECT id::text FROM project UNION SELECT project_id::text FROM reporting.projects`,
        );
        projectIds = new Set(every.map((p) => p.id));
      }
      if (all) {
        const stale: { kpi_id: string }[] = await this.ds.query(`SELECT kpi_id::text FROM reporting.kpis`);
        for (const x of stale) kpiIds.add(x.kpi_id);
      }
      const metricIds = ids(claimed, "metric", "metric_id");
      if (all || metricIds.length) {
        const where = all ? "" : `WHERE id = ANY('{${metricIds.join(",")}}'::bigint[])`;
        await c.query(`DELETE FROM reporting.metrics ${where.replace("id =", "metric_id =")};
          INSERT INTO reporting.metrics (key, name, unit, direction, aggregation, description, metric_id)
          SELECT key, name, unit, direction, aggregation, description, id FROM metric ${where}`);
      }
      const kpiList = [...kpiIds];
      const projectList = [...projectIds];
      const refreshed: RefreshedEvent = { kpis: kpiList, projects: projectList };
      const payload = JSON.stringify(refreshed);
      const notify = `SELECT pg_notify('${REFRESHED_CHANNEL}', ${pg.escapeLiteral(
        payload.length < 7000 ? payload : JSON.stringify({ kpis: [], projects: [], many: true }),
      )})`;
      // Chunks keep each statement bounded on a full refresh; a small change is one chunk, sent with COMMIT.
      for (let i = 0; i < Math.max(kpiList.length, projectList.length, 1); i += CHUNK) {
        const kIds = kpiList.slice(i, i + CHUNK);
        const last = i + CHUNK >= Math.max(kpiList.length, projectList.length);
        // Project rows with the last chunk; their inputs load while the engine computes the KPIs.
        const pIds = last ? projectList : [];
        const [rows, inputs] = await Promise.all([
          inBackground(() => computeKpiRows(this.ds, this.engine, kIds)),
          loadProjectInputs(this.ds, pIds),
        ]);
        this.remember(rows.benefits);
        const projects = buildProjectRows(inputs, this.pending, this.currency);
        const cols = (t: string) => this.columns!.get(t)!;
        const sql = upsertStatement(
          [
            { table: "reporting.kpis", owners: kIds, rows: rows.kpis, columns: cols("reporting.kpis") },
            {
              table: "reporting.kpi_windows",
              owners: kIds,
              rows: rows.windows,
              columns: cols("reporting.kpi_windows"),
            },
            { table: "reporting.series", owners: kIds, rows: rows.series, columns: cols("reporting.series") },
            {
              table: "reporting.projects",
              owners: pIds,
              rows: projects,
              columns: cols("reporting.projects"),
            },
          ],
          pg.escapeLiteral,
          last ? `${notify}; COMMIT` : "SELECT 1",
        );
        await c.query(sql);
      }
      open = false;
      this.pending.clear();
      if (all || projectsDue) this.lastProjects = Date.now();
      this.wrote = true;
      this.emit("refreshed", refreshed);
      return claimed.length >= CLAIM;
    } catch (e) {
      this.pending.clear();
      if (open) await c.query("ROLLBACK").catch(() => undefined);
      if (this.client === c) {
        this.client = null;
        await c.end().catch(() => undefined);
      }
      throw e;
    }
  }

  /** Benefits of KPIs written in earlier chunks of this drain (not yet committed, so not readable). */
  private readonly pending = new Map<string, Map<string, number | null>>();
  private remember(b: Map<string, Map<string, number | null>>) {
    for (const [p, m] of b) {
      const into = this.pending.get(p) ?? new Map();
      for (const [k, v] of m) into.set(k, v);
      this.pending.set(p, into);
    }
  }

  private retryLater() {
    // Another replica is draining; it sees what was queued before its claim. Retry for the rest.
    if (this.retry || this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.request();
    }, 250);
    this.retry.unref();
  }
}

interface Claim {
  kind: string;
  kpi_id: string;
  project_id: string;
  metric_id: string;
}

function ids(rows: Claim[], kind: string, col: "kpi_id" | "project_id" | "metric_id"): string[] {
  return [...new Set(rows.filter((r) => r.kind === kind && r[col] !== null).map((r) => r[col]))];
}
