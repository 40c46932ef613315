import { createPubSub } from "@graphql-yoga/subscription";
import type { CollectorRunType } from "./types/collector.js";

/** Payload of a KPI change: which KPI, and the names subscribers filter on. */
export interface KpiChanged {
  kpiId: string;
  projectSlug: string;
  metricKey: string;
}

/** What a commit touched: observations of project × metric pairs, KPI settings, projects, or metrics. */
export interface ChangeScope {
  pairs?: { projectId: string; metricId: string }[];
  kpiIds?: string[];
  projectIds?: string[];
  metricIds?: string[];
}

export type UpliftPubSub = ReturnType<typeof createUpliftPubSub>;

export function createUpliftPubSub() {
  return createPubSub<{
    KPI_UPDATED: [KpiChanged];
    COLLECTOR_RUN_FINISHED: [CollectorRunType];
  }>();
}

/** Where committed changes are announced. The subscriptions issue routes this through LISTEN/NOTIFY. */
export interface Events {
  pubSub: UpliftPubSub;
  /** Called after a commit that changed what the figures of these KPIs depend on. */
  changed(scope: ChangeScope): Promise<void>;
  runFinished(run: CollectorRunType): void;
}
