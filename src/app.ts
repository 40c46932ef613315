import { buildUpliftSchema } from "./api/schema.js";
import { createServer, type UpliftServer } from "./api/server.js";
import { Access } from "./auth/authenticate.js";
import { checkStartup } from "./auth/mode.js";
import { resolveInstances } from "./collect/instances.js";
import { ownerId } from "./collect/runs.js";
import { CollectorService } from "./collect/service.js";
import type { CollectorRegistry } from "./collect/types.js";
import { applyConfig } from "./config/apply.js";
import type { Env } from "./config/env.js";
import { loadConfigFile, resolveConfigPath, type UpliftConfig } from "./config/file.js";
import { type Database, openDatabase } from "./db/database.js";
import { poolQueryable } from "./db/pool-query.js";
import { AlertService, type AlertServiceOptions } from "./governance/alerts/service.js";
import { KpiEngine } from "./kpi/engine.js";
import { LiveHub } from "./live/hub.js";
import type { Logger } from "./log.js";
import { setKpiGaugeSource } from "./metrics/registry.js";
import { ensureReaderRole } from "./reporting/reader-role.js";
import { ReportingRefresher } from "./reporting/refresher.js";

export interface App {
  port: number;
  url: string;
  db: Database;
  config: UpliftConfig;
  server: UpliftServer;
  collectors: CollectorService;
  events: LiveHub;
  alerts: AlertService;
  reporting: ReportingRefresher;
  stop(): Promise<void>;
}

export interface AppOptions {
  /** The collector types (collectors/index.ts); src/ never imports collectors/ itself. */
  registry: CollectorRegistry;
  /** Passed to the collector service (tests shorten leases and batch sizes). */
  collectorOptions?: ConstructorParameters<typeof CollectorService>[2];
  /** Alert evaluation and webhook delivery (tests inject the clock and drive the timers). */
  alertOptions?: AlertServiceOptions;
}

/** The whole process: configuration → database → migrations → configuration upsert → API. */
export async function startApp(env: Env, log: Logger, opts: AppOptions): Promise<App> {
  // The file is validated before anything starts: a bad file never leaves a database running.
  const { file, demo } = resolveConfigPath(env.configPath);
  const config = loadConfigFile(file);
  log.info("configuration loaded", { file, demo });

  const db = await openDatabase(env, log);
  const access = new Access(db.ds, env.auth, log);
  let reporting: ReportingRefresher | null = null;
  try {
    checkStartup(env.auth, await access.start(), env.host); // open mode only on a loopback HOST
    await applyConfig(db.ds, config, file);
    const instances = await resolveInstances(db.ds, config, opts.registry, file);
    const engine = new KpiEngine(poolQueryable(db.ds));
    const events = new LiveHub(db.ds, engine, db.url, log);
    await events.start();
    const alerts = new AlertService(
      db.ds,
      engine,
      events,
      log.child({ component: "alerts" }),
      opts.alertOptions,
    );
    // The reporting schema: filled from the engine at start-up, then kept current from the change queue.
    if (env.readerPassword) await ensureReaderRole(db.ds, env.readerPassword);
    reporting = new ReportingRefresher(db.ds, engine, db.url, config.currency, log);
    await reporting.start();
    const refresher = reporting;
    const unsetGauges = setKpiGaugeSource(db.ds);
    const collectors = new CollectorService(
      { ds: db.ds, log, events, owner: ownerId() },
      instances,
      opts.collectorOptions,
    );
    if (demo) await fillDemoHistory(collectors, log);
    const services = {
      ds: db.ds,
      engine,
      currency: config.currency,
      events,
      collectors,
      alerts,
      metricsPublic: env.metricsPublic,
    };
    const schema = await buildUpliftSchema();
    const server = await createServer(schema, services, {
      introspection: env.introspection,
      maxBodyBytes: env.maxBodyBytes,
      maxQueryDepth: env.maxQueryDepth,
      ws: env.ws,
      access,
      query: env.query,
      rateLimit: env.rateLimit,
      responseCache: env.responseCache,
    });
    const port = await server.listen(env.port, env.host);
    alerts.start();
    if (env.scheduler) await collectors.startScheduler();
    const host = env.host.includes(":") ? `[${env.host}]` : env.host;
    log.info("Uplift is serving", { graphql: `http://${host}:${port}/graphql` });
    let stopping: Promise<void> | null = null;
    return {
      port,
      url: `http://${host}:${port}`,
      db,
      config,
      server,
      collectors,
      events,
      alerts,
      reporting: refresher,
      stop() {
        // Stop taking work, cancel runs (they keep what they committed), drain requests, close the database.
        stopping ??= (async () => {
          await collectors.stop();
          log.debug("collectors stopped");
          await server.close();
          access.close();
          log.debug("server closed");
          await alerts.stop();
          log.debug("alerts stopped");
          await events.stop();
          await refresher.stop();
          unsetGauges();
          log.debug("change listeners stopped");
          await db.close();
          log.debug("database closed");
        })();
        return stopping;
      },
    };
  } catch (e) {
    access.close();
    await reporting?.stop();
    await db.close();
    throw e;
  }
}

/**
 * The bundled demo's first start: every demo instance that never ran collects its history now, so the
 * first query already shows figures; afterwards the schedule keeps the history growing.
 */
async function fillDemoHistory(collectors: CollectorService, log: Logger): Promise<void> {
  const last = await collectors.list();
  for (const c of last.filter((x) => x.lastRun === null)) {
    const { done } = await collectors.startManual(c.name);
    const run = await done;
    log.info("demo history collected", {
      collector: c.name,
      observations: run.observations,
      status: run.status,
    });
  }
}
