import type { StageChangeRow } from "../db/entities/stage-change.js";
import type { KpiEngine } from "../kpi/engine.js";
import { windowsOf } from "../kpi/figures.js";
import type { Queryable } from "../kpi/phase-aggregates.js";
import { daysInPilot } from "../kpi/portfolio.js";
import { computeRoi } from "../kpi/roi.js";
import type { Bucket } from "../kpi/series.js";
import { loadSubjects } from "../kpi/subjects.js";

// The rows of the reporting tables, computed by the same engine as the API (figures, confidence, series,
// ROI, pilot days), and the one statement that writes them.

export const BUCKETS: readonly Bucket[] = ["DAY", "WEEK", "MONTH"];

export interface KpiRows {
  kpis: Record<string, unknown>[];
  windows: Record<string, unknown>[];
  series: Record<string, unknown>[];
  /** Annual benefit (cents) of each recomputed KPI, by project id: the projects' ROI needs them. */
  benefits: Map<string, Map<string, number | null>>;
}

/** Computes the kpis, kpi_windows and series rows of these KPIs (ids of deleted KPIs give no rows). */
export async function computeKpiRows(
  db: Queryable,
  engine: KpiEngine,
  kpiIds: readonly string[],
): Promise<KpiRows> {
  const out: KpiRows = { kpis: [], windows: [], series: [], benefits: new Map() };
  if (!kpiIds.length) return out;
  // The series need only the KPI's settings: they load beside the figures' aggregates, not after them.
  const seriesOf = loadSubjects(db, kpiIds).then(
    async (subjects) =>
      new Map(
        await Promise.all(
          [...subjects.values()].map(
            async (s) =>
              [
                s.kpi.id,
                await Promise.all(
                  BUCKETS.map((bucket) => engine.series(s, { bucket, from: null, to: null })),
                ),
              ] as const,
          ),
        ),
      ),
  );
  seriesOf.catch(() => undefined); // awaited below; a failure of figures must not leave it unhandled
  const results = await engine.figures(kpiIds);
  const series = await seriesOf;
  const now = new Date().toISOString();
  await Promise.all(
    [...results.values()].map(async (result) => {
      const { subject, figures: f } = result;
      const { kpi, metric, project } = subject;
      const ci = await engine.confidence(result);
      // A KPI created between the two loads has no series yet: its own queue entry brings them.
      const points = series.get(kpi.id) ?? BUCKETS.map(() => []);
      out.kpis.push({
        project_slug: project.slug,
        project_name: project.name,
        stage: project.stage,
        metric_key: metric.key,
        metric_name: metric.name,
        unit: metric.unit,
        direction: metric.direction,
        aggregation: metric.aggregation,
        baseline_value: f.baseline.value,
        baseline_count: f.baseline.count,
        current_value: f.current.value,
        current_count: f.current.count,
        improvement_pct: f.improvementPct,
        target: kpi.target,
        target_met: f.targetMet,
        ci_low: ci?.low ?? null,
        ci_high: ci?.high ?? null,
        p_value: f.pValue,
        control_change_pct: f.control?.controlChangePct ?? null,
        adjusted_improvement_pct: f.control?.adjustedImprovementPct ?? null,
        annual_benefit: f.annualBenefit, // already in cents (src/kpi/money.ts)
        updated_at: f.updatedAt?.toISOString() ?? null,
        computed_at: now,
        kpi_id: kpi.id,
        project_id: kpi.projectId,
        metric_id: kpi.metricId,
      });
      const w = windowsOf(subject);
      out.windows.push({
        kpi_id: kpi.id,
        project_id: kpi.projectId,
        metric_id: kpi.metricId,
        has_before: w.before !== null,
        before_from: w.before?.from?.toISOString() ?? null,
        before_to: w.before?.to?.toISOString() ?? null,
        after_from: w.after.from?.toISOString() ?? null,
        after_to: w.after.to?.toISOString() ?? null,
      });
      BUCKETS.forEach((bucket, b) => {
        for (const p of points[b] as { start: Date; phase: string; value: number | null; count: number }[])
          out.series.push({
            project_slug: project.slug,
            metric_key: metric.key,
            bucket,
            start: p.start.toISOString(),
            phase: p.phase,
            value: p.value,
            count: p.count,
            kpi_id: kpi.id,
          });
      });
      const m = out.benefits.get(kpi.projectId) ?? new Map<string, number | null>();
      m.set(kpi.id, f.annualBenefit);
      out.benefits.set(kpi.projectId, m);
    }),
  );
  return out;
}

/**
 * What the project rows need, in one query: the projects, their stage histories, costs, and the stored
 * annual benefits of their KPIs (those recomputed now are taken from the fresh figures instead).
 */
