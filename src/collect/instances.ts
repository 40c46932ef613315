import type { DataSource } from "typeorm";
import { type CollectorConfig, ConfigError, formatPath, type UpliftConfig } from "../config/file.js";
import type { Collector, CollectorRegistry } from "./types.js";

/** A configured collector instance, validated and resolved to database ids. */
export interface Instance {
  name: string;
  config: CollectorConfig;
  collector: Collector<unknown>;
  options: unknown;
  projectId: string;
  metricId: string;
}

/**
 * Checks every collector entry against the registry (known type, options valid for it) without touching
 * the network; problems name their path in the file. Resolves project and metric ids (the configuration
 * has been applied, so they exist).
 */
export async function resolveInstances(
  ds: DataSource,
  cfg: UpliftConfig,
  registry: CollectorRegistry,
  file: string,
): Promise<Instance[]> {
  const problems: string[] = [];
  const checked: { c: CollectorConfig; collector: Collector<unknown>; options: unknown }[] = [];
  cfg.collectors.forEach((c, i) => {
    const collector = registry.get(c.type);
    if (!collector) {
      const known = [...registry.keys()].sort().join(", ");
      problems.push(`collectors[${i}].type: unknown collector type "${c.type}" (known: ${known || "none"})`);
      return;
    }
    const parsed = collector.options.safeParse(c.options);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const at = issue.path.length ? `.${formatPath(issue.path).replace(/^\[/, "[")}` : "";
        problems.push(`collectors[${i}].options${at.startsWith(".[") ? at.slice(1) : at}: ${issue.message}`);
      }
      return;
    }
    checked.push({ c, collector, options: parsed.data });
  });
  if (problems.length) throw new ConfigError(file, problems);
  const ids: { slug: string; key: string; project_id: string; metric_id: string }[] = checked.length
    ? await ds.query(
        `SELECT x.slug, x.key, p.id::text AS project_id, m.id::text AS metric_id
         FROM unnest($1::text[], $2::text[]) AS x(slug, key)
         JOIN project p ON p.slug = x.slug JOIN metric m ON m.key = x.key`,
        [checked.map((x) => x.c.project), checked.map((x) => x.c.metric)],
      )
    : [];
  const idOf = new Map(ids.map((r) => [`${r.slug}\u0000${r.key}`, r]));
  return checked.map(({ c, collector, options }) => {
    const found = idOf.get(`${c.project}\u0000${c.metric}`)!;
    return {
      name: c.name,
      config: c,
      collector,
      options,
      projectId: found.project_id,
      metricId: found.metric_id,
    };
  });
}
