import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObservationRangeWithId1765200000000 } from "../../migrations/1765200000000-ObservationRangeWithId.js";
import { BOOTSTRAP_SAMPLE_SEED } from "../../src/kpi/bootstrap-sample.js";
import {
  type KpiAggregateSpec,
  loadPhaseAggregates,
  loadPhaseSamples,
  type Queryable,
  SAMPLE_ALL,
} from "../../src/kpi/phase-aggregates.js";
import { loadSeries } from "../../src/kpi/series.js";
import { openTestDataSource } from "../helpers/db.js";

// The KPI statements (figures, series, the MEDIAN/P90 bootstrap sample) are index-only range scans of
// `observation_range` on the migrated template, and migration 1765200000000 (id added to the index's
// INCLUDE list) goes down and up again. What the plan looks like at 10 M rows is in bench/RESULTS.md (scale).

let env: Awaited<ReturnType<typeof openTestDataSource>>;
let spec: KpiAggregateSpec;
const GO_LIVE = new Date("2026-03-01T00:00:00Z");

beforeAll(async () => {
  env = await openTestDataSource();
  const { ds } = env;
  const [p] = await ds.query(
    `INSERT INTO project (slug, name, stage, go_live_at) VALUES ('p', 'P', 'PRODUCTION', $1) RETURNING id::text`,
    [GO_LIVE],
  );
  const [m] = await ds.query(
    `INSERT INTO metric (key, name, unit, direction, aggregation)
     VALUES ('m', 'M', 'min', 'LOWER_IS_BETTER', 'MEDIAN') RETURNING id::text`,
  );
  const [k] = await ds.query(`INSERT INTO kpi (project_id, metric_id) VALUES ($1, $2) RETURNING id::text`, [
    p.id,
    m.id,
  ]);
  // 20,000 observations over a year around go-live.
  await ds.query(
    `INSERT INTO observation (project_id, metric_id, observed_at, value, weight, external_id)
     SELECT $1, $2, '2025-09-01'::timestamptz + i * interval '26 minutes', (i * 7919) % 1000, 1, i::text
     FROM generate_series(0, 19999) i`,
    [p.id, m.id],
  );
  await ds.query("VACUUM ANALYZE observation");
  spec = {
    kpiId: k.id,
    projectId: p.id,
    metricId: m.id,
    aggregation: "MEDIAN",
    windows: { before: { from: null, to: GO_LIVE }, after: { from: GO_LIVE, to: null } },
    cohort: null,
  };
});
afterAll(async () => {
  await env?.close();
});

/** The plans of whatever `run` sends, on one connection that prefers index scans (a small table would be read whole). */
async function plansOf(run: (db: Queryable) => Promise<unknown>): Promise<string> {
  const qr = env.ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.query("SET enable_seqscan = off");
    await qr.query("SET enable_bitmapscan = off");
    const plans: string[] = [];
    await run({
      query: async (sql, params) => {
        const rows = await qr.query(`EXPLAIN ${sql}`, params);
        plans.push(rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n"));
        return [];
      },
    });
    return plans.join("\n");
  } finally {
    await qr.release();
  }
}

const observationScans = (plan: string) =>
  plan.split("\n").filter((l) => / on observation\b/.test(l) || / on observation o\b/.test(l));

async function indexDef(): Promise<string[]> {
  const rows = await env.ds.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'observation' AND indexname LIKE 'observation_range%'`,
  );
  return rows.map((r: { indexdef: string }) => r.indexdef);
}

describe("observation_range: every KPI statement is an index-only scan", () => {
  it("carries value, weight and id, once", async () => {
    expect(await indexDef()).toEqual([
      "CREATE INDEX observation_range ON public.observation USING btree (project_id, metric_id, observed_at) INCLUDE (value, weight, id)",
    ]);
  });

  it("figures, the bootstrap sample (thinned by a hash of the id) and the series read the index alone", async () => {
    const figures = await plansOf((db) => loadPhaseAggregates(db, [spec]));
    const sample = await plansOf((db) =>
      loadPhaseSamples(db, [spec], [SAMPLE_ALL >> 1], BOOTSTRAP_SAMPLE_SEED),
    );
    const series = await plansOf((db) =>
      loadSeries(db, { ...spec, bucket: "WEEK", from: null, to: null, cohort: null }),
    );
    // MEAN, SUM and COUNT series come from sums per UTC day (one range scan per day), MEDIAN's per bucket.
    const daySeries = await plansOf((db) =>
      loadSeries(db, { ...spec, aggregation: "MEAN", bucket: "WEEK", from: null, to: null, cohort: null }),
    );
    for (const plan of [figures, sample, series, daySeries]) {
      const scans = observationScans(plan);
      expect(scans.length).toBeGreaterThan(0);
      for (const s of scans)
        expect(s).toMatch(/Index Only Scan (Backward )?using observation_range on observation/);
    }
  });

  it("the migration goes down (index without id) and up again, also over a leftover of an interrupted run", async () => {
    const migration = new ObservationRangeWithId1765200000000();
    const qr = env.ds.createQueryRunner();
    await qr.connect();
    try {
      await migration.down(qr);
      expect(await indexDef()).toEqual([
        "CREATE INDEX observation_range ON public.observation USING btree (project_id, metric_id, observed_at) INCLUDE (value, weight)",
      ]);
      // A run stopped after building its new index, before swapping it in.
      await qr.query(
        `CREATE INDEX observation_range_with_id ON observation (project_id, metric_id, observed_at) INCLUDE (value)`,
      );
      await migration.up(qr);
      expect(await indexDef()).toEqual([
        "CREATE INDEX observation_range ON public.observation USING btree (project_id, metric_id, observed_at) INCLUDE (value, weight, id)",
      ]);
      const [valid] = await qr.query(
        `SELECT indisvalid FROM pg_index WHERE indexrelid = 'observation_range'::regclass`,
      );
      expect(valid.indisvalid).toBe(true);
    } finally {
      await qr.release();
    }
    // The figures are what they were: the statements still answer from the index.
    const out = await loadPhaseAggregates({ query: (sql, params) => env.ds.query(sql, params) }, [spec]);
    expect(out.get(spec.kpiId)!.treatment.before.n + out.get(spec.kpiId)!.treatment.after.n).toBe(20_000);
  });
});
