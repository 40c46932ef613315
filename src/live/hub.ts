import type { DataSource } from "typeorm";
import type { CollectorRun as CollectorRunType } from "../domain/collector-run.js";
import type { KpiEngine } from "../kpi/engine.js";
import type { Logger } from "../log.js";
import {
  ALERTS_CHANNEL,
  CHANGES_CHANNEL,
  decodeScope,
  notifyChanges,
  RUNS_CHANNEL,
} from "../store/changes.js";
import type { ChangeScope, Events, KpiEvent, KpiFilter, RunFilter } from "./events.js";
import { PgListener } from "./listener.js";
import { Mailbox } from "./mailbox.js";

interface KpiSub {
  filter: KpiFilter;
  box: Mailbox<KpiEvent>;
}
interface RunSub {
  filter: RunFilter;
  box: Mailbox<CollectorRunType>;
}

export interface LiveHubOptions {
  /** At most one recomputation and push per window of this length (default 25 ms); the first change after a
   * quiet window is pushed at once. */
  coalesceMs?: number;
}

/**
 * Live figures without polling. Writers NOTIFY inside their transactions; every process LISTENs on one
 * connection, gathers the changes of a short window, recomputes each affected KPI once (for all of its
 * subscribers) and puts the result in each matching subscriber's mailbox. After the listener reconnects
 * (a database restart), every subscribed KPI is recomputed and pushed, since changes may have been missed.
 */
export class LiveHub implements Events {
  private readonly kpiSubs = new Set<KpiSub>();
  private readonly runSubs = new Set<RunSub>();
  /** Other listeners of the same connection (the alert service). */
  private readonly taps = new Set<(channel: string, payload: string) => void>();
  private readonly listener: PgListener;
  private scope: Required<ChangeScope> & { all: boolean } = LiveHub.emptyScope();
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  /** When the last window was taken (performance.now()); the next one is taken coalesceMs later at the earliest. */
  private lastFlush = Number.NEGATIVE_INFINITY;
  private flushing: Promise<void> = Promise.resolve();
  /** Counters for tests and benchmarks (`subscribed`: subscriptions ever registered). */
  readonly stats = { recomputations: 0, events: 0, subscribed: 0 };

  constructor(
    private readonly ds: DataSource,
    private readonly engine: KpiEngine,
    url: string,
    private readonly log: Logger,
    private readonly opts: LiveHubOptions = {},
  ) {
    this.listener = new PgListener(
      url,
      [CHANGES_CHANNEL, RUNS_CHANNEL, ALERTS_CHANNEL],
      {
        notification: (channel, payload) => this.onNotification(channel, payload),
        reconnected: () => this.merge(null),
      },
      log.child({ component: "live" }),
    );
  }

  private static emptyScope() {
    return { pairs: [], kpiIds: [], projectIds: [], metricIds: [], all: false };
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    if (this.timer && "refresh" in this.timer) clearTimeout(this.timer);
    else if (this.timer) clearImmediate(this.timer);
    await this.listener.stop();
    for (const s of this.kpiSubs) s.box.close();
    for (const s of this.runSubs) s.box.close();
    await this.flushing;
  }

  get listening(): boolean {
    return this.listener.connected;
  }

  /** Updates waiting in subscribers' mailboxes (at most one per KPI per subscriber). */
  backlog(): number {
    let n = 0;
    for (const s of this.kpiSubs) n += s.box.size;
    return n;
  }

  get subscriberCount(): number {
    return this.kpiSubs.size + this.runSubs.size;
  }

  /** After a commit that changed settings (observation writes notify inside their own transaction). */
  async changed(scope: ChangeScope): Promise<void> {
    await notifyChanges(this.ds, scope);
  }

  runFinished(run: CollectorRunType): void {
    this.ds
      .query(`SELECT pg_notify($1, $2)`, [RUNS_CHANNEL, JSON.stringify(run)])
      .catch((e) => this.log.warn("announcing a finished run failed", { error: e }));
  }

  subscribeKpis(filter: KpiFilter): AsyncIterableIterator<KpiEvent> {
    const sub: KpiSub = { filter, box: new Mailbox<KpiEvent>(() => this.kpiSubs.delete(sub)) };
    this.kpiSubs.add(sub);
    this.stats.subscribed++;
    return sub.box;
  }

