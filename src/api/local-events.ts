import type { DataSource } from "typeorm";
import { log } from "../log.js";
import { type ChangeScope, createUpliftPubSub, type Events, type KpiChanged } from "./events.js";
import type { CollectorRunType } from "./types/collector.js";

/** Publishes changes to this process's subscribers, after the commit that caused them. */
export class LocalEvents implements Events {
  readonly pubSub = createUpliftPubSub();

  constructor(private readonly ds: DataSource) {}

  async changed(scope: ChangeScope): Promise<void> {
    const pairs = scope.pairs ?? [];
    const rows: KpiChanged[] = await this.ds.query(
      `SELECT k.id::text AS "kpiId", p.slug AS "projectSlug", m.key AS "metricKey"
       FROM kpi k JOIN project p ON p.id = k.project_id JOIN metric m ON m.id = k.metric_id
       WHERE (k.project_id, k.metric_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
          OR k.id = ANY($3::bigint[]) OR k.project_id = ANY($4::bigint[]) OR k.metric_id = ANY($5::bigint[])`,
      [
        pairs.map((p) => p.projectId),
        pairs.map((p) => p.metricId),
        scope.kpiIds ?? [],
        scope.projectIds ?? [],
        scope.metricIds ?? [],
      ],
    );
    for (const r of rows) this.pubSub.publish("KPI_UPDATED", r);
    if (rows.length) log.debug("kpi changes published", { count: rows.length });
  }

  runFinished(run: CollectorRunType): void {
    this.pubSub.publish("COLLECTOR_RUN_FINISHED", run);
  }
}
