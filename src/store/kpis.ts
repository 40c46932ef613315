import type { DataSource, EntityManager } from "typeorm";
import { KpiRow } from "../db/entities/kpi.js";
import { MetricRow } from "../db/entities/metric.js";
import { ProjectRow } from "../db/entities/project.js";
import { MAX_ABS_VALUE } from "../domain/rules.js";
import { BadInputError, type InputProblem } from "../errors.js";
import { type AuditSource, inTransaction, recordAudit } from "./audit.js";

/** What the audit log keeps of a KPI: its settings. */
export function kpiSnapshot(k: KpiRow): Record<string, unknown> {
  return {
    baselineFrom: k.baselineFrom,
    baselineTo: k.baselineTo,
    afterFrom: k.afterFrom,
    afterTo: k.afterTo,
    baselineValue: k.baselineValue,
    target: k.target,
    valuePerUnit: k.valuePerUnit,
    annualVolume: k.annualVolume,
    cohort: k.cohortDimension
      ? { dimension: k.cohortDimension, treatment: k.cohortTreatment, control: k.cohortControl }
      : null,
  };
}

export interface TrackKpi {
  projectSlug: string;
  metricKey: string;
  baselineFrom?: Date | null;
  baselineTo?: Date | null;
  afterFrom?: Date | null;
  afterTo?: Date | null;
  baselineValue?: number | null;
  target?: number | null;
  valuePerUnit?: number | null;
  annualVolume?: number | null;
  cohort?: { dimension: string; treatment: string; control: string } | null;
}

function checkNumber(problems: InputProblem[], field: string, v: number | null | undefined, min?: number) {
  if (v === null || v === undefined) return;
  if (!Number.isFinite(v) || Math.abs(v) > MAX_ABS_VALUE) {
    problems.push({ field, message: `must be a finite number with |x| ≤ ${MAX_ABS_VALUE}` });
  } else if (min !== undefined && v < min) {
    problems.push({ field, message: `must be ≥ ${min}` });
  }
}

/**
 * Upsert on project × metric that replaces every setting with what is given (absent = default);
 * observations are never touched. Unknown project/metric inside the input is BAD_USER_INPUT.
 */
