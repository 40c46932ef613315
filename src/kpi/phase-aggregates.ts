import type { Aggregation } from "../db/entities/metric.js";
import type { KpiWindows } from "./phases.js";

// The phase aggregates of many KPIs in one SQL statement per kind (moments, or moments plus a weighted
// percentile), so that a page of projects asking for their KPIs costs two queries, not one per KPI.

/** What the SQL needs to know about one KPI. */
export interface KpiAggregateSpec {
  kpiId: string;
  projectId: string;
  metricId: string;
  aggregation: Aggregation;
  windows: KpiWindows;
  cohort: { dimension: string; treatment: string; control: string } | null;
}

/** One phase of one cohort: weighted figures for the KPI, unweighted moments for the statistics. */
export interface PhaseAggregate {
  /** Σweight. */
  weight: number;
  /** Σ(value·weight). */
  weightedSum: number;
  /** Number of observations (each one sample for the statistics). */
  n: number;
  /** Unweighted sample mean and variance (var_samp: numerically stable in PostgreSQL). */
  mean: number | null;
  variance: number | null;
  /** Smallest and largest value: equal means zero variance exactly, whatever var_samp's round-off. */
  min: number | null;
  max: number | null;
  first: Date | null;
  last: Date | null;
  /** Weighted percentile, for MEDIAN and P90 only. */
  percentile: number | null;
}

export interface CohortAggregates {
  before: PhaseAggregate;
  after: PhaseAggregate;
}

/** `treatment` holds everything when the KPI has no cohort. */
export interface KpiAggregates {
  treatment: CohortAggregates;
  control: CohortAggregates | null;
}

export const EMPTY_PHASE: PhaseAggregate = Object.freeze({
  weight: 0,
  weightedSum: 0,
  n: 0,
  mean: null,
  variance: null,
  min: null,
  max: null,
  first: null,
  last: null,
  percentile: null,
});

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<any[]>;
}

export const PERCENTILE_OF: Partial<Record<Aggregation, number>> = { MEDIAN: 0.5, P90: 0.9 };

const K_COLUMNS = `unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[],
  $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::float8[])
  AS k(kpi, project_id, metric_id, bf, bt, af, at_, dim, treat, ctrl, p)`;

const BEFORE = "(k.bt IS NOT NULL AND o.observed_at < k.bt AND (k.bf IS NULL OR o.observed_at >= k.bf))";
const AFTER = "((k.af IS NULL OR o.observed_at >= k.af) AND (k.at_ IS NULL OR o.observed_at < k.at_))";

/** Without cohorts the query never reads `dimensions`, so PostgreSQL can answer from the index alone. */
function cohortExpr(withCohorts: boolean): string {
  return withCohorts
    ? `CASE WHEN o.dimensions ->> k.dim = k.treat THEN 'T' WHEN o.dimensions ->> k.dim = k.ctrl THEN 'C' END`
    : `'T'`;
}

function params(specs: KpiAggregateSpec[]): unknown[] {
  const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
  return [
    specs.map((s) => s.kpiId),
    specs.map((s) => s.projectId),
    specs.map((s) => s.metricId),
    specs.map((s) => iso(s.windows.before?.from)),
    specs.map((s) => iso(s.windows.before?.to)),
    specs.map((s) => iso(s.windows.after.from)),
    specs.map((s) => iso(s.windows.after.to)),
    specs.map((s) => s.cohort?.dimension ?? null),
    specs.map((s) => s.cohort?.treatment ?? null),
    specs.map((s) => s.cohort?.control ?? null),
    specs.map((s) => PERCENTILE_OF[s.aggregation] ?? null),
  ];
}

function momentsSql(withCohorts: boolean): string {
  const phase = (cond: string, p: string) => `
    sum(o.weight) FILTER (WHERE ${cond}) AS ${p}_w,
    sum(o.value * o.weight) FILTER (WHERE ${cond}) AS ${p}_vw,
    count(*) FILTER (WHERE ${cond}) AS ${p}_n,
    avg(o.value) FILTER (WHERE ${cond}) AS ${p}_mean,
    var_samp(o.value) FILTER (WHERE ${cond}) AS ${p}_var,
    min(o.value) FILTER (WHERE ${cond}) AS ${p}_min,
    max(o.value) FILTER (WHERE ${cond}) AS ${p}_max,
    min(o.observed_at) FILTER (WHERE ${cond}) AS ${p}_first,
    max(o.observed_at) FILTER (WHERE ${cond}) AS ${p}_last`;
  return `
    SELECT k.kpi, g.cohort, ${phase(BEFORE, "b")}, ${phase(AFTER, "a")}
    FROM ${K_COLUMNS}
    JOIN observation o ON o.project_id = k.project_id AND o.metric_id = k.metric_id
    CROSS JOIN LATERAL (SELECT ${cohortExpr(withCohorts)} AS cohort) g
    WHERE g.cohort IS NOT NULL AND (${BEFORE} OR ${AFTER})
    GROUP BY k.kpi, g.cohort`;
}

