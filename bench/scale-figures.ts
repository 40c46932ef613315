// The `scale` benchmark's floor for one KPI's current figures, the best raw SQL for the question: per phase
// (the two sent at once, as the app sends its two), one index-only range scan of `observation_range` (project, metric, observed_at) INCLUDE (value, weight, id),
// as the app's SQL does, computing only what the query asks (weighted mean or weighted percentile, Σweight,
// first and last observed_at); and the figures JavaScript computes over the generated rows.
import type pg from "pg";
import { GO_LIVE } from "./data.js";
import { floorRows } from "./kpi.js";
import { datasetOf, type KpiDef } from "./scale-data.js";

/** Per phase (BEFORE, then AFTER), the weighted mean, Σweight, first and last observed_at over its range. */
export const MEAN_RANGE_FLOOR = [false, true].map(
  (after) => `
SELECT ${after} AS after, sum(value * weight) / sum(weight) AS value, sum(weight) AS count,
       min(observed_at) AS "from", max(observed_at) AS "to"
FROM observation WHERE project_id = $1 AND metric_id = $2 AND observed_at ${after ? ">=" : "<"} $3`,
);

/** Weighted percentile $4 per phase: Σweight from one range scan, then a value-ordered scan of the same range. */
export const pctPhase = (after: boolean) => {
  const range = `project_id = $1 AND metric_id = $2 AND observed_at ${after ? ">=" : "<"} $3`;
  return `SELECT ${after} AS after,
  (SELECT s.value FROM (
     SELECT value, sum(weight) OVER (ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw FROM observation WHERE ${range}
   ) s WHERE s.cw >= $4 * t.w ORDER BY s.value LIMIT 1) AS value,
  t.w AS count, t."from", t."to"
FROM (SELECT sum(weight) AS w, min(observed_at) AS "from", max(observed_at) AS "to" FROM observation WHERE ${range}) t`;
};
export const PCT_RANGE_FLOOR = [pctPhase(false), pctPhase(true)];

export interface Figures {
  baseline: { value: number; count: number; from: string; to: string };
  current: { value: number; count: number };
}

/** The floor on a pool of two connections (bench/kpi.ts `floorPool`): MEAN's phases at once, a percentile's in one statement, as the app. */
export async function floorFigures(pool: pg.Pool, k: KpiDef): Promise<Figures> {
  const p = k.aggregation === "MEDIAN" ? 0.5 : k.aggregation === "P90" ? 0.9 : null;
  const base = [k.ids.project, k.ids.metric, GO_LIVE.toISOString()];
  const rows =
    p === null
      ? await floorRows(pool, MEAN_RANGE_FLOOR, base, true)
      : await floorRows(pool, PCT_RANGE_FLOOR, [...base, p], false);
  const b = rows.find((r) => r.after === false);
  const a = rows.find((r) => r.after === true);
  return {
    baseline: {
      value: Number(b.value),
      count: Number(b.count),
      from: b.from.toISOString(),
      to: b.to.toISOString(),
    },
    current: { value: Number(a.value), count: Number(a.count) },
  };
}

/** What JavaScript computes over the generated rows (weights 1): mean, or the ⌈p·n⌉-th smallest value. */
export function expectedFigures(k: KpiDef): Figures {
  const d = datasetOf(k);
  const p = k.aggregation === "MEDIAN" ? 0.5 : k.aggregation === "P90" ? 0.9 : null;
  const half = Math.floor(d.n / 2);
  const phase = (lo: number, hi: number) => {
    const xs = Float64Array.from(d.value.subarray(lo, hi)).sort();
    const n = hi - lo;
    const value =
      p === null ? d.value.subarray(lo, hi).reduce((s, x) => s + x, 0) / n : xs[Math.ceil(p * n) - 1]!;
    return { value, count: n };
  };
  const iso = (i: number) => new Date(d.observedAt[i]!).toISOString();
  return { baseline: { ...phase(0, half), from: iso(0), to: iso(half - 1) }, current: phase(half, d.n) };
}

export function checkFigures(label: string, got: Figures, want: Figures) {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  const ok =
    close(got.baseline.value, want.baseline.value) &&
    close(got.current.value, want.current.value) &&
    got.baseline.count === want.baseline.count &&
    got.current.count === want.current.count &&
    new Date(got.baseline.from).toISOString() === want.baseline.from &&
    new Date(got.baseline.to).toISOString() === want.baseline.to;
  if (!ok)
    throw new Error(`${label}: figures differ\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
}
