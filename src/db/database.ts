import type { DataSource } from "typeorm";
import type { Env } from "../config/env.js";
import type { Logger } from "../log.js";
import { createDataSource } from "./data-source.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres.js";
import { runMigrations } from "./migrate.js";

export interface Database {
  ds: DataSource;
  url: string;
  embedded: EmbeddedPostgres | null;
  close(): Promise<void>;
}

/**
 * Migrations on connections of their own without the requests' statement timeout: building an index on a
 * large table may take longer than any request should (two connections: the lock, and TypeORM's runner).
 */
async function migrateWithoutTimeout(url: string, log: Logger): Promise<void> {
  const ds = createDataSource({ url, poolSize: 2, statementTimeoutMs: 0, applicationName: "uplift-migrate" });
  await ds.initialize();
  try {
    const applied = await runMigrations(ds);
    if (applied.length) log.info("migrations applied", { migrations: applied.join(",") });
  } finally {
    await ds.destroy().catch(() => undefined);
  }
}

/** DATABASE_URL when set, else the embedded server under UPLIFT_DATA_DIR; migrations applied. */
export async function openDatabase(env: Env, log: Logger): Promise<Database> {
  let embedded: EmbeddedPostgres | null = null;
  let url = env.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: env.dataDir,
      port: env.pgPort ?? 0,
      log: (l) => log.info(l),
    });
    url = embedded.url;
    // The embedded server has one database; Uplift's lives beside the default one.
    const { default: pg } = await import("pg");
    const c = new pg.Client(url);
    await c.connect();
    const exists = await c.query(`SELECT 1 FROM pg_database WHERE datname = 'uplift'`);
    if (!exists.rowCount) await c.query(`CREATE DATABASE uplift`);
    await c.end();
    url = url.replace(/\/postgres$/, "/uplift");
  }
  const ds = createDataSource({ url, poolSize: env.poolSize, statementTimeoutMs: env.statementTimeoutMs });
  try {
    await migrateWithoutTimeout(url, log);
    await ds.initialize();
  } catch (e) {
    await ds.destroy().catch(() => undefined);
    await embedded?.stop();
    throw e;
  }
  return {
    ds,
    url,
    embedded,
    async close() {
      await ds.destroy().catch((e) => log.warn("closing the database pool failed", { error: e }));
      await embedded?.stop();
    },
  };
}
