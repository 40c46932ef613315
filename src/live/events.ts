import type { CollectorRun } from "../domain/collector-run.js";
import type { FiguresResult } from "../kpi/engine.js";
import type { ChangeScope } from "../store/changes.js";

export type { ChangeScope };

export interface KpiFilter {
  projectSlug?: string | null;
  metricKey?: string | null;
  /** The subscriber's project scope (null: every project). */
  projects?: readonly string[] | null;
}

export interface RunFilter {
  collector?: string | null;
  /** Collectors of the subscriber's project scope (null: every collector). */
  collectors?: ReadonlySet<string> | null;
}

/** A recomputed KPI, ready for every subscriber (computed once). */
export interface KpiEvent {
  kpiId: string;
  projectSlug: string;
  metricKey: string;
  result: FiguresResult;
}

/** Where committed changes are announced and subscribers listen (src/live/hub.ts). */
export interface Events {
  /** Called after a commit that changed what the figures of these KPIs depend on. */
  changed(scope: ChangeScope): Promise<void>;
  runFinished(run: CollectorRun): void;
  subscribeKpis(filter: KpiFilter): AsyncIterableIterator<KpiEvent>;
  subscribeRuns(filter: RunFilter): AsyncIterableIterator<CollectorRun>;
}
