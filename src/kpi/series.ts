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
  if (additive(r.aggregation)) return bucketDays(await loadDaySums(db, r, dayRange(r)), r);
  return loadPercentileSeries(db, r);
}

/** MEAN, SUM and COUNT buckets are sums of whole UTC days (weeks and months start at midnight UTC). */
export function additive(aggregation: Aggregation): boolean {
  return PERCENTILE_OF[aggregation] === undefined;
}

/** Weight and weighted value of one UTC day and phase. */
export interface DaySum {
  start: number;
  phase: "BEFORE" | "AFTER";
  w: number;
  vw: number;
}

/**
 * The observations whose days can fall into the request's buckets: a bucket kept starts at or after
 * `from`, and one starting before `to` ends before `to` plus one bucket. ISO strings; null: unbounded.
 */
export function dayRange(r: Pick<SeriesRequest, "bucket" | "from" | "to">): {
  lo: string | null;
  hi: string | null;
} {
  let hi: Date | null = null;
  if (r.to) {
    hi = new Date(r.to.getTime());
    if (r.bucket === "MONTH") hi.setUTCMonth(hi.getUTCMonth() + 1);
    else hi.setUTCDate(hi.getUTCDate() + (r.bucket === "WEEK" ? 7 : 1));
  }
  return { lo: r.from?.toISOString() ?? null, hi: hi?.toISOString() ?? null };
}

/**
 * Sums by UTC day and phase, in one pass over the KPI's index range, shared by the DAY, WEEK and MONTH
 * series of one KPI (the reporting refresher recomputes all three after every committed batch). An observation inside both
 * windows (when they overlap) counts in both phases, as in the figures.
 */
export async function loadDaySums(
  db: Queryable,
  r: Omit<SeriesRequest, "bucket" | "from" | "to">,
  range: { lo: string | null; hi: string | null },
): Promise<DaySum[]> {
  // One index range scan per UTC day that has observations (each next such day found by one index probe,
  // so years without data cost nothing): no per-row bucket arithmetic, no sort or hash of the rows (a sort
  // of 1M rows spills to disk at the default work_mem). Days are 24 hours: `+ interval '1 day'` would
  // follow the session's TimeZone across a DST change.
  const inRange = `($7::timestamptz IS NULL OR o.observed_at >= $7) AND ($8::timestamptz IS NULL OR o.observed_at < $8)`;
  const dayOf = (at: string) => `date_bin('24 hours', ${at}, TIMESTAMPTZ '2000-01-03 00:00:00+00')`;
  const rows = await db.query(
    `WITH RECURSIVE days(day) AS (
       SELECT ${dayOf("min(o.observed_at)")} FROM observation o
       WHERE o.project_id = $1 AND o.metric_id = $2 AND ${inRange}
       UNION ALL
       SELECT (SELECT ${dayOf("o.observed_at")} FROM observation o
               WHERE o.project_id = $1 AND o.metric_id = $2 AND ${inRange}
                 AND o.observed_at >= days.day + interval '24 hours'
               ORDER BY o.observed_at LIMIT 1)
       FROM days WHERE days.day IS NOT NULL
     )
     SELECT extract(epoch FROM d.day)::float8 * 1000 AS start, s.*
     FROM days d
     CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE b) AS bn, sum(weight) FILTER (WHERE b) AS bw,
         sum(value * weight) FILTER (WHERE b) AS bvw, count(*) FILTER (WHERE a) AS an,
         sum(weight) FILTER (WHERE a) AS aw, sum(value * weight) FILTER (WHERE a) AS avw
       FROM (
         SELECT o.value, o.weight,
           $4::timestamptz IS NOT NULL AND o.observed_at < $4 AND ($3::timestamptz IS NULL OR o.observed_at >= $3) AS b,
           ($5::timestamptz IS NULL OR o.observed_at >= $5) AND ($6::timestamptz IS NULL OR o.observed_at < $6) AS a
         FROM observation o
         WHERE o.project_id = $1 AND o.metric_id = $2
           AND o.observed_at >= d.day AND o.observed_at < d.day + interval '24 hours' AND ${inRange}
           AND ($9::text IS NULL OR o.dimensions ->> $9 = $10)
       ) x
     ) s
     WHERE d.day IS NOT NULL AND (s.bn > 0 OR s.an > 0)`,
    [...seriesKeyParams(r), range.lo, range.hi, r.cohort?.dimension ?? null, r.cohort?.treatment ?? null],
  );
  const out: DaySum[] = [];
  for (const row of rows) {
    const start = Number(row.start);
    if (Number(row.bn) > 0) out.push({ start, phase: "BEFORE", w: Number(row.bw), vw: Number(row.bvw) });
    if (Number(row.an) > 0) out.push({ start, phase: "AFTER", w: Number(row.aw), vw: Number(row.avw) });
  }
  return out;
}

const DAY_MS = 86_400_000;

/** The UTC start of the bucket holding a day that starts at `day` (ms): weeks start on Monday (ISO). */
function bucketOf(day: number, bucket: Bucket): number {
  if (bucket === "DAY") return day;
  if (bucket === "WEEK") return day - ((((Math.floor(day / DAY_MS) + 3) % 7) + 7) % 7) * DAY_MS; // 1970-01-01 was a Thursday
  const d = new Date(day);
  d.setUTCDate(1);
  return d.getTime();
}

