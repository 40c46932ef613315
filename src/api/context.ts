import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { OPEN_PRINCIPAL, type Principal } from "../auth/principal.js";
import type { CollectorDirectory } from "../collect/collector-directory.js";
import type { CostRow } from "../db/entities/cost.js";
import type { ProjectRow } from "../db/entities/project.js";
import type { StageChangeRow } from "../db/entities/stage-change.js";
import type { AlertService } from "../governance/alerts/service.js";
import type { FiguresResult, KpiEngine } from "../kpi/engine.js";
import type { LoadedSubject } from "../kpi/subjects.js";
import type { Events } from "../live/events.js";
import { costsOfProjects } from "../store/costs.js";
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
  /** A project's KPIs with their metrics and change stamps, in metric-key order. */
  kpis: DataLoader<string, LoadedSubject[]>;
  costs: DataLoader<string, CostRow[]>;
  figures: DataLoader<string, FiguresResult>;
  /** A project by slug with its KPIs and their change stamps, in one query (primes `kpis`). */
  projectBySlug: DataLoader<string, ProjectRow | null>;
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
  // KPIs whose rows and change stamps this request has read: their figures need no further query when
  // the engine's cache holds them at the same stamps. Never shared between requests, so every request
  // reads the stamps afresh (a change committed by any process is seen by the next request).
  const subjects = new Map<string, LoadedSubject>();
  const remember = (list: LoadedSubject[]) => {
    for (const x of list) subjects.set(x.kpi.id, x);
    return list;
  };
  const kpis = new DataLoader<string, LoadedSubject[]>(async (ids) => {
    const found = await s.engine.stamps.byProject.load(ids);
    return ids.map((id) => remember(found.get(id) ?? []));
  });
  return {
    stageHistory: byKey(
      (ids) => stageHistories(s.ds, ids),
      () => [],
    ),
    kpis,
    costs: byKey(
      (ids) => costsOfProjects(s.ds, ids),
      () => [],
    ),
    figures: new DataLoader(async (ids) => {
      const known = ids.flatMap((id) => subjects.get(id) ?? []);
      const rest = ids.filter((id) => !subjects.has(id));
      const [a, b] = await Promise.all([
        s.engine.figuresOf(known),
        rest.length ? s.engine.figures(rest) : new Map<string, FiguresResult>(),
      ]);
      return ids.map((id) => a.get(id) ?? b.get(id) ?? new Error(`KPI ${id} no longer exists`));
    }),
    projectBySlug: new DataLoader(async (slugs) => {
      const found = await s.engine.stamps.bySlug.load(slugs);
      return slugs.map((slug) => {
        const x = found.get(slug);
        if (!x) return null;
        kpis.prime(x.project.id, remember(x.subjects));
        return x.project;
      });
    }),
  };
}

export function createContext(s: AppServices, principal: Principal = OPEN_PRINCIPAL): Context {
  return { ...s, loaders: createLoaders(s), principal };
}
