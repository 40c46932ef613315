import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LiveHub } from "../../src/live/hub.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { subscribe } from "../helpers/subscriber.js";

// kpiUpdated and collectorRunFinished over graphql-ws, pushed on commit through LISTEN/NOTIFY.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution, unit: minutes, direction: LOWER_IS_BETTER }
  - { key: cs.call_duration, name: Calls, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - slug: helpdesk
    name: Help desk
    goLiveAt: "2025-03-01T00:00:00Z"
    kpis: [{ metric: it.resolution_time, target: 2 }]
  - slug: calls
    name: Calls
    goLiveAt: "2025-03-01T00:00:00Z"
    kpis: [{ metric: cs.call_duration }]
`;

const KPI_SUB = `subscription($p: String, $m: String) {
  kpiUpdated(projectSlug: $p, metricKey: $m) {
    projectSlug metric { key } baseline { value count } current { value count } improvementPct targetMet
    series(bucket: MONTH) { start phase value count }
  }
}`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`;

function obs(project: string, metric: string, at: string, value: number, externalId?: string) {
  return { projectSlug: project, metricKey: metric, observedAt: at, value, externalId };
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: CONFIG });
});
afterAll(async () => t?.stop());
beforeEach(async () => {
  await t.app.db.ds.query("TRUNCATE observation, observation_activity");
});

const hub = (): LiveHub => t.app.events;

