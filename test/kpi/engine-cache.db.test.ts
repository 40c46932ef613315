import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataSource } from "../../src/db/data-source.js";
import { KpiEngine } from "../../src/kpi/engine.js";
import { trackKpi } from "../../src/store/kpis.js";
import { defineMetric } from "../../src/store/metrics.js";
import { recordObservations } from "../../src/store/observations.js";
import { createProject, setProjectStage, updateProject } from "../../src/store/projects.js";
import { openTestDataSource } from "../helpers/db.js";

// The KPI engine's figures cache: every kind of write the figures depend on must make the next read
// fresh, on this engine and on another engine (another replica) sharing the database. Writes go through
// the store functions the API uses; expected figures are worked out by hand.

let ds: DataSource;
let close: () => Promise<void>;
let dbUrl: string;
beforeAll(async () => {
  const opened = await openTestDataSource();
  ds = opened.ds;
  close = opened.close;
  dbUrl = opened.db.url;
});
afterAll(async () => close?.());

const d = (iso: string) => new Date(iso);

async function figuresOf(engine: KpiEngine, kpiId: string) {
  const found = (await engine.figures([kpiId])).get(kpiId);
  if (!found) throw new Error(`no figures for KPI ${kpiId}`);
  return found.figures;
}

/** A project live since 1 March 2025 with BEFORE 10, 12 (mean 11) and AFTER 1 (weight 1), 3 (weight 3). */
async function setUp(slug: string, metricKey: string) {
  await createProject(ds, {
    slug,
    name: slug,
    stage: "PRODUCTION",
    stageSince: d("2025-03-01T00:00:00Z"),
    goLiveAt: d("2025-03-01T00:00:00Z"),
  });
  await defineMetric(ds, {
    key: metricKey,
    name: metricKey,
    unit: "minutes",
    direction: "LOWER_IS_BETTER",
    aggregation: "MEAN",
  });
  const kpi = await trackKpi(ds, { projectSlug: slug, metricKey });
  const obs = (at: string, value: number, weight = 1, externalId?: string) => ({
    projectSlug: slug,
    metricKey,
    observedAt: d(at),
    value,
    weight,
    externalId,
  });
  await recordObservations(ds, [
    obs("2025-02-01T00:00:00Z", 10),
    obs("2025-02-10T00:00:00Z", 12),
    obs("2025-03-05T00:00:00Z", 1, 1, "late-1"),
    obs("2025-03-20T00:00:00Z", 3, 3),
  ]);
  return { kpiId: String(kpi.id), obs };
}

