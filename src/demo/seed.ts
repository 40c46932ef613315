import type { DataSource } from "typeorm";
import type { UpliftConfig } from "../config/file.js";
import { ConfigError, formatPath } from "../config/file.js";
import type { Logger } from "../log.js";
import { type ResolvedObservation, upsertObservations } from "../store/observations.js";
import { generateDemoSeries } from "./generator.js";
import { demoOptionsSchema } from "./options.js";

const BATCH = 5000;

/**
 * Fills the demo's history up to `now` for every `demo` collector instance whose project × metric has no
 * observation yet. Re-running is harmless: generated externalIds are stable, so upserts replace in place.
 */
export async function seedDemoHistory(
  ds: DataSource,
  config: UpliftConfig,
  log: Logger,
  now = new Date(),
): Promise<number> {
  let total = 0;
  for (const [i, c] of config.collectors.entries()) {
    if (c.type !== "demo") continue;
    const parsed = demoOptionsSchema.safeParse(c.options);
    if (!parsed.success) {
      throw new ConfigError(
        "configuration",
        parsed.error.issues.map((e) => `collectors[${i}].options.${formatPath(e.path)}: ${e.message}`),
      );
    }
    const o = parsed.data;
    const [ids] = await ds.query(
      `SELECT p.id AS project_id, m.id AS metric_id,
         EXISTS (SELECT 1 FROM observation x WHERE x.project_id = p.id AND x.metric_id = m.id
                 AND starts_with(x.external_id, $3 || '-')) AS seeded
       FROM project p, metric m WHERE p.slug = $1 AND m.key = $2`,
      [c.project, c.metric, `demo-${c.name}`],
    );
    if (!ids || ids.seeded) continue;
    const series = generateDemoSeries({
      seed: o.seed,
      from: o.since,
      to: now,
      goLiveAt: o.goLiveAt,
      before: o.before,
      after: o.after,
      noise: o.noise,
      eventsPerDay: o.eventsPerDay,
      rampDays: o.rampDays,
      weight: o.weight,
      granularity: o.granularity,
      dimensions: o.dimensions,
      idPrefix: `demo-${c.name}`,
    });
    let batch: ResolvedObservation[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const rows = batch;
      batch = [];
      await ds.transaction((m) => upsertObservations(m, rows));
      total += rows.length;
    };
    for (const ob of series) {
      batch.push({
        projectId: String(ids.project_id),
        metricId: String(ids.metric_id),
        observedAt: ob.observedAt,
        value: ob.value,
        weight: ob.weight,
        externalId: ob.externalId,
        dimensions: ob.dimensions ?? null,
      });
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    log.info("demo history generated", { collector: c.name, project: c.project, metric: c.metric });
  }
  return total;
}
