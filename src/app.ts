import { LocalEvents } from "./api/local-events.js";
import { buildUpliftSchema } from "./api/schema.js";
import { createServer, type UpliftServer } from "./api/server.js";
import { ConfigCollectorDirectory } from "./collect/config-directory.js";
import { applyConfig } from "./config/apply.js";
import type { Env } from "./config/env.js";
import { loadConfigFile, resolveConfigPath, type UpliftConfig } from "./config/file.js";
import { type Database, openDatabase } from "./db/database.js";
import { seedDemoHistory } from "./demo/seed.js";
import { KpiEngine } from "./kpi/engine.js";
import type { Logger } from "./log.js";

export interface App {
  port: number;
  url: string;
  db: Database;
  config: UpliftConfig;
  server: UpliftServer;
  stop(): Promise<void>;
}

/** The whole process: configuration → database → migrations → configuration upsert → API. */
export async function startApp(env: Env, log: Logger): Promise<App> {
  // The file is validated before anything starts: a bad file never leaves a database running.
  const { file, demo } = resolveConfigPath(env.configPath);
  const config = loadConfigFile(file);
  log.info("configuration loaded", { file, demo });

  const db = await openDatabase(env, log);
  try {
    await applyConfig(db.ds, config, file);
    if (demo) await seedDemoHistory(db.ds, config, log);
    const events = new LocalEvents(db.ds);
    const services = {
      ds: db.ds,
      engine: new KpiEngine(db.ds),
      currency: config.currency,
      events,
      collectors: new ConfigCollectorDirectory(config.collectors),
    };
    const schema = await buildUpliftSchema(events.pubSub);
    const server = await createServer(schema, services, {
      introspection: env.introspection,
      maxBodyBytes: env.maxBodyBytes,
      maxQueryDepth: env.maxQueryDepth,
    });
    const port = await server.listen(env.port, env.host);
    const host = env.host.includes(":") ? `[${env.host}]` : env.host;
    log.info("Uplift is serving", { graphql: `http://${host}:${port}/graphql` });
    let stopping: Promise<void> | null = null;
    return {
      port,
      url: `http://${host}:${port}`,
      db,
      config,
      server,
      stop() {
        stopping ??= (async () => {
          await server.close();
          await db.close();
        })();
        return stopping;
      },
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}