export async function loadProjectInputs(db: Queryable, projectIds: readonly string[]): Promise<any[]> {
  if (!projectIds.length) return [];
  return (await db.query(
    `SELECT p.id::text, p.slug, p.name, p.owner, p.stage, p.go_live_at,
       (SELECT coalesce(json_agg(json_build_object('stage', s.stage, 'at', s.at) ORDER BY s.at, s.id), '[]')
          FROM stage_change s WHERE s.project_id = p.id) AS history,
       (SELECT coalesce(json_agg(json_build_object('kind', c.kind, 'amount', c.amount::text)), '[]')
          FROM cost c WHERE c.project_id = p.id) AS costs,
       (SELECT coalesce(json_agg(json_build_object('kpi', k.kpi_id::text, 'b', k.annual_benefit::text)), '[]')
          FROM reporting.kpis k WHERE k.project_id = p.id) AS stored,
       (SELECT coalesce(array_agg(k.id::text), '{}') FROM kpi k WHERE k.project_id = p.id) AS kpi_ids
     FROM project p WHERE p.id = ANY($1::bigint[])`,
    [projectIds],
  )) as any[];
}

/** The project rows (12-month ROI by the engine's computeRoi, days in pilot); every benefit an engine figure. */
export function buildProjectRows(
  inputs: any[],
  fresh: Map<string, Map<string, number | null>>,
  currency: string,
): Record<string, unknown>[] {
  const now = new Date();
  return inputs.map((p) => {
    const recomputed = fresh.get(p.id) ?? new Map<string, number | null>();
    const stored = new Map<string, number | null>(
      (p.stored as { kpi: string; b: string | null }[]).map((s) => [
        s.kpi,
        s.b === null ? null : Number(s.b),
      ]),
    );
    const benefits = (p.kpi_ids as string[]).map((id) =>
      recomputed.has(id) ? recomputed.get(id)! : (stored.get(id) ?? null),
    );
    const history: StageChangeRow[] = (p.history as { stage: string; at: string }[]).map((h) => ({
      id: "",
      projectId: p.id,
      stage: h.stage as StageChangeRow["stage"],
      at: new Date(h.at),
    }));
    const costs = (p.costs as { kind: "ONE_TIME" | "MONTHLY"; amount: string }[]).map((c) => ({
      kind: c.kind,
      amount: Number(c.amount),
    }));
    const roi = computeRoi(12, benefits, costs);
    return {
      slug: p.slug,
      name: p.name,
      owner: p.owner,
      stage: p.stage,
      go_live_at: p.go_live_at?.toISOString() ?? null,
      days_in_pilot: daysInPilot(history, now),
      benefit_12m: roi.benefit,
      cost_12m: roi.cost,
      net_12m: roi.net,
      roi_pct_12m: roi.roiPct,
      payback_months: roi.paybackMonths,
      currency,
      computed_at: now.toISOString(),
      project_id: p.id,
    };
  });
}

const COLUMNS = {
  "reporting.kpis": { key: ["kpi_id"], owner: "kpi_id" },
  "reporting.kpi_windows": { key: ["kpi_id"], owner: "kpi_id" },
  "reporting.series": { key: ["kpi_id", "bucket", "start", "phase"], owner: "kpi_id" },
  "reporting.projects": { key: ["project_id"], owner: "project_id" },
} as const;
type Table = keyof typeof COLUMNS;

/**
 * One statement (data-modifying CTEs) that makes the rows of the given owners (KPI or project ids) equal to
 * `rows`: upserts the new ones, deletes the owners' rows that are gone. Literals are inlined so that the
 * statement and the COMMIT after it travel in one round trip (simple query protocol).
 */
export function upsertStatement(
  parts: {
    table: Table;
    owners: readonly string[];
    rows: Record<string, unknown>[];
    columns: readonly string[];
  }[],
  literal: (s: string) => string,
  tail: string,
): string {
  const ctes: string[] = [];
  parts.forEach(({ table, owners, rows, columns }, i) => {
    if (!owners.length && !rows.length) return;
    const { key, owner } = COLUMNS[table];
    const n = `n${i}`;
    const set = columns.filter((c) => !key.includes(c as never)).map((c) => `"${c}" = EXCLUDED."${c}"`);
    ctes.push(
      `${n} AS (SELECT * FROM jsonb_populate_recordset(null::${table}, ${literal(JSON.stringify(rows))}::jsonb))`,
      `d${i} AS (DELETE FROM ${table} t WHERE t.${owner} = ANY(${literal(`{${owners.join(",")}}`)}::bigint[])
         AND NOT EXISTS (SELECT 1 FROM ${n} WHERE ${key.map((k) => `${n}.${k} = t.${k}`).join(" AND ")}))`,
      `i${i} AS (INSERT INTO ${table} SELECT * FROM ${n} ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${set.join(", ")})`,
    );
  });
  return ctes.length ? `WITH ${ctes.join(",\n")} ${tail}` : tail;
}
