import type { DataSource } from "typeorm";

// Any fixed number: every Uplift process uses the same one, so replicas starting together migrate in turn.
const MIGRATION_LOCK = 7_461_202_611;

/** Applies pending migrations under a PostgreSQL advisory lock; returns the names applied. */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    const applied = await ds.runMigrations({ transaction: "each" });
    return applied.map((m) => m.name);
  } finally {
    await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** True when every migration this build knows is applied. */
export async function migrationsApplied(ds: DataSource): Promise<boolean> {
  return !(await ds.showMigrations());
}
