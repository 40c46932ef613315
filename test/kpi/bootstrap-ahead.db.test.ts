import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inBackground } from "../../src/kpi/background.js";
import { KpiEngine, specOf } from "../../src/kpi/engine.js";
import {
  loadPhaseAggregates,
  loadPhaseSamples,
  loadPhaseSizes,
  type Queryable,
  SAMPLE_ALL,
} from "../../src/kpi/phase-aggregates.js";
import { loadSubjects } from "../../src/kpi/subjects.js";
import { trackKpi } from "../../src/store/kpis.js";
import { defineMetric } from "../../src/store/metrics.js";
import { recordObservations } from "../../src/store/observations.js";
import { createProject } from "../../src/store/projects.js";
import { openTestDataSource } from "../helpers/db.js";

// The MEDIAN/P90 bootstrap sample drawn ahead of the figures (a cold `confidence`): the phase sizes it is
// drawn by, the values as they travel (float8send bytes), and the interval, which must be the one the
// engine computes without drawing ahead — from one sample statement, not two.

let ds: DataSource;
let close: () => Promise<void>;
beforeAll(async () => {
  const opened = await openTestDataSource();
  ds = opened.ds;
  close = opened.close;
});
afterAll(async () => close?.());

const GO_LIVE = new Date("2025-03-01T00:00:00Z");
// Values that decimal text would not carry exactly round-trip through any careless path: they must arrive
// bit for bit.
const BEFORE = [0.1, 0.2, 0.30000000000000004, -7.25, 1e-300, 123456789.12345679, 11, 12, 13, 11.5];
const AFTER = [2, 1.5, Math.PI, Math.E, 999999999999999.9, 0, 2.25, 1.75];

async function setUp(slug: string, key: string, windows: { baselineFrom?: Date } = {}) {
  await createProject(ds, { slug, name: slug, stage: "PRODUCTION", stageSince: GO_LIVE, goLiveAt: GO_LIVE });
  await defineMetric(ds, {
    key,
    name: key,
    unit: "minutes",
    direction: "LOWER_IS_BETTER",
    aggregation: "MEDIAN",
  });
  const kpi = await trackKpi(ds, { projectSlug: slug, metricKey: key, ...windows });
  const at = (base: number, i: number) => new Date(base + i * 3_600_000);
  await recordObservations(ds, [
    ...BEFORE.map((value, i) => ({
      projectSlug: slug,
      metricKey: key,
      observedAt: at(Date.parse("2025-02-01T00:00:00Z"), i),
      value,
    })),
    ...AFTER.map((value, i) => ({
      projectSlug: slug,
      metricKey: key,
      observedAt: at(Date.parse("2025-04-01T00:00:00Z"), i),
      value,
    })),
  ]);
  const subject = (await loadSubjects(ds, [String(kpi.id)])).get(String(kpi.id))!;
  return { kpiId: String(kpi.id), subject };
}

/** The data source, counting the statements that draw a bootstrap sample. */
function counting(): Queryable & { samples: number } {
  const q = {
    samples: 0,
    query: (sql: string, params?: unknown[]) => {
      if (sql.includes("float8send")) q.samples++;
      return ds.query(sql, params);
    },
  };
  return q;
}

const sorted = (xs: ArrayLike<number>) => Array.from(xs).sort((a, b) => a - b);

describe("bootstrap sample drawn ahead", () => {
  it("counts each phase's observations over each KPI's own windows, many KPIs in one statement", async () => {
    const { kpiId, subject } = await setUp("ahead-sizes", "ahead.sizes");
    // A baseline window starting after the 5th BEFORE observation (hourly from 1 Feb) keeps 5 of them.
    const narrowed = await setUp("ahead-window", "ahead.window", {
      baselineFrom: new Date("2025-02-01T04:30:00Z"),
    });
    const sizes = await loadPhaseSizes(ds, [specOf(subject), specOf(narrowed.subject)]);
    expect(sizes.get(kpiId)).toEqual({ before: BEFORE.length, after: AFTER.length });
    expect(sizes.get(narrowed.kpiId)).toEqual({ before: 5, after: AFTER.length });
  });

  it("carries every value bit for bit", async () => {
    const { kpiId, subject } = await setUp("ahead-values", "ahead.values");
    const found = await loadPhaseSamples(ds, [specOf(subject)], [SAMPLE_ALL], 1);
    const got = found.get(kpiId)!;
    expect(sorted(got.before)).toEqual(sorted(BEFORE));
    expect(sorted(got.after)).toEqual(sorted(AFTER));
  });

  it("gives the interval the engine computes without drawing ahead, from one draw of the sample (a statement per phase)", async () => {
    const { kpiId, subject } = await setUp("ahead-interval", "ahead.interval");
    const plainDb = counting();
    const plain = new KpiEngine(plainDb);
    const want = await plain.confidence((await plain.figures([kpiId])).get(kpiId)!);
    expect(want).not.toBeNull();
    expect(plainDb.samples).toBe(2); // BEFORE and AFTER, side by side

    const aheadDb = counting();
    const ahead = new KpiEngine(aheadDb);
    ahead.prefetchSample(subject); // as the `confidence` resolver does before the figures are known
    const got = await ahead.confidence((await ahead.figures([kpiId])).get(kpiId)!);
    expect(got).toEqual(want);
    expect(aheadDb.samples).toBe(2); // drawn ahead once, not again for the interval
  });

  it("sends a MEAN KPI's two phases as two statements (one in background work); a percentile's as one", async () => {
    const { kpiId, subject } = await setUp("ahead-split", "ahead.split");
    const sent: string[] = [];
    const db: Queryable = {
      query: (sql, params) => {
        sent.push(sql);
        return ds.query(sql, params);
      },
    };
    const mean = { ...specOf(subject), aggregation: "MEAN" as const };
    const apart = await loadPhaseAggregates(db, [mean]);
    expect(sent).toHaveLength(2);
    sent.length = 0;
    const together = await inBackground(() => loadPhaseAggregates(db, [mean]));
    expect(sent).toHaveLength(1);
    // The same figures either way, and the phases' counts are the data's.
    expect(together.get(kpiId)).toEqual(apart.get(kpiId));
    expect(apart.get(kpiId)!.treatment.before.n).toBe(BEFORE.length);
    expect(apart.get(kpiId)!.treatment.after.n).toBe(AFTER.length);
    sent.length = 0;
    await loadPhaseAggregates(db, [specOf(subject)]); // MEDIAN
    expect(sent).toHaveLength(1);
    sent.length = 0;
    await inBackground(() => loadPhaseSamples(db, [specOf(subject)], [SAMPLE_ALL], 1));
    expect(sent).toHaveLength(1);
  });
});
