import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KpiEngine } from "../../src/kpi/engine.js";
import { windowsOf } from "../../src/kpi/figures.js";
import type { Queryable } from "../../src/kpi/phase-aggregates.js";
import { loadSeries } from "../../src/kpi/series.js";
import { loadSubjects } from "../../src/kpi/subjects.js";
import { openTestDataSource } from "../helpers/db.js";

// The reporting refresher asks for a KPI's DAY, WEEK and MONTH series after every change: for MEAN, SUM
// and COUNT they come from one query of sums per UTC day (the expected points themselves are checked by
// hand in series.db.test.ts); MEDIAN keeps one query per bucket.

let env: Awaited<ReturnType<typeof openTestDataSource>>;
const kpis: Record<string, string> = {};
const GO_LIVE = new Date("2025-03-12T15:00:00Z");

beforeAll(async () => {
  env = await openTestDataSource();
  const { ds } = env;
  const [p] = await ds.query(
    `INSERT INTO project (slug, name, stage, go_live_at) VALUES ('p', 'P', 'PRODUCTION', $1) RETURNING id::text`,
    [GO_LIVE],
  );
  for (const aggregation of ["MEAN", "MEDIAN"]) {
    const [m] = await ds.query(
      `INSERT INTO metric (key, name, unit, direction, aggregation)
       VALUES ($1, 'M', 'min', 'LOWER_IS_BETTER', $2) RETURNING id::text`,
      [aggregation.toLowerCase(), aggregation],
    );
    const [k] = await ds.query(`INSERT INTO kpi (project_id, metric_id) VALUES ($1, $2) RETURNING id::text`, [
      p.id,
      m.id,
    ]);
    kpis[aggregation] = k.id;
    // Every 7 hours over two months around go-live: buckets that straddle weeks, months and go-live.
    await ds.query(
      `INSERT INTO observation (project_id, metric_id, observed_at, value, weight, external_id)
       SELECT $1, $2, '2025-02-01'::timestamptz + i * interval '7 hours', (i * 37) % 11, 1 + i % 3, i::text
       FROM generate_series(0, 199) i`,
      [p.id, m.id],
    );
  }
});
afterAll(async () => {
  await env?.close();
});

/** The engine over a connection that counts the statements reading `observation`. */
function countingEngine() {
  const seen: string[] = [];
  const db: Queryable = {
    query: (sql, params) => {
      if (/\bFROM observation\b/.test(sql)) seen.push(sql);
      return env.ds.query(sql, params);
    },
  };
  return { engine: new KpiEngine(db), seen };
}

describe("a KPI's three series", () => {
  it("MEAN: one statement for DAY, WEEK and MONTH, the same points as each bucket alone", async () => {
    const { engine, seen } = countingEngine();
    const subject = (await loadSubjects(env.ds, [kpis.MEAN!])).get(kpis.MEAN!)!;
    const buckets = ["DAY", "WEEK", "MONTH"] as const;
    const all = await Promise.all(
      buckets.map((bucket) => engine.series(subject, { bucket, from: null, to: null })),
    );
    expect(seen).toHaveLength(1);
    for (const [i, bucket] of buckets.entries()) {
      const alone = await new KpiEngine(env.ds, 10, false).series(subject, { bucket, from: null, to: null });
      expect(all[i], bucket).toEqual(alone);
      expect(all[i]!.length, bucket).toBeGreaterThan(1);
    }
    // Both phases, with the go-live day split between them.
    expect(
      all[0]!.filter((p) => p.start.getTime() === Date.parse("2025-03-12T00:00:00Z")).map((p) => p.phase),
    ).toEqual(["BEFORE", "AFTER"]);
  });

  it("MEDIAN: one statement per bucket (a percentile is no sum of days)", async () => {
    const { engine, seen } = countingEngine();
    const subject = (await loadSubjects(env.ds, [kpis.MEDIAN!])).get(kpis.MEDIAN!)!;
    await Promise.all(
      (["DAY", "WEEK", "MONTH"] as const).map((bucket) =>
        engine.series(subject, { bucket, from: null, to: null }),
      ),
    );
    expect(seen).toHaveLength(3);
  });

  it("observations centuries apart: a point for each day that has some, none between", async () => {
    const [m] = await env.ds.query(
      `INSERT INTO metric (key, name, unit, direction, aggregation)
       VALUES ('sparse', 'S', 'n', 'HIGHER_IS_BETTER', 'SUM') RETURNING id::text`,
    );
    const [k] = await env.ds.query(
      `INSERT INTO kpi (project_id, metric_id) SELECT id, $1 FROM project WHERE slug = 'p' RETURNING id::text`,
      [m.id],
    );
    await env.ds.query(
      `INSERT INTO observation (project_id, metric_id, observed_at, value, weight, external_id)
       SELECT k.project_id, k.metric_id, v.at::timestamptz, v.value, 1, v.id FROM kpi k,
         (VALUES ('1850-06-01T23:59:59Z', 2, 'a'), ('1850-06-01T00:00:00Z', 3, 'b'), ('2025-04-01T12:00:00Z', 5, 'c')) v(at, value, id)
       WHERE k.id = $1`,
      [k.id],
    );
    const subject = (await loadSubjects(env.ds, [k.id])).get(k.id)!;
    const days = await countingEngine().engine.series(subject, { bucket: "DAY", from: null, to: null });
    expect(days.map((p) => [p.start.toISOString(), p.phase, p.value])).toEqual([
      ["1850-06-01T00:00:00.000Z", "BEFORE", 5],
      ["2025-04-01T00:00:00.000Z", "AFTER", 5],
    ]);
  });

  it("the windowed request of one bucket keeps its own range", async () => {
    const subject = (await loadSubjects(env.ds, [kpis.MEAN!])).get(kpis.MEAN!)!;
    const from = new Date("2025-02-10T00:00:00Z");
    const to = new Date("2025-03-03T00:00:00Z");
    const { engine } = countingEngine();
    const weeks = await engine.series(subject, { bucket: "WEEK", from, to });
    expect(weeks.map((p) => p.start.toISOString())).toEqual([
      "2025-02-10T00:00:00.000Z",
      "2025-02-17T00:00:00.000Z",
      "2025-02-24T00:00:00.000Z",
    ]);
    const full = await engine.series(subject, { bucket: "WEEK", from: null, to: null });
    expect(weeks).toEqual(full.filter((p) => p.start >= from && p.start < to));
    expect(await loadSeries(env.ds, { ...seriesArgs(subject), bucket: "WEEK", from, to })).toEqual(weeks);
  });
});

function seriesArgs(
  subject: Awaited<ReturnType<typeof loadSubjects>> extends Map<string, infer S> ? S : never,
) {
  return {
    projectId: subject.kpi.projectId,
    metricId: subject.kpi.metricId,
    aggregation: subject.metric.aggregation,
    windows: windowsOf(subject),
    cohort: null,
  };
}
