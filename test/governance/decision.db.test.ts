import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Pilot decisions and pre-registration on constructed data, through the API.

const DAY = 86_400_000;
const T0 = Date.now();
const iso = (days: number) => new Date(T0 + days * DAY).toISOString();

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    config: `metrics:\n  - { key: d.time, name: Time, unit: minutes, direction: LOWER_IS_BETTER }\n`,
  });
});
afterAll(async () => {
  await t?.stop();
});

async function ok(query: string, variables?: Record<string, unknown>) {
  const r = await t.gql(query, variables);
  expect(r.body.errors).toBeUndefined();
  return r.body.data;
}

async function pilot(slug: string, opts: { since: number; goLive: number; stage?: string }) {
  await ok(`mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`, {
    i: {
      slug,
      name: slug,
      stage: opts.stage ?? "PILOT",
      stageSince: iso(opts.since),
      goLiveAt: iso(opts.goLive),
    },
  });
}
async function kpi(slug: string, input: Record<string, unknown> = {}) {
  return ok(`mutation($i: TrackKpiInput!) { trackKpi(input: $i) { target } }`, {
    i: { projectSlug: slug, metricKey: "d.time", ...input },
  });
}
async function values(slug: string, startDay: number, vs: number[]) {
  await ok(`mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`, {
    in: vs.map((value, i) => ({
      projectSlug: slug,
      metricKey: "d.time",
      observedAt: iso(startDay + i),
      value,
    })),
  });
}
async function cost(slug: string, amount: number) {
  await ok(`mutation($i: AddCostInput!) { addCost(input: $i) { id } }`, {
    i: { projectSlug: slug, label: "build", kind: "ONE_TIME", amount, startsAt: iso(-200) },
  });
}
async function recommendation(slug: string) {
  return (
    await ok(
      `query($s: String!) { project(slug: $s) { recommendation { decision reason observationsNeeded } } }`,
      { s: slug },
    )
  ).project.recommendation;
}

const BASELINE = [9, 10, 11, 10, 9, 11, 10, 10]; // mean 10, s² = 4/7

describe("Project.recommendation", () => {
  it("PROMOTE: the target is met, the improvement significant and 12-month ROI positive", async () => {
    await pilot("win", { since: -200, goLive: -100 });
    await kpi("win", { target: 5, valuePerUnit: 1, annualVolume: 100_000 });
    await values("win", -150, BASELINE);
    await values("win", -50, [3, 4, 3, 4, 3, 4]);
    await cost("win", 1000);
    const r = await recommendation("win");
    expect(r.decision).toBe("PROMOTE");
    expect(r.observationsNeeded).toBeNull();
    // Benefit (10 − 3.5) × 100,000 = 650,000 a year against 1,000: ROI 64,900 %.
    expect(r.reason).toContain("d.time (current 3.5 vs target 5, improvement 65.0 %, p < 0.0001)");
    expect(r.reason).toContain("12-month ROI 64900.0 % (net 649,000 USD) is positive");
  });

  it("STOP: after 90 days in pilot no KPI improves significantly", async () => {
    await pilot("lose", { since: -200, goLive: -100 });
    await kpi("lose", { target: 5 });
    await values("lose", -150, BASELINE);
    await values("lose", -50, BASELINE);
    const r = await recommendation("lose");
    expect(r.decision).toBe("STOP");
    expect(r.reason).toMatch(
      /^After 200 days in pilot, no KPI improves significantly \(d\.time \(current 10 vs target 5, improvement 0\.0 %, p = 1\.0000\)\)\.$/,
    );
  });

  it("STOP: a significant improvement but negative ROI", async () => {
    await pilot("costly", { since: -120, goLive: -100 });
    await kpi("costly", { valuePerUnit: 1, annualVolume: 10 });
    await values("costly", -150, BASELINE);
    await values("costly", -50, [3, 4, 3, 4, 3, 4]);
    await cost("costly", 1_000_000);
    const r = await recommendation("costly");
    expect(r.decision).toBe("STOP");
    expect(r.reason).toContain("12-month ROI");
    expect(r.reason).toContain("is negative");
  });

  it("EXTEND: young and not yet significant, with the observations needed from the power calculation", async () => {
    await pilot("young", { since: -30, goLive: -20 });
    await kpi("young", { target: 5 });
    await values("young", -29, BASELINE);
    await values("young", -10, [9, 8, 10, 9]); // mean 9, s² = 2/3
    const r = await recommendation("young");
    expect(r.decision).toBe("EXTEND");
    // By hand: z = 1.95996 + 0.84162; room = 1²/z² − (4/7)/8 = 0.0559786; n = (2/3)/room = 11.91 → 12; 12 − 4 = 8.
    expect(r.observationsNeeded).toBe(8);
    expect(r.reason).toContain("target not met by d.time (current 9 vs target 5");
    expect(r.reason).toContain("about 8 more AFTER observations for 80 % power");
  });

  it("null for a project that is not in PILOT", async () => {
    await pilot("live", { since: -200, goLive: -100, stage: "PRODUCTION" });
    expect(await recommendation("live")).toBeNull();
  });
});

