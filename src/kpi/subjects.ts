import type { KpiRow } from "../db/entities/kpi.js";
import type { MetricRow } from "../db/entities/metric.js";
import type { ProjectRow } from "../db/entities/project.js";
import type { KpiSubject } from "./figures.js";
import type { Queryable } from "./phase-aggregates.js";

export interface LoadedSubject extends KpiSubject {
  /** Changes whenever anything the figures depend on changes: settings, go-live, metric, observations. */
  stamp: string;
  updatedAt: Date | null;
}

/** KPI, metric and project rows of many KPIs, with their change stamps, in one query. */
export async function loadSubjects(
  db: Queryable,
  kpiIds: readonly string[],
): Promise<Map<string, LoadedSubject>> {
  const rows = await db.query(
    `SELECT k.id, k.project_id, k.metric_id, k.baseline_from, k.baseline_to, k.after_from, k.after_to,
            k.baseline_value, k.target, k.value_per_unit, k.annual_volume,
            k.cohort_dimension, k.cohort_treatment, k.cohort_control, k.updated_at AS k_updated,
            k.created_at AS k_created, k.target_set_at, k.windows_set_at,
            m.key, m.name AS m_name, m.unit, m.direction, m.aggregation, m.description AS m_description,
            m.updated_at AS m_updated,
            p.slug, p.name AS p_name, p.description AS p_description, p.owner, p.stage, p.go_live_at,
            p.created_at AS p_created, p.updated_at AS p_updated,
            a.updated_at AS data_updated,
            -- Full (microsecond) precision: two writes within one millisecond must give two stamps.
            concat_ws(':', extract(epoch FROM k.updated_at), extract(epoch FROM m.updated_at),
              extract(epoch FROM p.updated_at), coalesce(extract(epoch FROM a.updated_at)::text, '-')) AS stamp
     FROM kpi k
     JOIN metric m ON m.id = k.metric_id
     JOIN project p ON p.id = k.project_id
     LEFT JOIN observation_activity a ON a.project_id = k.project_id AND a.metric_id = k.metric_id
     WHERE k.id = ANY($1::bigint[])`,
    [kpiIds],
  );
  const out = new Map<string, LoadedSubject>();
  for (const r of rows) {
    const kpi: KpiRow = {
      id: String(r.id),
      projectId: String(r.project_id),
      metricId: String(r.metric_id),
      baselineFrom: r.baseline_from,
      baselineTo: r.baseline_to,
      afterFrom: r.after_from,
      afterTo: r.after_to,
      baselineValue: r.baseline_value,
      target: r.target,
      valuePerUnit: r.value_per_unit,
      annualVolume: r.annual_volume,
      cohortDimension: r.cohort_dimension,
      cohortTreatment: r.cohort_treatment,
      cohortControl: r.cohort_control,
      updatedAt: r.k_updated,
      createdAt: r.k_created,
      targetSetAt: r.target_set_at,
      windowsSetAt: r.windows_set_at,
    };
    const metric: MetricRow = {
      id: String(r.metric_id),
      key: r.key,
      name: r.m_name,
      unit: r.unit,
      direction: r.direction,
      aggregation: r.aggregation,
      description: r.m_description,
    };
    const project: ProjectRow = {
      id: String(r.project_id),
      slug: r.slug,
      name: r.p_name,
      description: r.p_description,
      owner: r.owner,
      stage: r.stage,
      goLiveAt: r.go_live_at,
      createdAt: r.p_created,
      updatedAt: r.p_updated,
    };
    out.set(kpi.id, { kpi, metric, project, stamp: r.stamp, updatedAt: r.data_updated ?? null });
  }
  return out;
}