/** The points of an additive series from its day sums: buckets starting in [from, to), in order, BEFORE first. */
export function bucketDays(
  days: readonly DaySum[],
  r: Pick<SeriesRequest, "aggregation" | "bucket" | "from" | "to">,
): SeriesPoint[] {
  const from = r.from?.getTime() ?? Number.NEGATIVE_INFINITY;
  const to = r.to?.getTime() ?? Number.POSITIVE_INFINITY;
  const sums = new Map<string, DaySum>();
  for (const d of days) {
    const start = bucketOf(d.start, r.bucket);
    if (start < from || start >= to) continue;
    const key = `${start}|${d.phase}`;
    const s = sums.get(key);
    if (s) {
      s.w += d.w;
      s.vw += d.vw;
    } else sums.set(key, { start, phase: d.phase, w: d.w, vw: d.vw });
  }
  return [...sums.values()]
    .sort((a, b) => a.start - b.start || (a.phase === b.phase ? 0 : a.phase === "BEFORE" ? -1 : 1))
    .map((s) => ({
      start: new Date(s.start),
      phase: s.phase,
      value: r.aggregation === "MEAN" ? finiteOrNull(s.vw / s.w) : r.aggregation === "SUM" ? s.vw : s.w,
      count: s.w,
    }));
}

/** $1–$6 of both series queries: the KPI's project and metric, then its phase windows' bounds. */
function seriesKeyParams(r: Pick<SeriesRequest, "projectId" | "metricId" | "windows">): (string | null)[] {
  const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
  const { before, after } = r.windows;
  return [r.projectId, r.metricId, iso(before?.from), iso(before?.to), iso(after.from), iso(after.to)];
}

/**
 * MEDIAN and P90: a weighted percentile per bucket and phase, which day sums cannot give. Each bucket that
 * has observations is found by one index probe after the previous one, and each of its phases is one
 * index range (bucket ∩ phase window) sorted on its own: small sorts in memory, instead of one sort of the
 * KPI's every row by (bucket, phase, value) that spills to disk, and no per-row phase arithmetic.
 */
async function loadPercentileSeries(db: Queryable, r: SeriesRequest): Promise<SeriesPoint[]> {
  const p = PERCENTILE_OF[r.aggregation]!;
  const params: unknown[] = [
    ...seriesKeyParams(r),
    UNIT[r.bucket],
    r.from?.toISOString() ?? null,
    r.to?.toISOString() ?? null,
    r.cohort?.dimension ?? null,
    r.cohort?.treatment ?? null,
    p,
  ];
  // Calendar arithmetic in UTC (see loadSeries); $7 is the bucket's unit.
  const trunc = (t: string) => `(date_trunc($7, ${t} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
  const endOf = (t: string) => `((${t} AT TIME ZONE 'UTC') + ('1 ' || $7)::interval) AT TIME ZONE 'UTC'`;
  const key = "o.project_id = $1 AND o.metric_id = $2";
  // Observations of the buckets kept: those starting in [from, to).
  const inRange = `($8::timestamptz IS NULL OR o.observed_at >= $8::timestamptz)
    AND ($9::timestamptz IS NULL OR o.observed_at < ${endOf("$9::timestamptz")})`;
  // The smallest value whose cumulative weight reaches p of the phase's weight (as the figures).
  const phase = (name: string, lo: string, hi: string) => `
      SELECT '${name}'::text AS phase, sum(weight) AS w,
        min(value) FILTER (WHERE cw >= $12::float8 * tw * (1 - 1e-12)) AS pct
      FROM (
        SELECT o.value, o.weight,
          sum(o.weight) OVER (ORDER BY o.value ROWS UNBOUNDED PRECEDING) AS cw,
          sum(o.weight) OVER () AS tw
        FROM observation o
        WHERE ${key} AND o.observed_at >= greatest(b.start, ${lo}) AND o.observed_at < least(b.stop, ${hi})
          AND ($10::text IS NULL OR o.dimensions ->> $10 = $11)
      ) x
      HAVING count(*) > 0`;
  const sql = `
    WITH RECURSIVE found(start) AS (
      SELECT ${trunc("min(o.observed_at)")} FROM observation o WHERE ${key} AND ${inRange}
      UNION ALL
      SELECT (SELECT ${trunc("o.observed_at")} FROM observation o
              WHERE ${key} AND ${inRange} AND o.observed_at >= ${endOf("found.start")}
              ORDER BY o.observed_at LIMIT 1)
      FROM found WHERE found.start IS NOT NULL
    ), b AS (
      SELECT start, ${endOf("start")} AS stop FROM found
      WHERE start IS NOT NULL AND ($8::timestamptz IS NULL OR start >= $8) AND ($9::timestamptz IS NULL OR start < $9)
    )
    SELECT b.start, s.phase, s.w, s.pct
    FROM b CROSS JOIN LATERAL (
      SELECT * FROM (${phase("BEFORE", "$3::timestamptz", "$4::timestamptz")}) before
      WHERE $4::timestamptz IS NOT NULL
      UNION ALL
      ${phase("AFTER", "$5::timestamptz", "$6::timestamptz")}
    ) s
    ORDER BY b.start, s.phase DESC`;
  const rows = await db.query(sql, params);
  return rows.map((row) => ({
    start: row.start as Date,
    phase: row.phase,
    value: row.pct === null ? null : Number(row.pct),
    count: Number(row.w),
  }));
}
