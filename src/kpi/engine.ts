import { computeFigures, type KpiFigures, windowsOf } from "./figures.js";
import { loadPhaseAggregates, type Queryable } from "./phase-aggregates.js";
import { type LoadedSubject, loadSubjects } from "./subjects.js";

/**
 * Computes KPI figures for many KPIs at once and caches them until something they depend on changes.
 * Validity is checked against stamps kept in the database (KPI, metric and project `updated_at`, and the
 * project × metric's last observation write), so a replica never serves figures another replica has made
 * stale. The stamps are read before the aggregates: a write racing with a computation can only cause one
 * extra recomputation later, never a stale answer kept.
 */
export class KpiEngine {
  private readonly cache = new Map<string, { stamp: string; figures: KpiFigures }>();

  constructor(
    private readonly db: Queryable,
    private readonly maxEntries = 5000,
    private readonly useCache = true,
  ) {}

  async figures(
    kpiIds: readonly string[],
  ): Promise<Map<string, { subject: LoadedSubject; figures: KpiFigures }>> {
    const subjects = await loadSubjects(this.db, [...new Set(kpiIds)]);
    const out = new Map<string, { subject: LoadedSubject; figures: KpiFigures }>();
    const stale: LoadedSubject[] = [];
    for (const s of subjects.values()) {
      const hit = this.useCache ? this.cache.get(s.kpi.id) : undefined;
      if (hit && hit.stamp === s.stamp) {
        // Refresh its place in the LRU order.
        this.cache.delete(s.kpi.id);
        this.cache.set(s.kpi.id, hit);
        out.set(s.kpi.id, { subject: s, figures: hit.figures });
      } else stale.push(s);
    }
    if (stale.length) {
      const aggregates = await loadPhaseAggregates(
        this.db,
        stale.map((s) => ({
          kpiId: s.kpi.id,
          projectId: s.kpi.projectId,
          metricId: s.kpi.metricId,
          aggregation: s.metric.aggregation,
          windows: windowsOf(s),
          cohort: s.kpi.cohortDimension
            ? {
                dimension: s.kpi.cohortDimension,
                treatment: s.kpi.cohortTreatment!,
                control: s.kpi.cohortControl!,
              }
            : null,
        })),
      );
      for (const s of stale) {
        const figures = computeFigures(s, aggregates.get(s.kpi.id)!, s.updatedAt);
        this.remember(s.kpi.id, s.stamp, figures);
        out.set(s.kpi.id, { subject: s, figures });
      }
    }
    return out;
  }

  private remember(id: string, stamp: string, figures: KpiFigures) {
    if (!this.useCache) return;
    this.cache.delete(id);
    this.cache.set(id, { stamp, figures });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
  }
}