// The weighted percentile: the smallest value whose cumulative weight reaches p of the phase's total.
// The relative tolerance keeps float sums such as 0.1 + 0.2 from missing an exact 50 % by one ulp.
function percentileSql(withCohorts: boolean): string {
  return `
    WITH x AS (
      SELECT k.kpi, g.cohort, ph.phase, k.p, o.value, o.weight, o.observed_at
      FROM ${K_COLUMNS}
      JOIN observation o ON o.project_id = k.project_id AND o.metric_id = k.metric_id
      CROSS JOIN LATERAL (SELECT ${cohortExpr(withCohorts)} AS cohort) g
      CROSS JOIN LATERAL (VALUES ('b', ${BEFORE}), ('a', ${AFTER})) ph(phase, inside)
      WHERE g.cohort IS NOT NULL AND ph.inside
    ), c AS (
      SELECT x.*,
        sum(weight) OVER (PARTITION BY kpi, cohort, phase ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw,
        sum(weight) OVER (PARTITION BY kpi, cohort, phase) AS tw
      FROM x
    )
    SELECT kpi, cohort, phase, sum(weight) AS w, sum(value * weight) AS vw, count(*) AS n,
      avg(value) AS mean, var_samp(value) AS var, min(value) AS min, max(value) AS max, min(observed_at) AS first, max(observed_at) AS last,
      min(value) FILTER (WHERE cw >= p * tw * (1 - 1e-12)) AS pct
    FROM c GROUP BY kpi, cohort, phase`;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function phaseFrom(row: Record<string, unknown>, prefix: string): PhaseAggregate {
  const n = Number(row[`${prefix}n`] ?? 0);
  if (n === 0) return EMPTY_PHASE;
  return {
    weight: Number(row[`${prefix}w`]),
    weightedSum: Number(row[`${prefix}vw`]),
    n,
    mean: num(row[`${prefix}mean`]),
    variance: num(row[`${prefix}var`]),
    min: num(row[`${prefix}min`]),
    max: num(row[`${prefix}max`]),
    first: (row[`${prefix}first`] as Date) ?? null,
    last: (row[`${prefix}last`] as Date) ?? null,
    percentile: num(row[`${prefix}pct`]),
  };
}

/** Aggregates of every KPI in `specs`, keyed by KPI id; KPIs without observations get empty phases. */
export async function loadPhaseAggregates(
  db: Queryable,
  specs: KpiAggregateSpec[],
): Promise<Map<string, KpiAggregates>> {
  const out = new Map<string, KpiAggregates>();
  for (const s of specs) {
    out.set(s.kpiId, {
      treatment: { before: EMPTY_PHASE, after: EMPTY_PHASE },
      control: s.cohort ? { before: EMPTY_PHASE, after: EMPTY_PHASE } : null,
    });
  }
  const groups: { sql: string; specs: KpiAggregateSpec[]; percentile: boolean }[] = [];
  for (const withCohorts of [false, true]) {
    for (const percentile of [false, true]) {
      const chosen = specs.filter(
        (s) => (s.cohort !== null) === withCohorts && s.aggregation in PERCENTILE_OF === percentile,
      );
      if (chosen.length) {
        groups.push({
          sql: percentile ? percentileSql(withCohorts) : momentsSql(withCohorts),
          specs: chosen,
          percentile,
        });
      }
    }
  }
  await Promise.all(
    groups.map(async (g) => {
      const rows = await db.query(g.sql, params(g.specs));
      for (const row of rows) {
        const entry = out.get(String(row.kpi))!;
        const side = row.cohort === "C" ? "control" : "treatment";
        const cohort = entry[side] ?? { before: EMPTY_PHASE, after: EMPTY_PHASE };
        if (g.percentile) {
          cohort[row.phase === "b" ? "before" : "after"] = phaseFrom(row, "");
        } else {
          cohort.before = phaseFrom(row, "b_");
          cohort.after = phaseFrom(row, "a_");
        }
        entry[side] = cohort;
      }
    }),
  );
  return out;
}
