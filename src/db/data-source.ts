import "reflect-metadata";
import { DataSource } from "typeorm";
import { migrations } from "../../migrations/index.js";
import { entities } from "./entities/index.js";

export interface DataSourceOptions {
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  applicationName?: string;
  /** PostgreSQL statement_timeout of every connection, ms; 0 = none (default 120 s). */
  statementTimeoutMs?: number;
}

/** The one DataSource of the process. Schema changes come from migrations only, never `synchronize`. */
export function createDataSource(opts: DataSourceOptions): DataSource {
  return new DataSource({
    type: "postgres",
    url: opts.url,
    entities,
    migrations,
    migrationsTableName: "migrations",
    migrationsTransactionMode: "each",
    synchronize: false,
    migrationsRun: false,
    logging: false,
    poolSize: opts.poolSize ?? 10,
    applicationName: opts.applicationName ?? "uplift",
    extra: {
      // Fail fast instead of hanging forever when the database is gone; the server's pool gets
      // UPLIFT_STATEMENT_TIMEOUT_MS (src/db/database.ts), other users a generous ceiling.
      connectionTimeoutMillis: 10_000,
      statement_timeout: opts.statementTimeoutMs ?? 120_000,
      idle_in_transaction_session_timeout: 300_000,
    },
  });
}
