import DataLoader from "dataloader";
import { isBackground, joinable, Lane, type Shared, share } from "./background.js";
import { BOOTSTRAP_SAMPLE_SEED, sampleThreshold } from "./bootstrap-sample.js";
import { Coalescer } from "./coalesce.js";
import { computeFigures, type Interval, type KpiFigures, statisticsApply, windowsOf } from "./figures.js";
import {
  type KpiAggregateSpec,
  type KpiAggregates,
  loadPhaseAggregates,
  loadPhaseSamples,
  loadPhaseSizes,
  PERCENTILE_OF,
  type Queryable,
} from "./phase-aggregates.js";
import {
  additive,
  bucketDays,
  type DaySum,
  dayRange,
  loadDaySums,
  loadSeries,
  type SeriesPoint,
  type SeriesRequest,
} from "./series.js";
import { bootstrapImprovementInterval } from "./statistics/index.js";
import { type LoadedSubject, loadProjectsBySlug, loadSubjects, loadSubjectsOfProjects } from "./subjects.js";

/**
 * Background series of a KPI that its last figures counted at this many observations or more go through the
 * lane (background.ts), one at a time. Smaller ones are mostly round trips (a full refresh of 1,000 small
 * KPIs would otherwise wait for 1,000 of them in a row), and a KPI not computed yet in this process
 * (start-up, which serves nothing yet) runs at once too.
 */
const LANE_MIN_ROWS = 50_000;

/** Samples drawn ahead and not (yet) used are dropped beyond this many. */
const AHEAD_MAX = 64;

interface Entry {
  stamp: string;
  figures: KpiFigures;
  aggregates: KpiAggregates;
  /** The MEDIAN/P90 bootstrap interval, once asked for (undefined = not computed yet). */
  bootstrap?: Shared<Interval | null>;
}

export interface FiguresResult {
  subject: LoadedSubject;
  figures: KpiFigures;
  /** The phase moments behind the figures (governance: power calculations). */
  aggregates?: KpiAggregates;
}

/**
 * Computes KPI figures for many KPIs at once and caches them until something they depend on changes.
 * Validity is checked against stamps kept in the database (KPI, metric and project `updated_at`, and the
 * project × metric's last observation write), so a replica never serves figures another replica has made
 * stale. The stamps are read before the aggregates: a write racing with a computation can only cause one
 * extra recomputation later, never a stale answer kept.
 */
export class KpiEngine {
  private readonly cache = new Map<string, Entry>();
  /** Bootstrap samples drawn ahead of the figures (prefetchSample), by KPI id and stamp, until used. */
  private readonly ahead = new Map<
    string,
    Promise<{ keep: number; values: { before: Float64Array; after: Float64Array } }>
  >();
  /** Entries being computed, by KPI id and stamp: concurrent misses of one KPI share one computation. */
  private readonly computing = new Map<string, Shared<Entry>>();
  /**
   * The change-stamp reads (KPI, metric and project rows with the stamps), coalesced across concurrent
   * requests (src/kpi/coalesce.ts: never from a read that began before the request).
   */
  readonly stamps = {
    byKpi: new Coalescer((ids: string[]) => loadSubjects(this.db, ids)),
    byProject: new Coalescer((ids: string[]) => loadSubjectsOfProjects(this.db, ids)),
    bySlug: new Coalescer((slugs: string[]) => loadProjectsBySlug(this.db, slugs)),
  };
  /** Series by KPI, change stamp and arguments: many dashboards asking for one series cost one query. */
  private readonly seriesCache = new Map<string, Shared<SeriesPoint[]>>();
  /**
   * Day sums of additive KPIs by KPI, stamp and range: the DAY, WEEK and MONTH series of one KPI (the
   * reporting refresher asks for all three after every change) cost one pass over its observations.
   */
  private readonly daysCache = new Map<string, Shared<DaySum[]>>();
  /** Background work's series queries, one at a time (background.ts). */
  private readonly lane = new Lane();
  /** Phase sizes of the KPIs whose samples are drawn ahead in one tick, counted in one statement. */
  private readonly sizes = new DataLoader<KpiAggregateSpec, { before: number; after: number }>(
    async (specs) => {
      const found = await loadPhaseSizes(this.db, [...specs]);
      return specs.map((s) => found.get(s.kpiId)!);
    },
    { cache: false },
  );
  /** Bootstrap samples of the KPIs asked for in one tick, fetched in one statement. */
  private readonly samples = new DataLoader<
    { spec: KpiAggregateSpec; keep: number },
    { before: Float64Array; after: Float64Array }
  >(
    async (keys) => {
      const found = await loadPhaseSamples(
        this.db,
        keys.map((k) => k.spec),
        keys.map((k) => k.keep),
        BOOTSTRAP_SAMPLE_SEED,
      );
      return keys.map((k) => found.get(k.spec.kpiId)!);
    },
    { cache: false },
  );

