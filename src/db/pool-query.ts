import type { DataSource } from "typeorm";

/** What the engine reads through (structurally the kpi layer's Queryable: db sits below kpi). */
export interface RowsQueryable {
  query(sql: string, params?: unknown[]): Promise<any[]>;
}

interface PgPool {
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

/**
 * Reads straight on the DataSource's pg pool (the same connections and settings): a request's stamp check
 * costs one round trip and no TypeORM query runner (in a profile of warm KPI requests, TypeORM's per-query
 * work took more CPU than Apollo and graphql-js together). Falls back to `ds.query` when the driver has no
 * pg pool.
 */
export function poolQueryable(ds: DataSource): RowsQueryable {
  return {
    async query(text, values) {
      const pool = (ds.driver as unknown as { master?: PgPool }).master;
      return pool && typeof pool.query === "function"
        ? (await pool.query(text, values)).rows
        : ds.query(text, values);
    },
  };
}