describe("KpiEngine cache", () => {
  it("serves cached figures while nothing changed", async () => {
    const { kpiId } = await setUp("cache-hit", "cache.hit");
    const engine = new KpiEngine(ds);
    const first = await figuresOf(engine, kpiId);
    // BEFORE (10 + 12)/2 = 11; AFTER (1 + 9)/4 = 2.5; (11 − 2.5)/11 = 77.27…%
    expect(first.baseline.value).toBe(11);
    expect(first.current.value).toBe(2.5);
    expect(first.improvementPct).toBeCloseTo((8.5 / 11) * 100, 9);
    // Same object: the second read was a cache hit (otherwise the freshness tests below prove nothing).
    expect(await figuresOf(engine, kpiId)).toBe(first);
  });

  it("is fresh after observations are added or re-recorded", async () => {
    const { kpiId, obs } = await setUp("cache-obs", "cache.obs");
    const engine = new KpiEngine(ds);
    expect((await figuresOf(engine, kpiId)).current.value).toBe(2.5);

    await recordObservations(ds, [obs("2025-04-01T00:00:00Z", 6)]);
    const added = await figuresOf(engine, kpiId);
    expect(added.current).toMatchObject({ value: 16 / 5, count: 5 }); // (1 + 9 + 6)/5

    // Re-recording the same externalId replaces the observation: 1 → 11.
    await recordObservations(ds, [obs("2025-03-05T00:00:00Z", 11, 1, "late-1")]);
    const replaced = await figuresOf(engine, kpiId);
    expect(replaced.current).toMatchObject({ value: 26 / 5, count: 5 }); // (11 + 9 + 6)/5
    expect(replaced.updatedAt!.getTime()).toBeGreaterThan(added.updatedAt!.getTime());

    // Moving an observation across go-live (same externalId, earlier observedAt) moves it to BEFORE.
    await recordObservations(ds, [obs("2025-02-20T00:00:00Z", 11, 1, "late-1")]);
    const moved = await figuresOf(engine, kpiId);
    expect(moved.baseline).toMatchObject({ value: 11, count: 3 }); // (10 + 12 + 11)/3
    expect(moved.current).toMatchObject({ value: 15 / 4, count: 4 }); // (9 + 6)/4
  });

  it("is fresh after trackKpi changes the settings", async () => {
    const { kpiId } = await setUp("cache-track", "cache.track");
    const engine = new KpiEngine(ds);
    const before = await figuresOf(engine, kpiId);
    expect(before.targetMet).toBeNull();
    expect(before.annualBenefit).toBeNull();

    await trackKpi(ds, {
      projectSlug: "cache-track",
      metricKey: "cache.track",
      baselineValue: 20,
      target: 3,
      valuePerUnit: 2,
      annualVolume: 1000,
    });
    const after = await figuresOf(engine, kpiId);
    expect(after.baseline.value).toBe(20);
    expect(after.baseline.count).toBe(2);
    expect(after.improvementPct).toBeCloseTo((17.5 / 20) * 100, 9);
    expect(after.targetMet).toBe(true); // 2.5 ≤ 3
    expect(after.annualBenefit).toBeCloseTo(17.5 * 2 * 1000, 6);

    // trackKpi replaces every setting: without them the figures go back to the measured ones.
    await trackKpi(ds, {
      projectSlug: "cache-track",
      metricKey: "cache.track",
      afterFrom: d("2025-03-10T00:00:00Z"),
    });
    const windowed = await figuresOf(engine, kpiId);
    expect(windowed.baseline.value).toBe(11);
    expect(windowed.current).toMatchObject({ value: 3, count: 3 }); // only the 20 March observation
    expect(windowed.targetMet).toBeNull();
    expect(windowed.annualBenefit).toBeNull();

    // A cohort: no observation carries the dimension, so both phases are empty.
    await trackKpi(ds, {
      projectSlug: "cache-track",
      metricKey: "cache.track",
      cohort: { dimension: "team", treatment: "ai", control: "classic" },
    });
    const cohort = await figuresOf(engine, kpiId);
    expect(cohort.baseline.count).toBe(0);
    expect(cohort.current.count).toBe(0);
    expect(cohort.control?.dimension).toBe("team");
  });

  it("is fresh after the project's goLiveAt changes (updateProject and setProjectStage)", async () => {
    const { kpiId } = await setUp("cache-golive", "cache.golive");
    const engine = new KpiEngine(ds);
    expect((await figuresOf(engine, kpiId)).baseline.count).toBe(2);

    // Go-live moved to 15 March: the 5 March observation (1) becomes BEFORE.
    await updateProject(ds, "cache-golive", { goLiveAt: d("2025-03-15T00:00:00Z") });
    const moved = await figuresOf(engine, kpiId);
    expect(moved.baseline).toMatchObject({ value: 23 / 3, count: 3 }); // (10 + 12 + 1)/3
    expect(moved.current).toMatchObject({ value: 3, count: 3 });

    // No go-live at all: everything is AFTER.
    await updateProject(ds, "cache-golive", { goLiveAt: null });
    const none = await figuresOf(engine, kpiId);
    expect(none.baseline.count).toBe(0);
    expect(none.baseline.value).toBeNull();
    expect(none.current.count).toBe(6);

    // A project entering PRODUCTION gets goLiveAt = the stage change's time.
    await createProject(ds, {
      slug: "cache-stage",
      name: "stage",
      stage: "PILOT",
      stageSince: d("2025-01-01T00:00:00Z"),
    });
    const k2 = await trackKpi(ds, { projectSlug: "cache-stage", metricKey: "cache.golive" });
    await recordObservations(ds, [
      {
        projectSlug: "cache-stage",
        metricKey: "cache.golive",
        observedAt: d("2025-02-01T00:00:00Z"),
        value: 8,
      },
      {
        projectSlug: "cache-stage",
        metricKey: "cache.golive",
        observedAt: d("2025-04-01T00:00:00Z"),
        value: 2,
      },
    ]);
    const pilot = await figuresOf(engine, String(k2.id));
    expect(pilot.baseline.count).toBe(0);
    await setProjectStage(ds, "cache-stage", "PRODUCTION", d("2025-03-01T00:00:00Z"));
    const live = await figuresOf(engine, String(k2.id));
    expect(live.baseline.value).toBe(8);
    expect(live.current.value).toBe(2);
    expect(live.improvementPct).toBeCloseTo(75, 9);
  });

  it("is fresh after defineMetric changes the aggregation or the direction", async () => {
    const { kpiId } = await setUp("cache-metric", "cache.metric");
    const engine = new KpiEngine(ds);
    expect((await figuresOf(engine, kpiId)).current.value).toBe(2.5);

    const redefine = (aggregation: "SUM" | "MEDIAN" | "COUNT", direction = "LOWER_IS_BETTER" as const) =>
      defineMetric(ds, { key: "cache.metric", name: "m", unit: "minutes", direction, aggregation });
    await redefine("SUM");
    const sum = await figuresOf(engine, kpiId);
    expect(sum.baseline.value).toBe(22);
    expect(sum.current.value).toBe(10); // 1 + 3·3

    await redefine("MEDIAN");
    // AFTER 1(1) 3(3): 50 % of 4 = 2 → 3; BEFORE 10(1) 12(1): 50 % = 1 reached at 10.
    const median = await figuresOf(engine, kpiId);
    expect(median.baseline.value).toBe(10);
    expect(median.current.value).toBe(3);

    await defineMetric(ds, {
      key: "cache.metric",
      name: "m",
      unit: "minutes",
      direction: "HIGHER_IS_BETTER",
      aggregation: "MEDIAN",
    });
    const flipped = await figuresOf(engine, kpiId);
    expect(flipped.improvementPct).toBeCloseTo(-70, 9); // (3 − 10)/10
  });

  it("figures of several KPIs in one call stay independent", async () => {
    const a = await setUp("cache-many-a", "cache.many");
    const b = await setUp("cache-many-b", "cache.many");
    const engine = new KpiEngine(ds);
    await engine.figures([a.kpiId, b.kpiId]);
    await recordObservations(ds, [a.obs("2025-04-01T00:00:00Z", 6)]);
    const both = await engine.figures([a.kpiId, b.kpiId]);
    expect(both.get(a.kpiId)!.figures.current.value).toBe(16 / 5);
    expect(both.get(b.kpiId)!.figures.current.value).toBe(2.5);
  });
});