describe("kpiUpdated", () => {
  it("pushes the recomputed KPI after recordObservations commits, all fields resolvable", async () => {
    const sub = await subscribe(t.url, KPI_SUB, undefined, hub());
    await t.gql(RECORD, {
      in: [
        obs("helpdesk", "it.resolution_time", "2025-01-10T10:00:00Z", 10),
        obs("helpdesk", "it.resolution_time", "2025-02-10T10:00:00Z", 12),
        obs("helpdesk", "it.resolution_time", "2025-03-10T10:00:00Z", 1),
      ],
    });
    const [event] = await sub.waitFor(1);
    expect(event.data.kpiUpdated).toEqual({
      projectSlug: "helpdesk",
      metric: { key: "it.resolution_time" },
      baseline: { value: 11, count: 2 },
      current: { value: 1, count: 1 },
      improvementPct: (10 / 11) * 100,
      targetMet: true,
      series: [
        { start: "2025-01-01T00:00:00.000Z", phase: "BEFORE", value: 10, count: 1 },
        { start: "2025-02-01T00:00:00.000Z", phase: "BEFORE", value: 12, count: 1 },
        { start: "2025-03-01T00:00:00.000Z", phase: "AFTER", value: 1, count: 1 },
      ],
    });
    await sub.stop();
  });

  it("filters by project and by metric", async () => {
    const onlyCalls = await subscribe(t.url, KPI_SUB, { p: "calls" }, hub());
    const onlyResolution = await subscribe(t.url, KPI_SUB, { m: "it.resolution_time" }, hub());
    await t.gql(RECORD, { in: [obs("helpdesk", "it.resolution_time", "2025-04-01T00:00:00Z", 3)] });
    await onlyResolution.waitFor(1);
    await t.gql(RECORD, { in: [obs("calls", "cs.call_duration", "2025-04-01T00:00:00Z", 4)] });
    await onlyCalls.waitFor(1);
    // No fixed wait for "nothing else arrives": a last change of each KPI is a fence. Changes are pushed
    // in commit order and each subscriber's updates in order, so a wrong event would come before it.
    await t.gql(RECORD, { in: [obs("helpdesk", "it.resolution_time", "2025-04-02T00:00:00Z", 5)] });
    await t.gql(RECORD, { in: [obs("calls", "cs.call_duration", "2025-04-02T00:00:00Z", 6)] });
    await onlyResolution.waitFor(2);
    await onlyCalls.waitFor(2);
    expect(onlyCalls.events.map((e) => e.data.kpiUpdated.projectSlug)).toEqual(["calls", "calls"]);
    expect(onlyCalls.events.map((e) => e.data.kpiUpdated.current.count)).toEqual([1, 2]);
    expect(onlyResolution.events.map((e) => e.data.kpiUpdated.metric.key)).toEqual([
      "it.resolution_time",
      "it.resolution_time",
    ]);
    expect(onlyResolution.events.map((e) => e.data.kpiUpdated.current.count)).toEqual([1, 2]);
    await onlyCalls.stop();
    await onlyResolution.stop();
  });

  it("coalesces: 1,000 observations of one KPI in one batch give one event, computed once for all subscribers", async () => {
    const subs = await Promise.all([1, 2, 3].map(() => subscribe(t.url, KPI_SUB, { p: "helpdesk" }, hub())));
    const before = hub().stats.recomputations;
    const batch = Array.from({ length: 1000 }, (_, i) =>
      obs("helpdesk", "it.resolution_time", new Date(Date.UTC(2025, 3, 1) + i * 60_000).toISOString(), i % 7),
    );
    await t.gql(RECORD, { in: batch });
    for (const s of subs) await s.waitFor(1);
    // The fence: one more observation, recorded after the batch's event arrived, gives the next event;
    // a second event of the batch would have come before it.
    await t.gql(RECORD, { in: [obs("helpdesk", "it.resolution_time", "2025-06-01T00:00:00Z", 3)] });
    for (const s of subs) await s.waitFor(2);
    for (const s of subs) {
      expect(s.events.map((e) => e.data.kpiUpdated.current.count)).toEqual([1000, 1001]);
    }
    expect(hub().stats.recomputations - before).toBe(2); // one for the batch, one for the fence
    for (const s of subs) await s.stop();
  });

  it("pushes after trackKpi changes a KPI's settings", async () => {
    const sub = await subscribe(t.url, KPI_SUB, { p: "calls" }, hub());
    await t.gql(
      `mutation { trackKpi(input: { projectSlug: "calls", metricKey: "cs.call_duration", target: 3 }) { target } }`,
    );
    const [e] = await sub.waitFor(1);
    expect(e.data.kpiUpdated.projectSlug).toBe("calls");
    await sub.stop();
  });

  it("refuses more subscriptions per connection than allowed", async () => {
    const limited = await startTestApp({ config: CONFIG, env: { UPLIFT_WS_MAX_SUBSCRIPTIONS: "1" } });
    try {
      const a = await subscribe(limited.url, KPI_SUB, undefined, limited.app.events);
      const errors: unknown[] = [];
      await new Promise<void>((resolve) => {
        a.client.subscribe(
          { query: KPI_SUB },
          {
            next: () => undefined,
            error: (e) => {
              errors.push(e);
              resolve();
            },
            complete: resolve,
          },
        );
      });
      expect(JSON.stringify(errors)).toContain("at most 1 subscriptions per connection");
      await a.stop();
    } finally {
      await limited.stop();
    }
  });

  it("refuses connections over the cap with HTTP 503", async () => {
    const limited = await startTestApp({ config: CONFIG, env: { UPLIFT_WS_MAX_CONNECTIONS: "1" } });
    try {
      const a = await subscribe(limited.url, KPI_SUB, undefined, limited.app.events);
      await expect(subscribe(limited.url, KPI_SUB, undefined, limited.app.events)).rejects.toBeTruthy();
      await a.stop();
    } finally {
      await limited.stop();
    }
  });
});

describe("collectorRunFinished", () => {
  it("is filtered by collector name: a run of another collector does not arrive", async () => {
    const sub = await subscribe(
      t.url,
      `subscription { collectorRunFinished(collector: "x") { id collector status } }`,
      undefined,
      hub(),
    );
    // Runs announced as the runner does: one of another collector, then one of "x" as a fence (the
    // announcements are delivered in order, so the first would arrive before the second).
    const run = (id: string, collector: string) =>
      ({
        id,
        collector,
        status: "SUCCEEDED",
        scheduledFor: null,
        startedAt: new Date(),
        finishedAt: new Date(),
        observations: 0,
        rejected: 0,
        error: null,
      }) as unknown as Parameters<LiveHub["runFinished"]>[0];
    hub().runFinished(run("1", "y"));
    hub().runFinished(run("2", "x"));
    await sub.waitFor(1);
    expect(sub.events.map((e) => e.data.collectorRunFinished)).toEqual([
      { id: "2", collector: "x", status: "SUCCEEDED" },
    ]);
    await sub.stop();
  });
});
