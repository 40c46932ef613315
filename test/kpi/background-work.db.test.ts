import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inBackground, isBackground } from "../../src/kpi/background.js";
import { KpiEngine } from "../../src/kpi/engine.js";
import type { Queryable } from "../../src/kpi/phase-aggregates.js";
import { type LoadedSubject, loadSubjects } from "../../src/kpi/subjects.js";
import { trackKpi } from "../../src/store/kpis.js";
import { defineMetric } from "../../src/store/metrics.js";
import { recordObservations } from "../../src/store/observations.js";
import { createProject } from "../../src/store/projects.js";
import { openTestDataSource } from "../helpers/db.js";

// Background work (the reporting refresher) and requests share one engine. A request never waits for a
// computation that background work started and has not finished, and background series queries run one
// at a time. The database below holds every background statement at a gate the test opens.

let ds: DataSource;
let close: () => Promise<void>;
beforeAll(async () => {
  const opened = await openTestDataSource();
  ds = opened.ds;
  close = opened.close;
});
afterAll(async () => close?.());

const GO_LIVE = new Date("2025-03-01T00:00:00Z");

async function setUp(slug: string, aggregation: "MEAN" | "MEDIAN"): Promise<LoadedSubject> {
  await createProject(ds, { slug, name: slug, stage: "PRODUCTION", stageSince: GO_LIVE, goLiveAt: GO_LIVE });
  const key = `${slug}.m`;
  await defineMetric(ds, { key, name: key, unit: "minutes", direction: "LOWER_IS_BETTER", aggregation });
  const kpi = await trackKpi(ds, { projectSlug: slug, metricKey: key });
  // Before: 10, 11, …, 29 (one a day in February); after: 2, 3, …, 21 (one a day from 1 March).
  await recordObservations(ds, [
    ...Array.from({ length: 20 }, (_, i) => ({
      projectSlug: slug,
      metricKey: key,
      observedAt: new Date(Date.UTC(2025, 1, 1 + i, 12)),
      value: 10 + i,
    })),
    ...Array.from({ length: 20 }, (_, i) => ({
      projectSlug: slug,
      metricKey: key,
      observedAt: new Date(Date.UTC(2025, 2, 1 + i, 12)),
      value: 2 + i,
    })),
  ]);
  return (await loadSubjects(ds, [String(kpi.id)])).get(String(kpi.id))!;
}

/** The data source; background statements wait until `open()`. Counts statements in flight per kind. */
function gated() {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const db = {
    inFlight: { background: 0, request: 0 },
    most: { background: 0, request: 0 },
    started: { background: 0, request: 0 },
    open: () => release(),
    query: async (sql: string, params?: unknown[]) => {
      const kind = isBackground() ? "background" : "request";
      db.started[kind]++;
      if (kind === "background") await gate;
      db.inFlight[kind]++;
      db.most[kind] = Math.max(db.most[kind], db.inFlight[kind]);
      try {
        return await ds.query(sql, params);
      } finally {
        db.inFlight[kind]--;
      }
    },
  };
  return db satisfies Queryable;
}

describe("background work and requests on one engine", () => {
  it("a request computes figures itself instead of waiting for the refresher's computation", async () => {
    const subject = await setUp("bg-figures", "MEAN");
    const db = gated();
    const engine = new KpiEngine(db);
    const refresher = inBackground(() => engine.figuresOf([subject]));
    await new Promise((r) => setImmediate(r));
    expect(db.started.background).toBeGreaterThan(0); // the refresher's statement is waiting at the gate
    const got = (await engine.figuresOf([subject])).get(subject.kpi.id)!;
    // Mean before (10…29) = 19.5, after (2…21) = 11.5: (19.5 − 11.5) / 19.5.
    expect(got.figures.baseline.value).toBe(19.5);
    expect(got.figures.current.value).toBe(11.5);
    expect(got.figures.improvementPct).toBeCloseTo((8 / 19.5) * 100, 10);
    db.open();
    const bg = (await refresher).get(subject.kpi.id)!;
    expect(bg.figures).toEqual(got.figures);
    // Done now: a later request (and the refresher) use the cached figures, no statement.
    const before = db.started.request;
    await engine.figuresOf([subject]);
    expect(db.started.request).toBe(before);
  });

  it("a request does not wait for the refresher's series or bootstrap either", async () => {
    const subject = await setUp("bg-series", "MEDIAN");
    const db = gated();
    const engine = new KpiEngine(db);
    const all = { bucket: "MONTH" as const, from: null, to: null };
    const r = (await engine.figuresOf([subject])).get(subject.kpi.id)!;
    // Medians (⌈n/2⌉-th smallest of 20): before 19, after 11.
    expect([r.figures.baseline.value, r.figures.current.value]).toEqual([19, 11]);
    const refresher = inBackground(() => Promise.all([engine.series(subject, all), engine.confidence(r)]));
    while (db.started.background < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    // Both the refresher's series and its bootstrap sample wait at the gate; the request does not.
    const [months, interval] = await Promise.all([engine.series(subject, all), engine.confidence(r)]);
    expect(months.map((p) => [p.start.toISOString().slice(0, 7), p.phase, p.value])).toEqual([
      ["2025-02", "BEFORE", 19],
      ["2025-03", "AFTER", 11],
    ]);
    expect(interval).not.toBeNull();
    db.open();
    const [bgMonths, bgInterval] = await refresher;
    expect(bgMonths).toEqual(months);
    expect(bgInterval).toEqual(interval); // seeded: the same interval from the same sample
  });

  it("background series of a large KPI run one at a time; a request's run together", async () => {
    const subject = await setUp("bg-lane", "MEDIAN");
    const db = gated();
    db.open();
    // A lane from 1 observation on: this KPI's 40 count as large.
    const engine = new KpiEngine(db, 5000, true, 1);
    await engine.figuresOf([subject]);
    const buckets = ["DAY", "WEEK", "MONTH"] as const;
    const bg = await inBackground(() =>
      Promise.all(buckets.map((bucket) => engine.series(subject, { bucket, from: null, to: null }))),
    );
    expect(db.started.background).toBe(3);
    expect(db.most.background).toBe(1);
    const fresh = new KpiEngine(db, 5000, true, 1);
    await fresh.figuresOf([subject]);
    const req = await Promise.all(
      buckets.map((bucket) => fresh.series(subject, { bucket, from: null, to: null })),
    );
    expect(db.most.request).toBe(3);
    expect(req).toEqual(bg);
    expect(bg[0]).toHaveLength(40); // one point a day
  });

  it("a small KPI's background series, or those of a KPI not computed yet, run together", async () => {
    const small = await setUp("bg-small", "MEDIAN");
    const db = gated();
    db.open();
    const engine = new KpiEngine(db);
    await engine.figuresOf([small]); // 40 observations, under the lane's threshold
    const buckets = ["DAY", "WEEK", "MONTH"] as const;
    const all = (e: KpiEngine, s: LoadedSubject) =>
      inBackground(() => Promise.all(buckets.map((bucket) => e.series(s, { bucket, from: null, to: null }))));
    await all(engine, small);
    expect(db.started.background).toBe(3);
    expect(db.most.background).toBe(3);
    db.most.background = 0;
    await all(new KpiEngine(db, 5000, true, 1), small); // size unknown: start-up, nothing served yet
    expect(db.most.background).toBe(3);
  });
});
