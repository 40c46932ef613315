// KPI figures: the GraphQL query (cold: the engine's cache misses; warm: it hits) versus the same figures
// from the simplest raw SQL on a plain pg client (the floor), plus the app's own aggregate SQL on that
// plain client (to split the GraphQL query's time into SQL and everything else).
import pg from "pg";
import { type KpiAggregateSpec, loadPhaseAggregates, type Queryable } from "../src/kpi/phase-aggregates.js";

export const KPI_QUERY = `query Kpi($slug: String!, $metric: String!) {
  project(slug: $slug) {
    kpi(metricKey: $metric) {
      baseline { value count from to }
      current { value count }
      improvementPct
      annualBenefit
    }
  }
}`;

/** MEAN floor: one pass over the KPI's index range, one group per phase. */
export const MEAN_FLOOR_SQL = `
SELECT observed_at >= $3 AS after, sum(value * weight) / sum(weight) AS value, sum(weight) AS count,
       min(observed_at) AS "from", max(observed_at) AS "to"
FROM observation WHERE project_id = $1 AND metric_id = $2
GROUP BY 1`;

/** MEDIAN floor: cumulative weight by value within each phase; the smallest value reaching 50 %. */
export const MEDIAN_FLOOR_SQL = `
SELECT after, min(value) FILTER (WHERE cw >= 0.5 * tw) AS value, sum(weight) AS count,
       min(observed_at) AS "from", max(observed_at) AS "to"
FROM (
  SELECT observed_at >= $3 AS after, value, weight, observed_at,
         sum(weight) OVER (PARTITION BY observed_at >= $3 ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw,
         sum(weight) OVER (PARTITION BY observed_at >= $3) AS tw
  FROM observation WHERE project_id = $1 AND metric_id = $2
) c
GROUP BY after`;

export interface Figures {
  baseline: { value: number; count: number; from: string; to: string };
  current: { value: number; count: number };
}

export async function floorFigures(client: pg.Client, sql: string, params: unknown[]): Promise<Figures> {
  const { rows } = await client.query(sql, params);
  const b = rows.find((r) => r.after === false);
  const a = rows.find((r) => r.after === true);
  return {
    baseline: {
      value: Number(b.value),
      count: Number(b.count),
      from: (b.from as Date).toISOString(),
      to: (b.to as Date).toISOString(),
    },
    current: { value: Number(a.value), count: Number(a.count) },
  };
}

/** pg.Client as the engine's Queryable (rows only). */
export function queryable(client: pg.Client): Queryable {
  return { query: async (sql, params) => (await client.query(sql, params)).rows };
}

/** The app's aggregate SQL for one KPI, run through the engine's own loader on a plain client. */
export async function appAggregateSql(client: pg.Client, spec: KpiAggregateSpec): Promise<void> {
  const out = await loadPhaseAggregates(queryable(client), [spec]);
  if (!out.get(spec.kpiId)?.treatment.after.n) throw new Error("app aggregate SQL returned no AFTER rows");
}

/** EXPLAIN (ANALYZE, BUFFERS) of whatever SQL `loadPhaseAggregates` sends for `spec`. */
export async function explainAppSql(client: pg.Client, spec: KpiAggregateSpec): Promise<string> {
  const plans: string[] = [];
  await loadPhaseAggregates(
    {
      query: async (sql, params) => {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
        plans.push(rows.map((r) => r["QUERY PLAN"]).join("\n"));
        return [];
      },
    },
    [spec],
  );
  return plans.join("\n\n");
}

export async function explainSql(client: pg.Client, sql: string, params: unknown[]): Promise<string> {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
  return rows.map((r) => r["QUERY PLAN"]).join("\n");
}