export async function trackKpi(
  m: EntityManager | DataSource,
  input: TrackKpi,
  field = "input",
  source: AuditSource = { actor: "anonymous", action: "trackKpi" },
): Promise<KpiRow> {
  const problems: InputProblem[] = [];
  const [project, metric] = await Promise.all([
    m.getRepository(ProjectRow).findOne({ where: { slug: input.projectSlug } }),
    m.getRepository(MetricRow).findOne({ where: { key: input.metricKey } }),
  ]);
  if (!project)
    problems.push({ field: `${field}.projectSlug`, message: `unknown project "${input.projectSlug}"` });
  if (!metric) problems.push({ field: `${field}.metricKey`, message: `unknown metric "${input.metricKey}"` });
  checkNumber(problems, `${field}.baselineValue`, input.baselineValue);
  checkNumber(problems, `${field}.target`, input.target);
  checkNumber(problems, `${field}.valuePerUnit`, input.valuePerUnit);
  checkNumber(problems, `${field}.annualVolume`, input.annualVolume, 0);
  const order = (a: string, b: string, from?: Date | null, to?: Date | null) => {
    if (from && to && from.getTime() >= to.getTime()) {
      problems.push({ field: `${field}.${b}`, message: `must be after ${a}` });
    }
  };
  order("baselineFrom", "baselineTo", input.baselineFrom, input.baselineTo);
  order("afterFrom", "afterTo", input.afterFrom, input.afterTo);
  const c = input.cohort;
  if (c) {
    for (const k of ["dimension", "treatment", "control"] as const) {
      if (!c[k] || c[k].length === 0)
        problems.push({ field: `${field}.cohort.${k}`, message: "must not be empty" });
    }
    if (c.dimension && c.dimension.length > 64) {
      problems.push({ field: `${field}.cohort.dimension`, message: "must be at most 64 characters" });
    }
    if (c.treatment && c.treatment === c.control) {
      problems.push({ field: `${field}.cohort.control`, message: "must differ from the treatment value" });
    }
  }
  if (problems.length) throw new BadInputError(problems);
  return inTransaction(m, async (m) => {
    const repo = m.getRepository(KpiRow);
    const locked: { id: string }[] = await m.query(
      `SELECT id FROM kpi WHERE project_id = $1 AND metric_id = $2 FOR UPDATE`,
      [project!.id, metric!.id],
    );
    const old = locked.length ? await repo.findOne({ where: { id: locked[0].id } }) : null;
    // target_set_at and windows_set_at move only when the target / a window actually changes
    // (pre-registration); re-applying the same settings keeps them.
    const rows: { id: string }[] = await m.query(
      `INSERT INTO kpi AS k (project_id, metric_id, baseline_from, baseline_to, after_from, after_to, baseline_value,
       target, value_per_unit, annual_volume, cohort_dimension, cohort_treatment, cohort_control,
       target_set_at, windows_set_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
       CASE WHEN $8::float8 IS NULL THEN NULL ELSE clock_timestamp() END, clock_timestamp())
     ON CONFLICT (project_id, metric_id) DO UPDATE SET
       target_set_at = CASE WHEN k.target IS NOT DISTINCT FROM EXCLUDED.target THEN k.target_set_at
                            WHEN EXCLUDED.target IS NULL THEN NULL ELSE clock_timestamp() END,
       windows_set_at = CASE WHEN (k.baseline_from, k.baseline_to, k.after_from, k.after_to)
                             IS NOT DISTINCT FROM (EXCLUDED.baseline_from, EXCLUDED.baseline_to,
                                                   EXCLUDED.after_from, EXCLUDED.after_to)
                             THEN k.windows_set_at ELSE clock_timestamp() END,
       baseline_from = EXCLUDED.baseline_from, baseline_to = EXCLUDED.baseline_to,
       after_from = EXCLUDED.after_from, after_to = EXCLUDED.after_to, baseline_value = EXCLUDED.baseline_value,
       target = EXCLUDED.target, value_per_unit = EXCLUDED.value_per_unit, annual_volume = EXCLUDED.annual_volume,
       cohort_dimension = EXCLUDED.cohort_dimension, cohort_treatment = EXCLUDED.cohort_treatment,
       cohort_control = EXCLUDED.cohort_control, updated_at = clock_timestamp()
     RETURNING id`,
      [
        project!.id,
        metric!.id,
        input.baselineFrom ?? null,
        input.baselineTo ?? null,
        input.afterFrom ?? null,
        input.afterTo ?? null,
        input.baselineValue ?? null,
        input.target ?? null,
        input.valuePerUnit ?? null,
        input.annualVolume ?? null,
        c?.dimension ?? null,
        c?.treatment ?? null,
        c?.control ?? null,
      ],
    );
    const row = (await repo.findOne({ where: { id: rows[0].id } }))!;
    await recordAudit(m, source, {
      projectSlug: input.projectSlug,
      metricKey: input.metricKey,
      before: old ? kpiSnapshot(old) : null,
      after: kpiSnapshot(row),
    });
    return row;
  });
}

export interface KpiWithMetric {
  kpi: KpiRow;
  metric: MetricRow;
}

/** KPIs of many projects with their metrics, each list in metric-key order (two queries in all). */
export async function kpisOfProjects(
  ds: DataSource,
  projectIds: readonly string[],
): Promise<Map<string, KpiWithMetric[]>> {
  const kpis: KpiRow[] = await ds
    .getRepository(KpiRow)
    .createQueryBuilder("k")
    .where("k.project_id = ANY(:ids)", { ids: projectIds })
    .getMany();
  const metricIds = [...new Set(kpis.map((k) => String(k.metricId)))];
  const metrics = metricIds.length
    ? await ds
        .getRepository(MetricRow)
        .createQueryBuilder("m")
        .where("m.id = ANY(:ids)", { ids: metricIds })
        .getMany()
    : [];
  const metricById = new Map(metrics.map((m) => [String(m.id), m]));
  const out = new Map<string, KpiWithMetric[]>(projectIds.map((id) => [id, []]));
  for (const k of kpis)
    out.get(String(k.projectId))?.push({ kpi: k, metric: metricById.get(String(k.metricId))! });
  for (const list of out.values())
    list.sort((a, b) => (a.metric.key < b.metric.key ? -1 : a.metric.key > b.metric.key ? 1 : 0));
  return out;
}
