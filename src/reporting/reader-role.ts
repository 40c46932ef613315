import pg from "pg";
import type { DataSource } from "typeorm";

export const READER_ROLE = "uplift_reader";

/**
 * Creates or updates the `uplift_reader` login role: it may read the `reporting` schema and nothing else.
 * PUBLIC's default rights are narrowed so the role inherits none: no USAGE on the public schema (the
 * base tables), no temporary tables in this database. pg_catalog stays readable, as for every role (BI
 * tools list tables from it). Roles are cluster-wide: a concurrent start-up on another database of the
 * same server may race on the role row, so each step is retried.
 */
export async function ensureReaderRole(ds: DataSource, password: string): Promise<void> {
  const role = pg.escapeIdentifier(READER_ROLE);
  const steps = [
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${READER_ROLE}') THEN CREATE ROLE ${role} LOGIN; END IF;
     END $$`,
    // The password travels only in this statement (never logged: the DataSource has logging off).
    `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
       PASSWORD ${pg.escapeLiteral(password)}`,
    `ALTER ROLE ${role} SET default_transaction_read_only = on`,
    `GRANT USAGE ON SCHEMA public TO CURRENT_USER`,
    `REVOKE ALL ON SCHEMA public FROM PUBLIC`,
    `REVOKE ALL ON SCHEMA public FROM ${role}`,
    `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`,
    `DO $$ BEGIN
       EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
       EXECUTE format('GRANT CONNECT ON DATABASE %I TO ${READER_ROLE}', current_database());
     END $$`,
    `GRANT USAGE ON SCHEMA reporting TO ${role}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO ${role}`,
    // Tables a later migration adds to reporting are readable too.
    `ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO ${role}`,
  ];
  for (const sql of steps) {
    for (let attempt = 0; ; attempt++) {
      try {
        await ds.query(sql);
        break;
      } catch (e) {
        const code = (e as { code?: string }).code;
        // XX000 "tuple concurrently updated", 23505/42710 a role created by a concurrent start-up.
        if (attempt < 20 && (code === "XX000" || code === "23505" || code === "42710" || code === "40001")) {
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
          continue;
        }
        throw new Error(`setting up the ${READER_ROLE} role failed: ${(e as Error).message}`);
      }
    }
  }
}