  subscribeRuns(filter: RunFilter): AsyncIterableIterator<CollectorRunType> {
    const sub: RunSub = { filter, box: new Mailbox<CollectorRunType>(() => this.runSubs.delete(sub)) };
    this.runSubs.add(sub);
    this.stats.subscribed++;
    return sub.box;
  }

  /** Hears every notification this process receives; returns the function that stops it. */
  tap(fn: (channel: string, payload: string) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  private onNotification(channel: string, payload: string) {
    for (const tap of this.taps) tap(channel, payload);
    if (channel === ALERTS_CHANNEL) return;
    if (channel === RUNS_CHANNEL) {
      const run = reviveRun(payload);
      if (!run) return;
      for (const s of this.runSubs) {
        const { collector, collectors } = s.filter;
        if ((!collector || collector === run.collector) && (!collectors || collectors.has(run.collector)))
          s.box.put(run.id, run);
      }
      return;
    }
    const scope = decodeScope(payload);
    if (scope) this.merge(scope);
  }

  /** Adds a change (null: everything) to the current window and makes sure the window will be flushed. */
  private merge(scope: ChangeScope | null) {
    if (scope === null) this.scope.all = true;
    else {
      this.scope.pairs.push(...(scope.pairs ?? []));
      this.scope.kpiIds.push(...(scope.kpiIds ?? []));
      this.scope.projectIds.push(...(scope.projectIds ?? []));
      this.scope.metricIds.push(...(scope.metricIds ?? []));
    }
    if (this.timer) return;
    // The first change after a quiet spell is flushed at once (after the notifications already read from
    // the socket, which may be more chunks of the same commit); later ones wait for the window that began
    // at the previous flush, so a burst of commits costs one recomputation and one fan-out per window.
    const wait = this.lastFlush + (this.opts.coalesceMs ?? 25) - performance.now();
    this.timer = wait > 0 ? setTimeout(() => this.startFlush(), wait) : setImmediate(() => this.startFlush());
  }

  private startFlush() {
    this.timer = null;
    this.lastFlush = performance.now();
    const taken = this.scope;
    this.scope = LiveHub.emptyScope();
    // One flush at a time, in order: a later window never overtakes an earlier one.
    this.flushing = this.flushing
      .then(() => this.flush(taken))
      .catch((e) => this.log.warn("pushing KPI updates failed", { error: e }));
  }

  private async flush(scope: Required<ChangeScope> & { all: boolean }): Promise<void> {
    if (this.kpiSubs.size === 0) return;
    const rows: { kpiId: string; projectSlug: string; metricKey: string }[] = await this.ds.query(
      `SELECT k.id::text AS "kpiId", p.slug AS "projectSlug", m.key AS "metricKey"
       FROM kpi k JOIN project p ON p.id = k.project_id JOIN metric m ON m.id = k.metric_id
       WHERE $6 OR (k.project_id, k.metric_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
          OR k.id = ANY($3::bigint[]) OR k.project_id = ANY($4::bigint[]) OR k.metric_id = ANY($5::bigint[])`,
      [
        scope.pairs.map((p) => p.projectId),
        scope.pairs.map((p) => p.metricId),
        scope.kpiIds,
        scope.projectIds,
        scope.metricIds,
        scope.all,
      ],
    );
    const matches = (f: KpiFilter, r: { projectSlug: string; metricKey: string }) =>
      (!f.projectSlug || f.projectSlug === r.projectSlug) &&
      (!f.metricKey || f.metricKey === r.metricKey) &&
      (!f.projects || f.projects.includes(r.projectSlug));
    const wanted = rows.filter((r) => [...this.kpiSubs].some((s) => matches(s.filter, r)));
    if (!wanted.length) return;
    // Each KPI is recomputed once here, whatever the number of its subscribers.
    const results = await this.engine.figures(wanted.map((r) => r.kpiId));
    this.stats.recomputations += results.size;
    for (const r of wanted) {
      const result = results.get(r.kpiId);
      if (!result) continue;
      const event: KpiEvent = { ...r, result };
      for (const s of this.kpiSubs) {
        if (matches(s.filter, r)) {
          s.box.put(r.kpiId, event);
          this.stats.events++;
        }
      }
    }
  }
}

function reviveRun(payload: string): CollectorRunType | null {
  try {
    const r = JSON.parse(payload);
    const date = (v: string | null) => (v ? new Date(v) : null);
    return {
      ...r,
      scheduledFor: date(r.scheduledFor),
      startedAt: new Date(r.startedAt),
      finishedAt: date(r.finishedAt),
    };
  } catch {
    return null;
  }
}