  constructor(
    /** Also the requests' stamp checks' connection (src/api/context.ts). */
    readonly db: Queryable,
    private readonly maxEntries = 5000,
    private readonly useCache = true,
    private readonly laneMinRows = LANE_MIN_ROWS,
  ) {}

  async figures(kpiIds: readonly string[]): Promise<Map<string, FiguresResult>> {
    return this.figuresOf(await this.subjectsOf(kpiIds));
  }

  /**
   * Figures of subjects the caller has just loaded with their stamps (`loadSubjects*`, within the request
   * being served): no query at all when every stamp matches the cache.
   */
  async figuresOf(subjects: readonly LoadedSubject[]): Promise<Map<string, FiguresResult>> {
    return new Map(
      [...(await this.entriesOf(subjects))].map(([id, e]) => [
        id,
        { subject: e.subject, figures: e.entry.figures, aggregates: e.entry.aggregates },
      ]),
    );
  }

  /**
   * The confidence interval: Welch's (already in the figures) for MEAN; for MEDIAN and P90 a seeded
   * percentile bootstrap over the phase values, computed only when asked for and cached with the figures.
   * Given the figures the caller already holds, a MEAN KPI costs no query at all.
   */
  async confidence(result: FiguresResult): Promise<Interval | null> {
    const p = PERCENTILE_OF[result.subject.metric.aggregation];
    if (p === undefined) return result.figures.confidence;
    const id = result.subject.kpi.id;
    const cached = this.cache.get(id);
    const found =
      cached && cached.stamp === result.subject.stamp
        ? { subject: result.subject, entry: cached }
        : (await this.entries([id])).get(id);
    if (!found) return null;
    const { subject, entry } = found;
    if (!statisticsApply(subject, entry.aggregates.treatment)) return null;
    if (joinable(entry.bootstrap)) return entry.bootstrap.promise;
    const started = share(async () => {
      const { before, after } = entry.aggregates.treatment;
      const keep = sampleThreshold({ before: before.n, after: after.n });
      // A sample fetched ahead (prefetchSample) is the same sample when it was drawn at the same rate.
      const key = `${id}|${subject.stamp}`;
      const ahead = await this.ahead.get(key)?.catch(() => null);
      this.ahead.delete(key);
      const values =
        ahead && ahead.keep === keep
          ? ahead.values
          : await this.samples.load({ spec: specOf(subject), keep });
      return bootstrapImprovementInterval(values.before, values.after, p, subject.metric.direction);
    });
    entry.bootstrap = started;
    started.promise.catch(() => {
      if (entry.bootstrap === started) entry.bootstrap = undefined;
    });
    return started.promise;
  }

  /**
   * Starts drawing a MEDIAN/P90 KPI's bootstrap sample while its figures are being computed, for a request
   * that asks for `confidence`: the sampling rate needs only the phase sizes, which a count over the same
   * index ranges gives long before the percentile aggregates finish. Cold, the interval then costs about
   * max(figures, count + sample) instead of their sum. Nothing is fetched when the cache already holds the
   * KPI's figures at this stamp (the sizes are known), or for cohort KPIs (their count would read the heap).
   */
  prefetchSample(subject: LoadedSubject): void {
    const id = subject.kpi.id;
    const key = `${id}|${subject.stamp}`;
    if (PERCENTILE_OF[subject.metric.aggregation] === undefined || subject.kpi.baselineValue !== null) return;
    if (subject.kpi.cohortDimension || this.ahead.has(key)) return;
    const cached = this.cache.get(id);
    if (cached && cached.stamp === subject.stamp) return;
    const spec = specOf(subject);
    const job = (async () => {
      const keep = sampleThreshold(await this.sizes.load(spec));
      return { keep, values: await this.samples.load({ spec, keep }) };
    })();
    job.catch(() => undefined);
    this.ahead.set(key, job);
    while (this.ahead.size > AHEAD_MAX) this.ahead.delete(this.ahead.keys().next().value!);
  }

  /** A KPI's series, computed in SQL and shared while the KPI's stamp is unchanged. */
  series(
    subject: LoadedSubject,
    req: Omit<SeriesRequest, "projectId" | "metricId" | "aggregation" | "windows" | "cohort">,
  ): Promise<SeriesPoint[]> {
    const { kpi, metric } = subject;
    const full: SeriesRequest = {
      ...req,
      projectId: kpi.projectId,
      metricId: kpi.metricId,
      aggregation: metric.aggregation,
      windows: windowsOf(subject),
      cohort: kpi.cohortDimension
        ? { dimension: kpi.cohortDimension, treatment: kpi.cohortTreatment! }
        : null,
    };
    if (!this.useCache) return loadSeries(this.db, full);
    const key = `${kpi.id}|${subject.stamp}|${req.bucket}|${req.from?.getTime() ?? ""}|${req.to?.getTime() ?? ""}`;
    return this.shared(this.seriesCache, key, () =>
      additive(full.aggregation)
        ? this.daySums(kpi.id, subject.stamp, full).then((days) => bucketDays(days, full))
        : this.background(kpi.id, () => loadSeries(this.db, full)),
    );
  }

