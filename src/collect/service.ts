import type {
  CollectorRun as CollectorRunType,
  CollectorSummary as CollectorType,
} from "../domain/collector-run.js";
import { latestMissed, nextOccurrence } from "../domain/cron-time.js";
import { NotFoundError } from "../errors.js";
import type { CollectorDirectory } from "./collector-directory.js";
import type { Instance } from "./instances.js";
import { executeRun, type RunnerDeps, type RunOptions } from "./runner.js";
import {
  claimManual,
  claimScheduled,
  getRun,
  lastActivity,
  lastRuns,
  listRuns,
  type RunRow,
  reapDeadRuns,
  recordSkipped,
  toApi,
} from "./runs.js";

export interface CollectorServiceOptions {
  /** A RUNNING run without a heartbeat for this long is closed as FAILED (default 60 s). */
  leaseMs?: number;
  /** How long runCollector waits before answering with the RUNNING run (default 60 s). */
  answerWithinMs?: number;
  run?: Omit<RunOptions, "signal" | "range" | "onProgress">;
  /** The current time, for missed schedules and next-run times (tests fix it). */
  now?: () => Date;
}

/**
 * Collector instances at run time: the API's view of them, runs on demand, and the scheduler. Each
 * scheduled time is claimed in the database first, so with several processes it runs exactly once.
 */
export class CollectorService implements CollectorDirectory {
  private readonly byName: Map<string, Instance>;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly active = new Set<Promise<RunRow>>();
  private readonly shutdown = new AbortController();
  private reaper: NodeJS.Timeout | null = null;
  private scheduling = false;

  constructor(
    private readonly deps: RunnerDeps,
    readonly instances: Instance[],
    private readonly opts: CollectorServiceOptions = {},
  ) {
    this.byName = new Map(instances.map((i) => [i.name, i]));
  }

  private get leaseMs() {
    return this.opts.leaseMs ?? 60_000;
  }

  async list(): Promise<CollectorType[]> {
    const last = await lastRuns(this.deps.ds, [...this.byName.keys()]);
    const now = this.opts.now?.() ?? new Date();
    return [...this.instances]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((i) => {
        const run = last.get(i.name);
        return {
          name: i.name,
          type: i.config.type,
          schedule: i.config.schedule,
          projectSlug: i.config.project,
          metricKey: i.config.metric,
          enabled: i.config.enabled,
          lastRun: run ? toApi(run) : null,
          nextRunAt: this.scheduling && i.config.enabled ? nextOccurrence(i.config.schedule, now) : null,
        };
      });
  }

  async runs(collector: string | null, limit: number): Promise<CollectorRunType[]> {
    return (await listRuns(this.deps.ds, collector, limit)).map(toApi);
  }

  /** Starts a run now (outside the schedule); answers when it ends, or with the RUNNING run after a minute. */
  async runNow(name: string): Promise<CollectorRunType> {
    const run = await this.startManual(name);
    const waited = await Promise.race([
      run.done,
      new Promise<null>((r) => setTimeout(() => r(null), this.opts.answerWithinMs ?? 60_000).unref()),
    ]);
    return toApi(waited ?? (await getRun(this.deps.ds, run.row.id))!);
  }

  /** Claims a manual run (CONFLICT when one is going) and starts it; for the API and the command line. */
  async startManual(
    name: string,
    opts: Pick<RunOptions, "range" | "onProgress"> = {},
  ): Promise<{ row: RunRow; done: Promise<RunRow> }> {
    const inst = this.byName.get(name);
    if (!inst) throw new NotFoundError(`no collector instance named "${name}"`);
    await reapDeadRuns(this.deps.ds, this.leaseMs, this.deps.owner);
    const row = await claimManual(this.deps.ds, name, this.deps.owner);
    return { row, done: this.launch(inst, row, opts) };
  }

