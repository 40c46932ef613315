import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { OPEN_PRINCIPAL, type Principal } from "../auth/principal.js";
import type { CollectorDirectory } from "../collect/collector-directory.js";
import type { CostRow } from "../db/entities/cost.js";
import type { StageChangeRow } from "../db/entities/stage-change.js";
import type { AlertService } from "../governance/alerts/service.js";
import type { FiguresResult, KpiEngine } from "../kpi/engine.js";
import type { Events } from "../live/events.js";
import { costsOfProjects } from "../store/costs.js";
import { type KpiWithMetric, kpisOfProjects } from "../store/kpis.js";
import { stageHistories } from "../store/projects.js";

/** What resolvers may use; one instance per process. */
export interface AppServices {
  ds: DataSource;
  engine: KpiEngine;
  currency: string;
  events: Events;
  collectors: CollectorDirectory;
  /** Alert rules' evaluation, the alertFired subscription and webhook delivery. */
  alerts: AlertService;
  /** UPLIFT_METRICS_PUBLIC=on: /metrics answers without credentials. */
  metricsPublic?: boolean;
}

/** Per-request batching: a page of N projects costs one query per relation, not N. */
export interface Loaders {
  stageHistory: DataLoader<string, StageChangeRow[]>;
  kpis: DataLoader<string, KpiWithMetric[]>;
  costs: DataLoader<string, CostRow[]>;
  figures: DataLoader<string, FiguresResult>;
}

export interface Context extends AppServices {
  loaders: Loaders;
  /** Who is asking (src/auth/principal.ts). */
  principal: Principal;
}

function byKey<V>(load: (keys: readonly string[]) => Promise<Map<string, V>>, empty: () => V) {
  return new DataLoader<string, V>(async (keys) => {
    const found = await load(keys);
    return keys.map((k) => found.get(k) ?? empty());
  });
}

export function createLoaders(s: AppServices): Loaders {
  return {
    stageHistory: byKey(
      (ids) => stageHistories(s.ds, ids),
      () => [],
    ),
    kpis: byKey(
      (ids) => kpisOfProjects(s.ds, ids),
      () => [],
    ),
    costs: byKey(
      (ids) => costsOfProjects(s.ds, ids),
      () => [],
    ),
    figures: new DataLoader(async (ids) => {
      const found = await s.engine.figures(ids);
      return ids.map((id) => found.get(id) ?? new Error(`KPI ${id} no longer exists`));
    }),
  };
}

export function createContext(s: AppServices, principal: Principal = OPEN_PRINCIPAL): Context {
  return { ...s, loaders: createLoaders(s), principal };
}
