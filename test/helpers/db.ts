import { randomBytes } from "node:crypto";
import pg from "pg";
import type { DataSource } from "typeorm";
import { inject } from "vitest";
import { createDataSource } from "../../src/db/data-source.js";

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database (call in afterAll). */
  drop(): Promise<void>;
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A new database cloned from the migrated template: one per test file, so files run in parallel. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = inject("pgAdminUrl");
  const name = `uplift_t_${randomBytes(6).toString("hex")}`;
  const c = new pg.Client(admin);
  await c.connect();
  // Cloning needs the template to have no other session; retry briefly when another file is cloning it.
  for (let attempt = 0; ; attempt++) {
    try {
      await c.query(`CREATE DATABASE ${name} TEMPLATE ${inject("templateDb")}`);
      break;
    } catch (e) {
      if (attempt > 50 || !/being accessed by other users/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await c.end();
  return {
    url: withDatabase(admin, name),
    name,
    async drop() {
      const d = new pg.Client(admin);
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/** A DataSource on a fresh test database. */
export async function openTestDataSource(): Promise<{
  ds: DataSource;
  db: TestDatabase;
  close(): Promise<void>;
}> {
  const db = await createTestDatabase();
  const ds = createDataSource({ url: db.url, poolSize: 5 });
  await ds.initialize();
  return {
    ds,
    db,
    async close() {
      await ds.destroy();
      await db.drop();
    },
  };
}

/** Empties every data table (between tests of one file). */
export async function truncateAll(ds: DataSource): Promise<void> {
  const rows: { tablename: string }[] = await ds.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`,
  );
  if (rows.length)
    await ds.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(", ")} RESTART IDENTITY CASCADE`);
}