  private launch(
    inst: Instance,
    row: RunRow,
    extra: Pick<RunOptions, "range" | "onProgress"> = {},
  ): Promise<RunRow> {
    const p = executeRun(this.deps, inst, row, { ...this.opts.run, ...extra, signal: this.shutdown.signal });
    this.active.add(p);
    void p.finally(() => this.active.delete(p)).catch(() => undefined);
    return p;
  }

  /** Handles one scheduled time of an instance: run it, record it SKIPPED, or leave it to another process. */
  async onScheduledTime(inst: Instance, when: Date): Promise<RunRow | null> {
    const scheduledFor = new Date(Math.floor(when.getTime() / 1000) * 1000);
    const { ds, owner } = this.deps;
    for (let attempt = 0; attempt < 2; attempt++) {
      const claimed = await claimScheduled(ds, inst.name, scheduledFor, owner);
      if (claimed) {
        this.launch(inst, claimed);
        return claimed;
      }
      const skipped = await recordSkipped(ds, inst.name, scheduledFor, owner);
      if (skipped) {
        this.deps.log.info("scheduled run skipped: the previous run is still going", {
          collector: inst.name,
        });
        this.deps.events.runFinished(toApi(skipped));
        return skipped;
      }
      // Neither: another process claimed this time, or the running run ended in between (claim again).
    }
    return null;
  }

  /** Schedules every enabled instance; an instance overdue since the last process stopped runs once now. */
  async startScheduler(): Promise<void> {
    this.scheduling = true;
    const { ds, log, owner } = this.deps;
    const reaped = await reapDeadRuns(ds, this.leaseMs, owner);
    for (const r of reaped)
      log.warn("closed a run whose process stopped", { collector: r.instance, run: r.id });
    this.reaper = setInterval(
      () => {
        reapDeadRuns(ds, this.leaseMs, owner).catch((e) => log.warn("reaping runs failed", { error: e }));
      },
      Math.max(1000, this.leaseMs / 2),
    );
    this.reaper.unref();
    const now = this.opts.now?.() ?? new Date();
    for (const inst of this.instances.filter((i) => i.config.enabled)) {
      const last = await lastActivity(ds, inst.name);
      const missed = last ? latestMissed(inst.config.schedule, last, now) : null;
      if (missed) {
        log.info("collector overdue since the last start: running it once", { collector: inst.name, missed });
        await this.onScheduledTime(inst, missed);
      }
      // Armed after the overdue run is claimed, so that the next time (already due, if the clock moved on
      // meanwhile) never takes the overdue run's place.
      this.arm(inst, now);
    }
  }

  /** Sets a timer for the instance's next scheduled time after `after`; it handles that time and re-arms. */
  private arm(inst: Instance, after: Date): void {
    if (!this.scheduling) return;
    const when = nextOccurrence(inst.config.schedule, after);
    // setTimeout holds at most 2^31-1 ms (24.8 days), and may fire a millisecond early: check, re-arm.
    const wait = () => Math.min(when.getTime() - Date.now(), 2 ** 31 - 1);
    const fire = () => {
      if (!this.scheduling) return;
      if (Date.now() < when.getTime()) {
        this.timers.set(inst.name, setTimeout(fire, Math.max(1, wait())).unref());
        return;
      }
      // After a stall (a suspended machine), the next time is after now: missed times are not replayed.
      this.arm(inst, new Date(Math.max(when.getTime(), Date.now())));
      this.onScheduledTime(inst, when).catch((e) =>
        this.deps.log.error("scheduling failed", { collector: inst.name, error: e }),
      );
    };
    this.timers.set(inst.name, setTimeout(fire, Math.max(0, wait())).unref());
  }

  /** Stops scheduling and cancels running runs (they end FAILED, keeping what they committed). */
  async stop(): Promise<void> {
    this.scheduling = false;
    if (this.reaper) clearInterval(this.reaper);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.shutdown.abort();
    await Promise.allSettled([...this.active]);
  }
}