describe("pre-registration", () => {
  const Q = `query($s: String!) { project(slug: $s) { kpis { targetSetAt preRegistered } } }`;
  const state = async (slug: string) => (await ok(Q, { s: slug })).project.kpis[0];

  it("true when KPI, target and windows precede go-live; re-applying the same settings keeps it", async () => {
    await pilot("pre", { since: -10, goLive: 10 });
    await kpi("pre", { target: 5 });
    const first = await state("pre");
    expect(first.preRegistered).toBe(true);
    expect(Math.abs(Date.parse(first.targetSetAt) - Date.now())).toBeLessThan(60_000);
    await kpi("pre", { target: 5 });
    expect(await state("pre")).toEqual(first);
  });

  it("false when the target is set after go-live, and false without a target", async () => {
    await pilot("post", { since: -10, goLive: -5 });
    await kpi("post", { target: 5 });
    expect((await state("post")).preRegistered).toBe(false);
    await pilot("none", { since: -10, goLive: 10 });
    await kpi("none");
    expect(await state("none")).toEqual({ targetSetAt: null, preRegistered: false });
  });

  it("turns false once the target or the windows move after the AFTER phase began", async () => {
    await pilot("moved", { since: -200, goLive: -100 });
    await pilot("windows", { since: -200, goLive: -100 });
    await kpi("moved", { target: 5 });
    await kpi("windows", { target: 5 });
    // As if both had been defined well before go-live.
    await t.app.db.ds.query(
      `UPDATE kpi SET created_at = $1, target_set_at = $1, windows_set_at = $1, updated_at = clock_timestamp()
       WHERE project_id IN (SELECT id FROM project WHERE slug IN ('moved', 'windows'))`,
      [iso(-150)],
    );
    expect((await state("moved")).preRegistered).toBe(true);
    expect((await state("windows")).preRegistered).toBe(true);
    await kpi("moved", { target: 4 });
    const moved = await state("moved");
    expect(moved.preRegistered).toBe(false);
    expect(Date.parse(moved.targetSetAt)).toBeGreaterThan(T0 - 60_000);
    await kpi("windows", { target: 5, afterFrom: iso(-90) });
    expect(await state("windows")).toEqual({
      targetSetAt: iso(-150).replace(/\.\d{3}Z$/, (m) => m),
      preRegistered: false,
    });
  });

  it("moving go-live before the KPI was set makes it false; the portfolio counts the KPIs that are not", async () => {
    await pilot("golive", { since: -10, goLive: 10 });
    await kpi("golive", { target: 5 });
    expect((await state("golive")).preRegistered).toBe(true);
    await ok(`mutation($g: DateTime) { updateProject(slug: "golive", input: { goLiveAt: $g }) { slug } }`, {
      g: iso(-1),
    });
    expect((await state("golive")).preRegistered).toBe(false);
    const all = (await ok(`{ projects { kpis { preRegistered } } portfolio { kpisNotPreRegistered } }`))
      .projects;
    const falseCount = all.flatMap((p: any) => p.kpis).filter((k: any) => !k.preRegistered).length;
    const { portfolio } = await ok(`{ portfolio { kpisNotPreRegistered } }`);
    expect(portfolio.kpisNotPreRegistered).toBe(falseCount);
    // By name: pre is the only pre-registered one.
    expect(falseCount).toBe(all.flatMap((p: any) => p.kpis).length - 1);
  });
});