describe("two replicas on one database", () => {
  let ds2: DataSource;
  beforeAll(async () => {
    ds2 = createDataSource({ url: dbUrl, poolSize: 2 });
    await ds2.initialize();
  });
  afterAll(async () => ds2?.destroy());

  it("each engine sees what the other replica wrote", async () => {
    const { kpiId } = await setUp("replicas", "replicas.time");
    const a = new KpiEngine(ds);
    const b = new KpiEngine(ds2);
    expect((await figuresOf(a, kpiId)).current.value).toBe(2.5);
    expect((await figuresOf(b, kpiId)).current.value).toBe(2.5);

    // Written through replica A: B's cache must not keep the old figures.
    await recordObservations(ds, [
      {
        projectSlug: "replicas",
        metricKey: "replicas.time",
        observedAt: d("2025-04-01T00:00:00Z"),
        value: 6,
      },
    ]);
    expect((await figuresOf(b, kpiId)).current.value).toBe(16 / 5);
    expect((await figuresOf(a, kpiId)).current.value).toBe(16 / 5);

    // Written through replica B: settings, go-live and metric.
    await trackKpi(ds2, { projectSlug: "replicas", metricKey: "replicas.time", baselineValue: 32 });
    expect((await figuresOf(a, kpiId)).improvementPct).toBeCloseTo(90, 9); // (32 − 3.2)/32
    await updateProject(ds2, "replicas", { goLiveAt: d("2025-03-25T00:00:00Z") });
    expect((await figuresOf(a, kpiId)).current).toMatchObject({ value: 6, count: 1 });
    await defineMetric(ds2, {
      key: "replicas.time",
      name: "m",
      unit: "minutes",
      direction: "LOWER_IS_BETTER",
      aggregation: "COUNT",
    });
    expect((await figuresOf(a, kpiId)).current.value).toBe(1);
    expect((await figuresOf(b, kpiId)).current.value).toBe(1);
  });

  it("a write within the same millisecond as the previous one is not missed", async () => {
    // The cache stamp must have the database's full timestamp precision (microseconds). Two writes that
    // land in one millisecond happen with fast collectors or several writers; we make that timing
    // deterministic by placing the second write's activity time 0.3 ms after the first one's, then check
    // that an engine which cached figures in between sees the second write.
    const { kpiId, obs } = await setUp("same-ms", "same.ms");
    const b = new KpiEngine(ds2);
    const where = `WHERE project_id = (SELECT id FROM project WHERE slug = 'same-ms')`;
    // First write's activity time: on a whole millisecond.
    await ds.query(
      `UPDATE observation_activity SET updated_at = date_trunc('milliseconds', updated_at) ${where}`,
    );
    const [{ first }] = await ds.query(`SELECT updated_at AS first FROM observation_activity ${where}`);
    expect((await figuresOf(b, kpiId)).current.value).toBe(2.5);
    await recordObservations(ds, [obs("2025-04-01T00:00:00Z", 6)]);
    // Second write's activity time: 0.3 ms after the first.
    await ds.query(
      `UPDATE observation_activity SET updated_at = $1::timestamptz + interval '300 microseconds' ${where}`,
      [first],
    );
    // A fresh engine has nothing cached: this is what the figures are.
    expect((await figuresOf(new KpiEngine(ds), kpiId)).current.value).toBe(16 / 5);
    expect((await figuresOf(b, kpiId)).current.value).toBe(16 / 5);
  });
});
