import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { subscribe } from "../helpers/subscriber.js";
import { startOn } from "./helpers.js";

// Two app instances on one database: each kind of rule fires exactly once per change of state,
// however many replicas evaluate the change. The clock of both is injected, so STALE can be made
// true by moving time alone.

const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / DAY) * DAY; // today, 00:00 UTC
let clock = new Date(T0);
const now = () => clock;
const iso = (daysFromT0: number) => new Date(T0 + daysFromT0 * DAY).toISOString();
const GO_LIVE = iso(-100);

const CONFIG = `
metrics:
  - { key: t.time, name: Time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - slug: tgt
    name: Target
    goLiveAt: "${GO_LIVE}"
    kpis: [{ metric: t.time, target: 5 }]
  - slug: reg
    name: Regression
    goLiveAt: "${GO_LIVE}"
    kpis: [{ metric: t.time }]
  - slug: old
    name: Stale
    goLiveAt: "${GO_LIVE}"
    kpis: [{ metric: t.time }]
alerts:
  - { name: tgt-met, kind: TARGET_MET, projectSlug: tgt, metricKey: t.time }
  - { name: reg-worse, kind: REGRESSION, projectSlug: reg, windowDays: 28 }
  - { name: old-stale, kind: STALE, projectSlug: old, days: 7 }
  - { name: flaky-failing, kind: COLLECTOR_FAILING, collector: flaky, failures: 3 }
`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;
const obs = (slug: string, values: [number, number][]) => ({
  in: values.map(([day, value]) => ({ projectSlug: slug, metricKey: "t.time", observedAt: iso(day), value })),
});

let db: TestDatabase;
let a: Awaited<ReturnType<typeof startOn>>;
let b: Awaited<ReturnType<typeof startOn>>;
beforeAll(async () => {
  db = await createTestDatabase();
  a = await startOn(db.url, CONFIG, { timers: false, now });
  b = await startOn(db.url, CONFIG, { timers: false, now });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await db?.drop();
});

async function events(rule: string): Promise<{ id: string; message: string; delivery: string }[]> {
  return a.db.ds.query(
    `SELECT id::text, message, delivery FROM alert_event WHERE rule_name = $1 ORDER BY seq`,
    [rule],
  );
}
/** Both replicas evaluate at the same moment, racing for the state row. */
async function bothEvaluate() {
  await Promise.all([a.alerts.evaluateAll(), b.alerts.evaluateAll()]);
}
async function record(app: typeof a, slug: string, values: [number, number][]) {
  const r = await app.gql(RECORD, obs(slug, values));
  expect(r.errors).toBeUndefined();
}

