import type { Aggregation } from "../db/entities/metric.js";
import { isBackground } from "./background.js";
import type { KpiWindows } from "./phases.js";

// The phase aggregates of many KPIs in one SQL statement per kind (moments, or moments plus a weighted
// percentile) and phase, so that a page of projects asking for their KPIs costs a few queries, not one per KPI.

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
  $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::float8[], $12::int[])
  AS k(kpi, project_id, metric_id, bf, bt, af, at_, dim, treat, ctrl, p, keep)`;

/** Without cohorts the query never reads `dimensions`, so PostgreSQL can answer from the index alone. */
function cohortExpr(withCohorts: boolean): string {
  return withCohorts
    ? `CASE WHEN o.dimensions ->> k.dim = k.treat THEN 'T' WHEN o.dimensions ->> k.dim = k.ctrl THEN 'C' END`
    : `'T'`;
}

function params(specs: KpiAggregateSpec[], keep: number[] = specs.map(() => SAMPLE_ALL)): unknown[] {
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
    keep,
  ];
}

/** Sampling thresholds are out of 2^20: at or above it, every observation is kept. */
export const SAMPLE_ALL = 1 << 20;

// Every phase of every KPI (× cohort) is one half-open range of observed_at, scanned on its own through
// observation_range (project_id, metric_id, observed_at): an index-only range scan without cohorts, and no
// per-row phase test. Filtering whole-KPI scans by phase per row (and per aggregate) cost 3× the plain SQL
// at 1M observations (bench/RESULTS.md). A null bound is unbounded (±infinity: observedAt is always finite);
// a baseline without an end is empty and left out. Phases are scanned independently, so explicit windows
// that overlap count an observation in both, as the contract's definitions say. `only` keeps one phase:
// the two phases are then sent as two statements at once (see loadPhaseAggregates).
function phasesOf(withCohorts: boolean, only?: Phase): string {
  const rows = [
    `('b', coalesce(k.bf, '-infinity'::timestamptz), k.bt)`,
    `('a', coalesce(k.af, '-infinity'::timestamptz), coalesce(k.at_, 'infinity'::timestamptz))`,
  ].filter((_, i) => only === undefined || only === PHASES[i]);
  return `
    FROM ${K_COLUMNS}
    CROSS JOIN (VALUES ${withCohorts ? "('T'), ('C')" : "('T')"}) c(cohort)
    CROSS JOIN LATERAL (VALUES
      ${rows.join(",\n      ")}
    ) ph(phase, lo, hi)`;
}

type Phase = "b" | "a";
const PHASES: readonly Phase[] = ["b", "a"];

/** Batches of up to this many KPIs (per shape) send each phase as its own statement, except in background work. */
const SPLIT_PHASES_MAX_KPIS = 8;

/** The phases to send as separate statements (undefined = both in one statement). */
function phasesFor(specs: readonly KpiAggregateSpec[]): (Phase | undefined)[] {
  if (specs.length > SPLIT_PHASES_MAX_KPIS || isBackground()) return [undefined];
  // A baseline without an end is empty (phasesOf): no statement for it when no KPI has one.
  return specs.some((s) => s.windows.before?.to) ? [...PHASES] : ["a"];
}

/** The observations of one phase (and cohort) of one KPI. */
function phaseRows(withCohorts: boolean): string {
  return `observation o
      WHERE o.project_id = k.project_id AND o.metric_id = k.metric_id
        AND o.observed_at >= ph.lo AND o.observed_at < ph.hi${
          withCohorts
            ? `
        AND ${cohortExpr(true)} = c.cohort`
            : ""
        }`;
}

// The weighted percentile: the smallest value whose cumulative weight reaches p of the phase's total.
// Rows come out of the window in value order, so the first one that reaches it is the answer (LIMIT 1 stops
// the window there). The relative tolerance keeps float sums such as 0.1 + 0.2 from missing an exact 50 %
// by one ulp.
function aggregatesSql(withCohorts: boolean, percentile: boolean, phase: Phase | undefined): string {
  const pct = `
    LEFT JOIN LATERAL (
      SELECT s.value AS pct
      FROM (
        SELECT o.value, sum(o.weight) OVER (ORDER BY o.value ROWS UNBOUNDED PRECEDING) AS cw
        FROM ${phaseRows(withCohorts)}
      ) s
      WHERE s.cw >= k.p * m.w * (1 - 1e-12)
      ORDER BY s.value
      LIMIT 1
    ) q ON true`;
  return `
    SELECT k.kpi, c.cohort, ph.phase, m.w, m.vw, m.n, m.mean, m.var, m.min, m.max, m.first, m.last${percentile ? ", q.pct" : ""}
    ${phasesOf(withCohorts, phase)}
    CROSS JOIN LATERAL (
      SELECT sum(o.weight) AS w, sum(o.value * o.weight) AS vw, count(*) AS n, avg(o.value) AS mean,
        var_samp(o.value) AS var, min(o.value) AS min, max(o.value) AS max,
        min(o.observed_at) AS first, max(o.observed_at) AS last
      FROM ${phaseRows(withCohorts)}
    ) m${percentile ? pct : ""}
    WHERE ph.hi IS NOT NULL`;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function phaseFrom(row: Record<string, unknown>): PhaseAggregate {
  const n = Number(row.n ?? 0);
  if (n === 0) return EMPTY_PHASE;
  return {
    weight: Number(row.w),
    weightedSum: Number(row.vw),
    n,
    mean: num(row.mean),
    variance: num(row.var),
    min: num(row.min),
    max: num(row.max),
    first: (row.first as Date) ?? null,
    last: (row.last as Date) ?? null,
    percentile: num(row.pct),
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
  // One statement per shape, all sent at once. For a few KPIs without a percentile, one per shape and phase: each runs on its own
  // pooled connection, so a cold KPI's BEFORE and AFTER scans run side by side on two cores, as
  // PostgreSQL's own parallel plan runs them for the hand-written SQL (a statement's correlated scans stay
  // in one backend). A large batch keeps one statement per shape: it holds fewer connections per request.
  const groups: { sql: string; specs: KpiAggregateSpec[] }[] = [];
  for (const withCohorts of [false, true]) {
    for (const percentile of [false, true]) {
      const chosen = specs.filter(
        (s) => (s.cohort !== null) === withCohorts && s.aggregation in PERCENTILE_OF === percentile,
      );
      if (!chosen.length) continue;
      // Percentile shapes stay whole: split, their two sorts' timing shifted the reporting refresher's
      // drains onto warm serving (bench/RESULTS.md, kpi notes: warm MEDIAN at 10 connections 786–916 req/s
      // split, 2,994–3,233 whole), for a cold gain the targets did not need (MEDIAN cold 1.10× whole).
      for (const phase of percentile ? [undefined] : phasesFor(chosen)) {
        groups.push({ sql: aggregatesSql(withCohorts, percentile, phase), specs: chosen });
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
        cohort[row.phase === "b" ? "before" : "after"] = phaseFrom(row);
        entry[side] = cohort;
      }
    }),
  );
  return out;
}

/**
 * float8send's big-endian bytes, concatenated by string_agg, as numbers (in the scan's order, as array_agg
 * gave them): a sample of 400,000 values arrives as one bytea instead of a float8[] parsed from text.
 */
function floatsOf(bytes: Buffer | null): Float64Array<ArrayBuffer> {
  if (!bytes) return new Float64Array(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Float64Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8);
  return out;
}

/**
 * The BEFORE and AFTER values of many KPIs (treatment cohort only), one statement per phase, for the percentile
 * bootstrap. `keep[i]` (out of 2^20) thins a KPI's phases by a fixed hash of each observation's id, so
 * the sample is a function of the data alone (reproducible) and costs one index range scan per phase.
 */
export async function loadPhaseSamples(
  db: Queryable,
  specs: KpiAggregateSpec[],
  keep: number[],
  seed: number,
): Promise<Map<string, { before: Float64Array; after: Float64Array }>> {
  const out = new Map(
    specs.map((s) => [s.kpiId, { before: new Float64Array(0), after: new Float64Array(0) }]),
  );
  // Like the aggregates: one statement per shape (and phase, for a few KPIs), sent at once.
  const jobs: { withCohorts: boolean; phase: Phase | undefined; idx: number[] }[] = [];
  for (const withCohorts of [false, true]) {
    const idx = specs.flatMap((s, i) => ((s.cohort !== null) === withCohorts ? [i] : []));
    if (!idx.length) continue;
    for (const phase of phasesFor(idx.map((i) => specs[i]))) jobs.push({ withCohorts, phase, idx });
  }
  await Promise.all(
    jobs.map(async ({ withCohorts, phase, idx }) => {
      const rows = await db.query(
        `SELECT k.kpi, ph.phase, s.vals
       ${phasesOf(false, phase)}
       CROSS JOIN LATERAL (
         SELECT string_agg(float8send(o.value), ''::bytea) AS vals FROM observation o
         WHERE o.project_id = k.project_id AND o.metric_id = k.metric_id
           AND o.observed_at >= ph.lo AND o.observed_at < ph.hi
           ${withCohorts ? "AND o.dimensions ->> k.dim = k.treat" : ""}
           AND (k.keep >= ${SAMPLE_ALL} OR (hashint8(o.id # $13::bigint) & ${SAMPLE_ALL - 1}) < k.keep)
       ) s
       WHERE ph.hi IS NOT NULL`,
        [
          ...params(
            idx.map((i) => specs[i]),
            idx.map((i) => keep[i]),
          ),
          seed,
        ],
      );
      for (const row of rows) {
        const entry = out.get(String(row.kpi))!;
        entry[row.phase === "b" ? "before" : "after"] = floatsOf(row.vals as Buffer | null);
      }
    }),
  );
  return out;
}

/**
 * The number of observations in each phase of KPIs without a cohort (what the bootstrap's sampling rate
 * depends on), by KPI id: a count over each phase's index range, answered from the index alone.
 */
export async function loadPhaseSizes(
  db: Queryable,
  specs: KpiAggregateSpec[],
): Promise<Map<string, { before: number; after: number }>> {
  const rows = await db.query(
    `SELECT k.kpi, ph.phase, (SELECT count(*) FROM observation o
                      WHERE o.project_id = k.project_id AND o.metric_id = k.metric_id
                        AND o.observed_at >= ph.lo AND o.observed_at < ph.hi) AS n
     ${phasesOf(false)}
     WHERE ph.hi IS NOT NULL`,
    params(specs),
  );
  const out = new Map(specs.map((s) => [s.kpiId, { before: 0, after: 0 }]));
  for (const row of rows) out.get(String(row.kpi))![row.phase === "b" ? "before" : "after"] = Number(row.n);
  return out;
}
