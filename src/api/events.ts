import type { FiguresResult } from "../kpi/engine.js";
import type { CollectorRunType } from "./types/collector.js";

/** What a commit touched: observations of project × metric pairs, KPI settings, projects, or metrics. */
export interface ChangeScope {
  pairs?: { projectId: string; metricId: string }[];
  kpiIds?: string[];
  projectIds?: string[];
  metricIds?: string[];
}

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
  runFinished(run: CollectorRunType): void;
  subscribeKpis(filter: KpiFilter): AsyncIterableIterator<KpiEvent>;
  subscribeRuns(filter: RunFilter): AsyncIterableIterator<CollectorRunType>;
}