describe("alerts across two replicas", () => {
  it("rules from the configuration file are listed with the defaults of their kind", async () => {
    const r = await a.gql(
      `{ alerts { name kind projectSlug metricKey collector windowDays pValue days failures webhookUrl enabled } }`,
    );
    expect(r.data.alerts).toEqual([
      {
        name: "flaky-failing",
        kind: "COLLECTOR_FAILING",
        projectSlug: null,
        metricKey: null,
        collector: "flaky",
        windowDays: null,
        pValue: null,
        days: null,
        failures: 3,
        webhookUrl: null,
        enabled: true,
      },
      {
        name: "old-stale",
        kind: "STALE",
        projectSlug: "old",
        metricKey: null,
        collector: null,
        windowDays: null,
        pValue: null,
        days: 7,
        failures: null,
        webhookUrl: null,
        enabled: true,
      },
      {
        name: "reg-worse",
        kind: "REGRESSION",
        projectSlug: "reg",
        metricKey: null,
        collector: null,
        windowDays: 28,
        pValue: 0.05,
        days: null,
        failures: null,
        webhookUrl: null,
        enabled: true,
      },
      {
        name: "tgt-met",
        kind: "TARGET_MET",
        projectSlug: "tgt",
        metricKey: "t.time",
        collector: null,
        windowDays: null,
        pValue: null,
        days: null,
        failures: null,
        webhookUrl: null,
        enabled: true,
      },
    ]);
  });

  it("TARGET_MET: fires once when the target becomes met (event-driven, seen on the other replica), not again while met", async () => {
    await record(a, "tgt", [
      [-150, 10],
      [-140, 10],
      [-50, 8],
      [-40, 8],
    ]); // after mean 8 > 5: not met
    await bothEvaluate();
    expect(await events("tgt-met")).toHaveLength(0);

    const sub = await subscribe(
      b.url,
      `subscription { alertFired(rule: "tgt-met") { id rule kind projectSlug metricKey message delivery attempts } }`,
    );
    await record(a, "tgt", [
      [-30, 1],
      [-20, 1],
      [-10, 1],
      [-5, 1],
    ]); // after mean (8+8+1·4)/6 = 3.33 ≤ 5
    const [ev] = await sub.waitFor(1, 10_000);
    await sub.stop();
    expect(ev.data.alertFired).toMatchObject({
      rule: "tgt-met",
      kind: "TARGET_MET",
      projectSlug: "tgt",
      metricKey: "t.time",
      delivery: "NO_WEBHOOK",
      attempts: 0,
    });
    expect(ev.data.alertFired.message).toContain("meeting its target of 5");
    await bothEvaluate();
    await record(b, "tgt", [[-4, 1]]); // still met
    await bothEvaluate();
    const list = await events("tgt-met");
    expect(list).toHaveLength(1);
    expect(list[0].id).toBe(ev.data.alertFired.id);

    // Falls back (no event), then meets it again: a second change of state, a second event.
    await record(a, "tgt", [[-3, 100]]);
    await bothEvaluate();
    expect(await events("tgt-met")).toHaveLength(1);
    await a.db.ds.query(`DELETE FROM observation WHERE value = 100`);
    await a.db.ds.query(`UPDATE observation_activity SET updated_at = clock_timestamp()`);
    await bothEvaluate();
    expect(await events("tgt-met")).toHaveLength(2);
  });

  it("REGRESSION: the last 28 days worse than the AFTER phase before them (Welch p < 0.05) fires once", async () => {
    const prior: [number, number][] = [4, 5, 6, 5, 4, 6, 5, 5].map((v, i) => [-60 + i, v]);
    await record(a, "reg", prior);
    await record(a, "reg", [
      [-20, 5],
      [-15, 6],
    ]); // in the window, not worse in any significant way
    await bothEvaluate();
    expect(await events("reg-worse")).toHaveLength(0);
    await record(
      b,
      "reg",
      [9, 10, 8, 9, 10, 9].map((v, i): [number, number] => [-10 + i, v]),
    );
    await bothEvaluate();
    await bothEvaluate();
    const list = await events("reg-worse");
    expect(list).toHaveLength(1);
    // Window mean (5+6+9+10+8+9+10+9)/8 = 8.25 against 5 before it.
    expect(list[0].message).toMatch(
      /averaged 8\.25 minutes over the last 28 days \(8 observations\) against 5 before \(8\)/,
    );
  });

  it("STALE: fires once when the clock passes `days` after the newest observation, with no write", async () => {
    await record(a, "old", [
      [-2, 3],
      [-1, 3],
    ]);
    await bothEvaluate();
    expect(await events("old-stale")).toHaveLength(0);
    clock = new Date(T0 + 6.5 * DAY); // 7.5 days after the newest
    await bothEvaluate();
    await bothEvaluate();
    const list = await events("old-stale");
    expect(list).toHaveLength(1);
    expect(list[0].message).toContain("7.5 days ago (more than 7)");
    clock = new Date(T0 + 30 * DAY);
    await bothEvaluate();
    expect(await events("old-stale")).toHaveLength(1);
  });

  it("COLLECTOR_FAILING: three consecutive FAILED runs fire once, on the run-finished notification", async () => {
    const run = async (status: string) => {
      await a.db.ds.query(
        `INSERT INTO collector_run (instance, status, finished_at, started_at) VALUES ('flaky', $1, clock_timestamp(), clock_timestamp())`,
        [status],
      );
      a.events.runFinished({ collector: "flaky", status } as never);
    };
    await run("FAILED");
    await run("FAILED");
    await bothEvaluate();
    expect(await events("flaky-failing")).toHaveLength(0);
    const sub = await subscribe(a.url, `subscription { alertFired { rule kind collector message } }`);
    await run("FAILED");
    const [ev] = await sub.waitFor(1, 10_000);
    await sub.stop();
    expect(ev.data.alertFired).toMatchObject({
      rule: "flaky-failing",
      kind: "COLLECTOR_FAILING",
      collector: "flaky",
    });
    expect(ev.data.alertFired.message).toContain("failed its last 3 runs");
    await bothEvaluate();
    await run("FAILED");
    await bothEvaluate();
    expect(await events("flaky-failing")).toHaveLength(1);
    await run("SUCCEEDED");
    await bothEvaluate();
    for (let i = 0; i < 3; i++) await run("FAILED");
    await bothEvaluate();
    expect(await events("flaky-failing")).toHaveLength(2);
  });

  it("alertEvents lists the events newest first with their delivery state", async () => {
    const r = await b.gql(`{ alertEvents(first: 3) { rule kind firedAt delivery attempts } }`);
    const list = r.data.alertEvents;
    expect(list).toHaveLength(3);
    expect(list[0].rule).toBe("flaky-failing");
    const times = list.map((e: any) => Date.parse(e.firedAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(list.every((e: any) => e.delivery === "NO_WEBHOOK" && e.attempts === 0)).toBe(true);
  });

  it("defineAlert refuses bad rules with the field named, and stores nothing", async () => {
    const bad = async (input: Record<string, unknown>, field: string) => {
      const r = await a.gql(`mutation($i: DefineAlertInput!) { defineAlert(input: $i) { name } }`, {
        i: input,
      });
      expect(r.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
      expect(r.errors?.[0].extensions.problems.map((p: any) => p.field)).toContain(field);
    };
    await bad(
      {
        name: "x",
        kind: "STALE",
        projectSlug: "tgt",
        webhookUrl: "ftp://example.com/x",
        webhookSecret: "0123456789abcdef",
      },
      "input.webhookUrl",
    );
    await bad(
      {
        name: "x",
        kind: "STALE",
        projectSlug: "tgt",
        webhookUrl: "https://u:p@example.com/x",
        webhookSecret: "0123456789abcdef",
      },
      "input.webhookUrl",
    );
    await bad(
      { name: "x", kind: "STALE", projectSlug: "tgt", webhookUrl: "https://example.com/x" },
      "input.webhookSecret",
    );
    await bad({ name: "x", kind: "STALE", projectSlug: "nope" }, "input.projectSlug");
    await bad({ name: "x", kind: "STALE", projectSlug: "tgt", windowDays: 3 }, "input.windowDays");
    await bad({ name: "x", kind: "REGRESSION", projectSlug: "tgt", pValue: 1.5 }, "input.pValue");
    await bad({ name: "x", kind: "COLLECTOR_FAILING" }, "input.collector");
    const r = await a.gql(`{ alerts { name } }`);
    expect(r.data.alerts.map((x: any) => x.name)).not.toContain("x");
  });
});
