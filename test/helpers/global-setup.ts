import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { createDataSource } from "../../src/db/data-source.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { runMigrations } from "../../src/db/migrate.js";

// One PostgreSQL for the whole run: DATABASE_URL when set, else an embedded server in a temporary folder.
// A template database is migrated once; each test file clones it (CREATE DATABASE … TEMPLATE).
export const TEMPLATE_DB = `uplift_template_${process.pid}`;

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDb: string;
  }
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  let embedded: EmbeddedPostgres | null = null;
  let dir: string | null = null;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-test-"));
    fs.chmodSync(dir, 0o755); // the postgres user must reach it when tests run as root
    embedded = await startEmbeddedPostgres({ dataDir: dir });
    adminUrl = embedded.url;
  }
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB}`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  const ds = createDataSource({ url: withDatabase(adminUrl, TEMPLATE_DB), poolSize: 2 });
  await ds.initialize();
  await runMigrations(ds);
  await ds.destroy();
  project.provide("pgAdminUrl", adminUrl);
  project.provide("templateDb", TEMPLATE_DB);

  return async () => {
    // Databases of test files that crashed are dropped with the cluster (embedded) or here (shared server).
    const left = await admin.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'uplift_t_%' OR datname = $1`,
      [TEMPLATE_DB],
    );
    for (const r of left.rows)
      await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await embedded?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
}
