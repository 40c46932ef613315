import type { DataSource } from "typeorm";
import type { ProjectRow } from "../db/entities/project.js";
import { BadInputError } from "../errors.js";
import { defineAlert } from "../store/alerts.js";
import { type AuditSource, recordAudit } from "../store/audit.js";
import { upsertCostByLabel } from "../store/costs.js";
import { trackKpi } from "../store/kpis.js";
import { defineMetric } from "../store/metrics.js";
import { declareProject, findProject, projectSnapshot } from "../store/projects.js";
import { ConfigError, type UpliftConfig } from "./file.js";

/** The audit log's name for what the configuration file changed at start-up. */
export const CONFIG_AUDIT: AuditSource = { actor: "config", action: "CONFIG" };

/**
 * Upserts the file's metrics, projects, KPIs and costs in one transaction; never deletes anything.
 * A project's `stage` and `stageSince` (or its `history`) apply when it is created: later stage changes go through
 * `setProjectStage`, so a restart does not undo them. Names, descriptions, owners and goLiveAt given in
 * the file are the file's to keep (they are updated). References to metrics and projects that neither
 * the file nor the database knows stop start-up with the path of each. Alert rules are upserted by name.
 * Whatever this changes is audited with actor `config` and action CONFIG (nothing when nothing changed).
 */
export async function applyConfig(ds: DataSource, cfg: UpliftConfig, file: string): Promise<void> {
  const [knownMetrics, knownProjects] = await Promise.all([
    ds.query(`SELECT key FROM metric`).then((r: { key: string }[]) => new Set(r.map((x) => x.key))),
    ds.query(`SELECT slug FROM project`).then((r: { slug: string }[]) => new Set(r.map((x) => x.slug))),
  ]);
  for (const m of cfg.metrics) knownMetrics.add(m.key);
  for (const p of cfg.projects) knownProjects.add(p.slug);
  const problems: string[] = [];
  for (const [i, p] of cfg.projects.entries()) {
    for (const [j, k] of p.kpis.entries()) {
      if (!knownMetrics.has(k.metric))
        problems.push(`projects[${i}].kpis[${j}].metric: unknown metric "${k.metric}"`);
    }
  }
  cfg.collectors.forEach((c, i) => {
    if (!knownProjects.has(c.project))
      problems.push(`collectors[${i}].project: unknown project "${c.project}"`);
    if (!knownMetrics.has(c.metric)) problems.push(`collectors[${i}].metric: unknown metric "${c.metric}"`);
  });
  if (problems.length) throw new ConfigError(file, problems);

  try {
    await ds.transaction(async (m) => {
      for (const [i, metric] of cfg.metrics.entries())
        await defineMetric(m, metric, `metrics[${i}]`, CONFIG_AUDIT);
      for (const [i, p] of cfg.projects.entries()) {
        const old: ProjectRow | null = await findProject(m, p.slug);
        const history = p.history ?? [{ stage: p.stage ?? "PILOT", at: p.stageSince ?? new Date() }];
        await declareProject(m, { ...p, history });
        const row = (await findProject(m, p.slug))!;
        await recordAudit(m, CONFIG_AUDIT, {
          projectSlug: p.slug,
          before: old ? projectSnapshot(old) : null,
          after: old ? projectSnapshot(row) : { ...projectSnapshot(row), history },
        });
        for (const [j, k] of p.kpis.entries()) {
          await trackKpi(
            m,
            { ...k, projectSlug: p.slug, metricKey: k.metric },
            `projects[${i}].kpis[${j}]`,
            CONFIG_AUDIT,
          );
        }
        for (const [j, c] of p.costs.entries()) {
          await upsertCostByLabel(
            m,
            { ...c, projectSlug: p.slug },
            `projects[${i}].costs[${j}]`,
            CONFIG_AUDIT,
          );
        }
      }
      for (const [i, a] of cfg.alerts.entries()) await defineAlert(m, a, `alerts[${i}]`, CONFIG_AUDIT);
    });
  } catch (e) {
    if (e instanceof BadInputError)
      throw new ConfigError(
        file,
        e.problems.map((x) => `${x.field}: ${x.message}`),
      );
    throw e;
  }
}
