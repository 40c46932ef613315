import type { DataSource, EntityManager } from "typeorm";
import type { KpiEngine } from "../kpi/engine.js";
import { windowsOf } from "../kpi/figures.js";
import { daysInPilot } from "../kpi/portfolio.js";
import { computeRoi } from "../kpi/roi.js";
import type { Bucket } from "../kpi/series.js";
import { costsOfProjects } from "../store/costs.js";
import { kpisOfProjects } from "../store/kpis.js";
import { stageHistories } from "../store/projects.js";

// The rows of the reporting tables, computed by the same engine as the API (figures, confidence,
// series, ROI, pilot days) and written with jsonb_populate_recordset: one statement per table and chunk.

export const BUCKETS: readonly Bucket[] = ["DAY", "WEEK", "MONTH"];
const CHUNK = 100;

type Writer = EntityManager | DataSource;

async function insertJson(m: Writer, table: string, rows: object[]) {
  for (let i = 0; i < rows.length; i += 5000) {
    await m.query(`INSERT INTO ${table} SELECT * FROM jsonb_populate_recordset(null::${table}, $1::jsonb)`, [
      JSON.stringify(rows.slice(i, i + 5000)),
    ]);
  }
}

/** Recomputes the kpis, series and window rows of these KPIs; rows of KPIs that no longer exist go. */
export async function refreshKpis(m: Writer, engine: KpiEngine, kpiIds: readonly string[]): Promise<void> {
  for (let i = 0; i < kpiIds.length; i += CHUNK) {
    const ids = kpiIds.slice(i, i + CHUNK);
    const results = await engine.figures(ids);
    const now = new Date().toISOString();
    const kpis: object[] = [];
    const windows: object[] = [];
    const series: object[] = [];
    for (const result of results.values()) {
      const { subject, figures: f } = result;
      const { kpi, metric, project } = subject;
      const ci = await engine.confidence(result);
      kpis.push({
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
      windows.push({
        kpi_id: kpi.id,
        project_id: kpi.projectId,
        metric_id: kpi.metricId,
        has_before: w.before !== null,
        before_from: w.before?.from?.toISOString() ?? null,
        before_to: w.before?.to?.toISOString() ?? null,
        after_from: w.after.from?.toISOString() ?? null,
        after_to: w.after.to?.toISOString() ?? null,
      });
      const points = await Promise.all(
        BUCKETS.map((bucket) => engine.series(subject, { bucket, from: null, to: null })),
      );
      BUCKETS.forEach((bucket, b) => {
        for (const p of points[b])
          series.push({
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
    }
    for (const t of ["reporting.kpis", "reporting.series", "reporting.kpi_windows"])
      await m.query(`DELETE FROM ${t} WHERE kpi_id = ANY($1::bigint[])`, [ids]);
    await insertJson(m, "reporting.kpis", kpis);
    await insertJson(m, "reporting.kpi_windows", windows);
    await insertJson(m, "reporting.series", series);
  }
}

/** Recomputes the project rows (12-month ROI, days in pilot); rows of projects that no longer exist go. */
export async function refreshProjects(
  ds: DataSource,
  m: Writer,
  engine: KpiEngine,
  projectIds: readonly string[],
  currency: string,
): Promise<void> {
  for (let i = 0; i < projectIds.length; i += CHUNK) {
    const ids = projectIds.slice(i, i + CHUNK);
    const [projects, histories, costs, kpis] = await Promise.all([
      ds.query(
        `SELECT id::text, slug, name, owner, stage, go_live_at FROM project WHERE id = ANY($1::bigint[])`,
        [ids],
      ) as Promise<
        { id: string; slug: string; name: string; owner: string | null; stage: string; go_live_at: Date }[]
      >,
      stageHistories(ds, ids),
      costsOfProjects(ds, ids),
      kpisOfProjects(ds, ids),
    ]);
    const figures = await engine.figures([...kpis.values()].flat().map((k) => String(k.kpi.id)));
    const now = new Date();
    const rows = projects.map((p) => {
      const benefits = (kpis.get(p.id) ?? []).map(
        (k) => figures.get(String(k.kpi.id))?.figures.annualBenefit ?? null,
      );
      const roi = computeRoi(12, benefits, costs.get(p.id) ?? []);
      return {
        slug: p.slug,
        name: p.name,
        owner: p.owner,
        stage: p.stage,
        go_live_at: p.go_live_at?.toISOString() ?? null,
        days_in_pilot: daysInPilot(histories.get(p.id) ?? [], now),
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
    await m.query(`DELETE FROM reporting.projects WHERE project_id = ANY($1::bigint[])`, [ids]);
    await insertJson(m, "reporting.projects", rows);
  }
}

export async function refreshMetrics(m: Writer, metricIds: readonly string[] | null): Promise<void> {
  const where = metricIds ? `WHERE id = ANY($1::bigint[])` : "";
  const params = metricIds ? [metricIds] : [];
  await m.query(
    `DELETE FROM reporting.metrics ${metricIds ? "WHERE metric_id = ANY($1::bigint[])" : ""}`,
    params,
  );
  await m.query(
    `INSERT INTO reporting.metrics (key, name, unit, direction, aggregation, description, metric_id)
     SELECT key, name, unit, direction, aggregation, description, id FROM metric ${where}`,
    params,
  );
}
