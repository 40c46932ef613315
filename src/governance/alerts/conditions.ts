import type { KpiEngine } from "../../kpi/engine.js";
import { type KpiSubject, windowsOf } from "../../kpi/figures.js";
import type { Queryable } from "../../kpi/phase-aggregates.js";
import { welchTTest } from "../../kpi/statistics/index.js";
import type { AlertRule } from "../../store/alerts.js";

// What each kind of rule watches, and whether its condition holds now (contract "Alerts").

const DAY_MS = 86_400_000;

/** The state of one rule for one subject (a KPI id, or a collector name) and the sentence for a firing. */
export interface Verdict {
  rule: AlertRule;
  subject: string;
  firing: boolean;
  projectSlug: string | null;
  metricKey: string | null;
  collector: string | null;
  message: string;
}

const fmt = (v: number) => Number(v.toPrecision(4)).toLocaleString("en-US");
const pText = (p: number) => (p < 0.0001 ? "p < 0.0001" : `p = ${p.toFixed(4)}`);

/** Rules on KPIs, joined to the KPIs they watch (one rule on a project watches each of its KPIs). */
export async function kpiTargets(
  db: Queryable,
  rules: AlertRule[],
  kpiIds: readonly string[] | null,
): Promise<{ rule: AlertRule; kpiId: string }[]> {
  const kpiRules = rules.filter((r) => r.kind !== "COLLECTOR_FAILING" && r.projectSlug);
  if (!kpiRules.length) return [];
  const rows: { kpi_id: string; slug: string; key: string }[] = await db.query(
    `SELECT k.id::text AS kpi_id, p.slug, m.key FROM kpi k
     JOIN project p ON p.id = k.project_id JOIN metric m ON m.id = k.metric_id
     WHERE p.slug = ANY($1::text[]) AND ($2::bigint[] IS NULL OR k.id = ANY($2::bigint[]))`,
    [[...new Set(kpiRules.map((r) => r.projectSlug))], kpiIds],
  );
  const out: { rule: AlertRule; kpiId: string }[] = [];
  for (const r of kpiRules)
    for (const k of rows)
      if (k.slug === r.projectSlug && (!r.metricKey || r.metricKey === k.key))
        out.push({ rule: r, kpiId: k.kpi_id });
  return out;
}

export async function evaluateKpiRules(
  db: Queryable,
  engine: KpiEngine,
  targets: { rule: AlertRule; kpiId: string }[],
  now: Date,
): Promise<Verdict[]> {
  if (!targets.length) return [];
  const ids = [...new Set(targets.map((t) => t.kpiId))];
  const results = await engine.figures(ids);
  const newest = targets.some((t) => t.rule.kind === "STALE")
    ? await newestObservations(
        db,
        [...results.values()].map((r) => r.subject),
      )
    : new Map();
  const out: Verdict[] = [];
  // Rules on the same KPI with the same window share one query.
  const windows = new Map<string, Promise<WindowStats>>();
  for (const { rule, kpiId } of targets) {
    const res = results.get(kpiId);
    if (!res) continue;
    const { subject, figures } = res;
    const base = {
      rule,
      subject: kpiId,
      projectSlug: subject.project.slug,
      metricKey: subject.metric.key,
      collector: null,
    };
    const what = `${subject.metric.key} of ${subject.project.slug}`;
    if (rule.kind === "TARGET_MET") {
      const cur = figures.current.value;
      out.push({
        ...base,
        firing: figures.targetMet === true,
        message:
          cur === null || subject.kpi.target === null
            ? `${what} has no current value or no target.`
            : `${what} is ${fmt(cur)} ${subject.metric.unit}, meeting its target of ${fmt(subject.kpi.target)} (improvement ${figures.improvementPct === null ? "n/a" : `${figures.improvementPct.toFixed(1)} %`}).`,
      });
    } else if (rule.kind === "STALE") {
      const last: Date | null = newest.get(kpiId) ?? null;
      const days = rule.days ?? 7;
      const age = last ? (now.getTime() - last.getTime()) / DAY_MS : null;
      out.push({
        ...base,
        firing: age !== null && age > days,
        message:
          age === null
            ? `${what} has no observations.`
            : `The newest observation of ${what} is from ${last!.toISOString()}, ${age.toFixed(1)} days ago (more than ${days}).`,
      });
    } else if (rule.kind === "REGRESSION") {
      const key = `${kpiId}|${rule.windowDays ?? 28}`;
      let stats = windows.get(key);
      if (!stats) {
        stats = windowStats(db, subject, rule.windowDays ?? 28, now);
        windows.set(key, stats);
      }
      out.push({ ...base, ...regression(await stats, subject, rule, what) });
    }
  }
  return out;
}

/** The newest observedAt of each KPI's project × metric, one statement for all. */
async function newestObservations(db: Queryable, subjects: KpiSubject[]): Promise<Map<string, Date | null>> {
  const rows: { kpi_id: string; newest: Date | null }[] = await db.query(
    `SELECT t.kpi_id::text AS kpi_id,
       (SELECT max(o.observed_at) FROM observation o WHERE o.project_id = t.project_id AND o.metric_id = t.metric_id) AS newest
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(kpi_id, project_id, metric_id)`,
    [
      subjects.map((s) => s.kpi.id),
      subjects.map((s) => s.kpi.projectId),
      subjects.map((s) => s.kpi.metricId),
    ],
  );
  return new Map(rows.map((r) => [r.kpi_id, r.newest]));
}

