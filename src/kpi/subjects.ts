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

// These statements are the change-stamp check of every request for figures: one round trip each, answered
// from the primary keys and the (project_id, metric_id) keys of kpi and observation_activity. (Not named
// prepared statements: a column altered under a running app would make those fail on every pooled
// connection with "cached plan must not change result type".)

const PROJECT_COLUMNS = `p.id AS p_id, p.slug, p.name AS p_name, p.description AS p_description, p.owner,
  p.stage, p.go_live_at, p.created_at AS p_created, p.updated_at AS p_updated`;

const SUBJECT_COLUMNS = `k.id, k.project_id, k.metric_id, k.baseline_from, k.baseline_to, k.after_from,
  k.after_to, k.baseline_value, k.target, k.value_per_unit, k.annual_volume,
  k.cohort_dimension, k.cohort_treatment, k.cohort_control, k.updated_at AS k_updated,
  k.created_at AS k_created, k.target_set_at, k.windows_set_at,
  m.key, m.name AS m_name, m.unit, m.direction, m.aggregation, m.description AS m_description,
  a.updated_at AS data_updated,
  -- Full (microsecond) precision: two writes within one millisecond must give two stamps.
  concat_ws(':', extract(epoch FROM k.updated_at), extract(epoch FROM m.updated_at),
    extract(epoch FROM p.updated_at), coalesce(extract(epoch FROM a.updated_at)::text, '-')) AS stamp`;

const BY_KPI = `SELECT ${PROJECT_COLUMNS}, ${SUBJECT_COLUMNS}
  FROM kpi k
  JOIN metric m ON m.id = k.metric_id
  JOIN project p ON p.id = k.project_id
  LEFT JOIN observation_activity a ON a.project_id = k.project_id AND a.metric_id = k.metric_id
  WHERE k.id = ANY($1::bigint[])`;

const BY_PROJECT = `SELECT ${PROJECT_COLUMNS}, ${SUBJECT_COLUMNS}
  FROM kpi k
  JOIN metric m ON m.id = k.metric_id
  JOIN project p ON p.id = k.project_id
  LEFT JOIN observation_activity a ON a.project_id = k.project_id AND a.metric_id = k.metric_id
  WHERE k.project_id = ANY($1::bigint[])`;

/** Projects by slug, each with every KPI (null columns for a project without KPIs). */
const BY_SLUG = `SELECT ${PROJECT_COLUMNS}, ${SUBJECT_COLUMNS}
  FROM project p
  LEFT JOIN kpi k ON k.project_id = p.id
  LEFT JOIN metric m ON m.id = k.metric_id
  LEFT JOIN observation_activity a ON a.project_id = k.project_id AND a.metric_id = k.metric_id
  WHERE p.slug = ANY($1::text[])`;

function projectOf(r: any): ProjectRow {
  return {
    id: String(r.p_id),
    slug: r.slug,
    name: r.p_name,
    description: r.p_description,
    owner: r.owner,
    stage: r.stage,
    goLiveAt: r.go_live_at,
    createdAt: r.p_created,
    updatedAt: r.p_updated,
  };
}

function subjectOf(r: any, project: ProjectRow): LoadedSubject {
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
  return { kpi, metric, project, stamp: r.stamp, updatedAt: r.data_updated ?? null };
}

/** Rows → subjects, one ProjectRow object per project. */
function subjectsOf(rows: any[]): { projects: Map<string, ProjectRow>; subjects: LoadedSubject[] } {
  const projects = new Map<string, ProjectRow>();
  const subjects: LoadedSubject[] = [];
  for (const r of rows) {
    const id = String(r.p_id);
    let project = projects.get(id);
    if (!project) {
      project = projectOf(r);
      projects.set(id, project);
    }
    if (r.id !== null) subjects.push(subjectOf(r, project));
  }
  return { projects, subjects };
}

const byMetricKey = (a: LoadedSubject, b: LoadedSubject) =>
  a.metric.key < b.metric.key ? -1 : a.metric.key > b.metric.key ? 1 : 0;

/** KPI, metric and project rows of many KPIs, with their change stamps, in one query. */
export async function loadSubjects(
  db: Queryable,
  kpiIds: readonly string[],
): Promise<Map<string, LoadedSubject>> {
  const rows = await db.query(BY_KPI, [kpiIds]);
  return new Map(subjectsOf(rows).subjects.map((s) => [s.kpi.id, s]));
}

/** Every KPI of many projects with its stamp, in one query; each list in metric-key order. */
export async function loadSubjectsOfProjects(
  db: Queryable,
  projectIds: readonly string[],
): Promise<Map<string, LoadedSubject[]>> {
  const rows = await db.query(BY_PROJECT, [projectIds]);
  const out = new Map<string, LoadedSubject[]>(projectIds.map((id) => [String(id), []]));
  for (const s of subjectsOf(rows).subjects) out.get(s.kpi.projectId)?.push(s);
  for (const list of out.values()) list.sort(byMetricKey);
  return out;
}

/** Projects by slug with all their KPIs and stamps, in one query (absent slugs are left out). */
export async function loadProjectsBySlug(
  db: Queryable,
  slugs: readonly string[],
): Promise<Map<string, { project: ProjectRow; subjects: LoadedSubject[] }>> {
  const rows = await db.query(BY_SLUG, [slugs]);
  const { projects, subjects } = subjectsOf(rows);
  const out = new Map<string, { project: ProjectRow; subjects: LoadedSubject[] }>();
  for (const p of projects.values()) out.set(p.id, { project: p, subjects: [] });
  for (const s of subjects) out.get(s.kpi.projectId)!.subjects.push(s);
  for (const x of out.values()) x.subjects.sort(byMetricKey);
  return new Map([...out.values()].map((x) => [x.project.slug, x]));
}