  /**
   * The computation cached under `key` when the caller may wait for it (background.ts `joinable`), else a
   * new one in its place; a failed one is forgotten. The map keeps the newest `maxEntries`.
   */
  private shared<T>(map: Map<string, Shared<T>>, key: string, start: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (joinable(hit)) return hit.promise;
    const started = share(start);
    started.promise.catch(() => {
      if (map.get(key) === started) map.delete(key);
    });
    map.delete(key);
    map.set(key, started);
    while (map.size > this.maxEntries) map.delete(map.keys().next().value!);
    return started.promise;
  }

  /** Background work's series queries of large KPIs go through the lane; a request's run at once. */
  private background<T>(kpiId: string, task: () => Promise<T>): Promise<T> {
    if (!isBackground()) return task();
    const known = this.cache.get(kpiId)?.aggregates.treatment;
    if (!known || known.before.n + known.after.n < this.laneMinRows) return task();
    return this.lane.run(task);
  }

  private daySums(kpiId: string, stamp: string, req: SeriesRequest): Promise<DaySum[]> {
    const range = dayRange(req);
    const key = `${kpiId}|${stamp}|${range.lo ?? ""}|${range.hi ?? ""}`;
    return this.shared(this.daysCache, key, () =>
      this.background(kpiId, () => loadDaySums(this.db, req, range)),
    );
  }

  private async entries(
    kpiIds: readonly string[],
  ): Promise<Map<string, { subject: LoadedSubject; entry: Entry }>> {
    return this.entriesOf(await this.subjectsOf(kpiIds));
  }

  /** The KPIs' rows and stamps, read after this call (coalesced with concurrent callers). */
  async subjectsOf(kpiIds: readonly string[]): Promise<LoadedSubject[]> {
    const found = await this.stamps.byKpi.load([...new Set(kpiIds)]);
    return kpiIds.flatMap((id) => found.get(id) ?? []);
  }

  private async entriesOf(
    subjects: readonly LoadedSubject[],
  ): Promise<Map<string, { subject: LoadedSubject; entry: Entry }>> {
    const out = new Map<string, { subject: LoadedSubject; entry: Entry }>();
    const stale: LoadedSubject[] = [];
    const seen = new Set<string>();
    for (const s of subjects) {
      if (seen.has(s.kpi.id)) continue;
      seen.add(s.kpi.id);
      const hit = this.useCache ? this.cache.get(s.kpi.id) : undefined;
      if (hit && hit.stamp === s.stamp) {
        // Refresh its place in the LRU order.
        this.cache.delete(s.kpi.id);
        this.cache.set(s.kpi.id, hit);
        out.set(s.kpi.id, { subject: s, entry: hit });
      } else stale.push(s);
    }
    if (stale.length) {
      const entries = await this.compute(stale);
      for (const s of stale) out.set(s.kpi.id, { subject: s, entry: entries.get(s.kpi.id)! });
    }
    return out;
  }

  /** Entries for subjects the cache does not hold at their stamps; one aggregate batch for those not in progress. */
  private async compute(stale: LoadedSubject[]): Promise<Map<string, Entry>> {
    const key = (s: LoadedSubject) => `${s.kpi.id}|${s.stamp}`;
    const mine = stale.filter((s) => !joinable(this.computing.get(key(s))));
    if (mine.length) {
      const batch = loadPhaseAggregates(this.db, mine.map(specOf)).then((aggregates) => {
        const entries = new Map<string, Entry>();
        for (const s of mine) {
          const agg = aggregates.get(s.kpi.id)!;
          const entry: Entry = {
            stamp: s.stamp,
            figures: computeFigures(s, agg, s.updatedAt),
            aggregates: agg,
          };
          this.remember(s.kpi.id, entry);
          entries.set(s.kpi.id, entry);
        }
        return entries;
      });
      for (const s of mine) {
        const one = share(() => batch.then((m) => m.get(s.kpi.id)!));
        one.promise.catch(() => undefined);
        this.computing.set(key(s), one);
        void one.promise
          .finally(() => {
            if (this.computing.get(key(s)) === one) this.computing.delete(key(s));
          })
          .catch(() => undefined);
      }
    }
    const pairs = await Promise.all(
      stale.map(async (s) => [s.kpi.id, await this.computing.get(key(s))!.promise] as const),
    );
    return new Map(pairs);
  }

  private remember(id: string, entry: Entry) {
    if (!this.useCache) return;
    this.cache.delete(id);
    this.cache.set(id, entry);
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }
}

/** What the SQL needs to know about a KPI. */
export function specOf(s: LoadedSubject): KpiAggregateSpec {
  const { kpi, metric } = s;
  return {
    kpiId: kpi.id,
    projectId: kpi.projectId,
    metricId: kpi.metricId,
    aggregation: metric.aggregation,
    windows: windowsOf(s),
    cohort: kpi.cohortDimension
      ? { dimension: kpi.cohortDimension, treatment: kpi.cohortTreatment!, control: kpi.cohortControl! }
      : null,
  };
}