/**
 * REGRESSION: the AFTER observations of the last `windowDays` (up to now, or afterTo when earlier)
 * against the AFTER observations before that window; worse in the metric's direction with Welch's
 * two-sided p below the rule's level. Unweighted, each observation one sample, like the KPI statistics.
 */
interface WindowStats {
  windowDays: number;
  nW: number;
  meanW: number | null;
  varW: number | null;
  nP: number;
  meanP: number | null;
  varP: number | null;
}

async function windowStats(
  db: Queryable,
  s: KpiSubject,
  windowDays: number,
  now: Date,
): Promise<WindowStats> {
  const after = windowsOf(s).after;
  const end = after.to && after.to.getTime() < now.getTime() ? after.to : now;
  const cut = new Date(end.getTime() - windowDays * DAY_MS);
  const cohort = s.kpi.cohortDimension ? [s.kpi.cohortDimension, s.kpi.cohortTreatment] : [null, null];
  const [r]: {
    n_w: string;
    mean_w: number | null;
    var_w: number | null;
    n_p: string;
    mean_p: number | null;
    var_p: number | null;
  }[] = await db.query(
    `SELECT count(*) FILTER (WHERE observed_at >= $4) AS n_w, avg(value) FILTER (WHERE observed_at >= $4) AS mean_w,
              var_samp(value) FILTER (WHERE observed_at >= $4) AS var_w,
              count(*) FILTER (WHERE observed_at < $4) AS n_p, avg(value) FILTER (WHERE observed_at < $4) AS mean_p,
              var_samp(value) FILTER (WHERE observed_at < $4) AS var_p
       FROM observation
       WHERE project_id = $1 AND metric_id = $2 AND ($3::timestamptz IS NULL OR observed_at >= $3)
         AND observed_at < $5 AND ($6::text IS NULL OR dimensions ->> $6 = $7)`,
    [s.kpi.projectId, s.kpi.metricId, after.from, cut, end, cohort[0], cohort[1]],
  );
  return {
    windowDays,
    nW: Number(r.n_w),
    meanW: r.mean_w,
    varW: r.var_w,
    nP: Number(r.n_p),
    meanP: r.mean_p,
    varP: r.var_p,
  };
}

function regression(
  w: WindowStats,
  s: KpiSubject,
  rule: AlertRule,
  what: string,
): { firing: boolean; message: string } {
  const { nW, nP, windowDays } = w;
  const r = { mean_w: w.meanW, mean_p: w.meanP, var_w: w.varW, var_p: w.varP };
  if (nW < 2 || nP < 2 || r.mean_w === null || r.mean_p === null)
    return { firing: false, message: `${what} has too few AFTER observations to compare.` };
  const stats = (n: number, mean: number, v: number | null) => ({
    n,
    sum: 0,
    sumSq: (v ?? 0) * (n - 1),
    shift: mean,
  });
  const test = welchTTest(stats(nP, r.mean_p, r.var_p), stats(nW, r.mean_w, r.var_w));
  const worse = s.metric.direction === "LOWER_IS_BETTER" ? r.mean_w > r.mean_p : r.mean_w < r.mean_p;
  const level = rule.pValue ?? 0.05;
  const firing = worse && test !== null && test.pValue < level;
  return {
    firing,
    message: `${what} averaged ${fmt(r.mean_w)} ${s.metric.unit} over the last ${windowDays} days (${nW} observations) against ${fmt(r.mean_p)} before (${nP}), ${test ? pText(test.pValue) : "no p-value"} (Welch, level ${level}).`,
  };
}

/** COLLECTOR_FAILING: the last `failures` finished runs of the collector all FAILED. */
export async function evaluateCollectorRules(
  db: Queryable,
  rules: AlertRule[],
  names: readonly string[] | null,
): Promise<Verdict[]> {
  const watched = rules.filter(
    (r) => r.kind === "COLLECTOR_FAILING" && r.collector && (!names || names.includes(r.collector)),
  );
  if (!watched.length) return [];
  const rows: { instance: string; status: string; finished_at: Date | null; rn: string }[] = await db.query(
    `SELECT instance, status, finished_at, rn FROM (
       SELECT instance, status, finished_at,
              row_number() OVER (PARTITION BY instance ORDER BY started_at DESC, id DESC) AS rn
       FROM collector_run WHERE instance = ANY($1::text[]) AND status IN ('SUCCEEDED', 'FAILED')) x
     WHERE rn <= $2`,
    [[...new Set(watched.map((r) => r.collector))], Math.max(...watched.map((r) => r.failures ?? 3))],
  );
  return watched.map((rule) => {
    const n = rule.failures ?? 3;
    const recent = rows.filter((x) => x.instance === rule.collector && Number(x.rn) <= n);
    const firing = recent.length === n && recent.every((x) => x.status === "FAILED");
    const latest = recent[0]?.finished_at;
    return {
      rule,
      subject: `collector:${rule.collector}`,
      firing,
      projectSlug: null,
      metricKey: null,
      collector: rule.collector,
      message: `Collector ${rule.collector} failed its last ${n} runs${latest ? `, the latest finishing at ${latest.toISOString()}` : ""}.`,
    };
  });
}
