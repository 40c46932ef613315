import type { DataSource } from "typeorm";
import { BadInputError } from "../errors.js";
import { upsertCostByLabel } from "../store/costs.js";
import { trackKpi } from "../store/kpis.js";
import { defineMetric } from "../store/metrics.js";
import { declareProject } from "../store/projects.js";
import { ConfigError, type UpliftConfig } from "./file.js";

/**
 * Upserts the file's metrics, projects, KPIs and costs in one transaction; never deletes anything.
 * A project's `stage` and `stageSince` (or its `history`) apply when it is created: later stage changes go through
 * `setProjectStage`, so a restart does not undo them. Names, descriptions, owners and goLiveAt given in
 * the file are the file's to keep (they are updated). References to metrics and projects that neither
 * the file nor the database knows stop start-up with the path of each.
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
      for (const [i, metric] of cfg.metrics.entries()) await defineMetric(m, metric, `metrics[${i}]`);
      for (const [i, p] of cfg.projects.entries()) {
        const history = p.history ?? [{ stage: p.stage ?? "PILOT", at: p.stageSince ?? new Date() }];
        await declareProject(m, { ...p, history });
        for (const [j, k] of p.kpis.entries()) {
          await trackKpi(m, { ...k, projectSlug: p.slug, metricKey: k.metric }, `projects[${i}].kpis[${j}]`);
        }
        for (const [j, c] of p.costs.entries()) {
          await upsertCostByLabel(m, { ...c, projectSlug: p.slug }, `projects[${i}].costs[${j}]`);
        }
      }
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
