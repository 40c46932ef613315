import type { Aggregation } from "../db/entities/metric.js";
import { finiteOrNull } from "./improvement.js";
import { PERCENTILE_OF, type Queryable } from "./phase-aggregates.js";
import type { KpiWindows } from "./phases.js";

export type Bucket = "DAY" | "WEEK" | "MONTH";

export interface SeriesPoint {
  start: Date;
  phase: "BEFORE" | "AFTER";
  value: number | null;
  count: number;
}

export interface SeriesRequest {
  projectId: string;
  metricId: string;
  aggregation: Aggregation;
  windows: KpiWindows;
  /** The treatment cohort when the KPI has one: the series describes the same observations as its figures. */
  cohort: { dimension: string; treatment: string } | null;
  bucket: Bucket;
  from: Date | null;
  to: Date | null;
}

const UNIT: Record<Bucket, string> = { DAY: "day", WEEK: "week", MONTH: "month" };

/**
 * One point per UTC bucket start and phase, computed in SQL. date_trunc('week') starts weeks on Monday
 * (ISO). A bucket that straddles go-live yields a BEFORE and an AFTER point. `from`/`to` keep buckets
 * whose start lies in [from, to); observations are pre-filtered to the widest range those buckets can hold.
 * All calendar arithmetic is done in UTC: `timestamptz + interval '1 day'` would follow the session's
 * TimeZone, where a day across a DST change is 23 hours and would cut the last bucket short.
 */
export async function loadSeries(db: Queryable, r: SeriesRequest): Promise<SeriesPoint[]> {
  return pointsOf(await loadSeriesSums(db, r), r.aggregation);
}

/** One bucket and phase as SQL sums it: the weight, the weighted value and (percentiles) the percentile. */
export interface SeriesSums {
  start: Date;
  phase: "BEFORE" | "AFTER";
  w: number;
  vw: number;
  pct: number | null;
}

/** The points of the sums by the KPI's aggregation. */
export function pointsOf(rows: readonly SeriesSums[], aggregation: Aggregation): SeriesPoint[] {
  return rows.map(({ start, phase, w, vw, pct }) => {
    let value: number | null;
    switch (aggregation) {
      case "MEAN":
        value = finiteOrNull(vw / w);
        break;
      case "SUM":
        value = vw;
        break;
      case "COUNT":
        value = w;
        break;
      default:
        value = pct;
    }
    return { start, phase, value, count: w };
  });
}

/** Whether a whole series of this aggregation can be summed up from its DAY sums (not a percentile). */
export function rollsUp(aggregation: Aggregation): boolean {
  return PERCENTILE_OF[aggregation] === undefined;
}

const DAY_MS = 86_400_000;

/**
 * A whole WEEK or MONTH series from the whole DAY series' sums (MEAN, SUM, COUNT only): a UTC day lies in
 * exactly one ISO week and one month, and a day's phase is its rows' phase, so the groups are the ones SQL
 * would form; one scan of the KPI's rows then serves all three buckets (the reporting refresher asks for all
 * three after every change). Sums are added per day rather than per row: equal up to floating-point rounding.
 */
export function rollUpDays(days: readonly SeriesSums[], bucket: "WEEK" | "MONTH"): SeriesSums[] {
  const groups = new Map<string, SeriesSums>();
  for (const d of days) {
    const t = d.start.getTime();
    const day = new Date(t);
    const start =
      bucket === "WEEK"
        ? t - ((day.getUTCDay() + 6) % 7) * DAY_MS
        : Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1);
    const key = `${start}|${d.phase}`;
    const g = groups.get(key);
    if (g) {
      g.w += d.w;
      g.vw += d.vw;
    } else groups.set(key, { start: new Date(start), phase: d.phase, w: d.w, vw: d.vw, pct: null });
  }
  // As SQL orders them: by start, then BEFORE before AFTER.
  return [...groups.values()].sort(
    (a, b) =>
      a.start.getTime() - b.start.getTime() || (a.phase === b.phase ? 0 : a.phase === "BEFORE" ? -1 : 1),
  );
}

/** The series' sums per bucket and phase, in SQL (see loadSeries). */
export async function loadSeriesSums(db: Queryable, r: SeriesRequest): Promise<SeriesSums[]> {
  const p = PERCENTILE_OF[r.aggregation] ?? null;
  const params: unknown[] = [
    r.projectId,
    r.metricId,
    r.windows.before?.from?.toISOString() ?? null,
    r.windows.before?.to?.toISOString() ?? null,
    r.windows.after.from?.toISOString() ?? null,
    r.windows.after.to?.toISOString() ?? null,
    UNIT[r.bucket],
    r.from?.toISOString() ?? null,
    r.to?.toISOString() ?? null,
    r.cohort?.dimension ?? null,
    r.cohort?.treatment ?? null,
    p,
  ];
  // Cumulative weights are only needed for the weighted percentile; MEAN, SUM and COUNT skip the sort.
  const cumulative =
    p === null
      ? "0 AS cw, 0 AS tw"
      : `sum(weight) OVER (PARTITION BY start, phase ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw,
         sum(weight) OVER (PARTITION BY start, phase) AS tw`;
  const bucketStart = `(date_trunc($7, o.observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
  const sql = `
    WITH x AS (
      SELECT ${bucketStart} AS start, ph.phase, o.value, o.weight
      FROM observation o
      CROSS JOIN LATERAL (VALUES
        ('BEFORE', $4::timestamptz IS NOT NULL AND o.observed_at < $4 AND ($3::timestamptz IS NULL OR o.observed_at >= $3)),
        ('AFTER', ($5::timestamptz IS NULL OR o.observed_at >= $5) AND ($6::timestamptz IS NULL OR o.observed_at < $6))
      ) ph(phase, inside)
      WHERE o.project_id = $1 AND o.metric_id = $2 AND ph.inside
        AND ($8::timestamptz IS NULL OR o.observed_at >= $8::timestamptz)
        AND ($9::timestamptz IS NULL
          OR o.observed_at < (($9::timestamptz AT TIME ZONE 'UTC') + ('1 ' || $7)::interval) AT TIME ZONE 'UTC')
        AND ($10::text IS NULL OR o.dimensions ->> $10 = $11)
    ), b AS (
      SELECT x.*, ${cumulative}
      FROM x
      WHERE ($8::timestamptz IS NULL OR start >= $8) AND ($9::timestamptz IS NULL OR start < $9)
    )
    SELECT start, phase, sum(weight) AS w, sum(value * weight) AS vw,
      min(value) FILTER (WHERE $12::float8 IS NOT NULL AND cw >= $12 * tw * (1 - 1e-12)) AS pct
    FROM b GROUP BY start, phase ORDER BY start, phase DESC`;
  const rows = await db.query(sql, params);
  return rows.map((row) => ({
    start: row.start as Date,
    phase: row.phase,
    w: Number(row.w),
    vw: Number(row.vw),
    pct: row.pct === null ? null : Number(row.pct),
  }));
}
