import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// Projects, stages, metrics, KPIs, costs and the portfolio over HTTP ("Names, order and formats",
// "Portfolio", "Errors"). Expected figures are worked out by hand from the dates each test chooses.

const DAY = 86_400_000;
/** Slack for "now": the server's clock is read a little after the test's. */
const NOW_SLACK_MS = 5_000;

let t: TestApp;
let db: pg.Client;

beforeAll(async () => {
  t = await startTestApp({
    config: `
metrics:
  - { key: base.minutes, name: Minutes, unit: minutes, direction: LOWER_IS_BETTER }
`,
  });
  db = new pg.Client(t.db.url);
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
});

const PROJECT_FIELDS = `slug name description owner stage goLiveAt stageHistory { stage at }`;

async function ok<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const r = await t.gql<T>(query, variables);
  expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
  return r.body.data as T;
}

async function createProject(input: Record<string, unknown>) {
  const d = await ok(`mutation($i: CreateProjectInput!) { createProject(input: $i) { ${PROJECT_FIELDS} } }`, {
    i: input,
  });
  return d.createProject;
}

async function project(slug: string) {
  return (await ok(`query($s: String!) { project(slug: $s) { ${PROJECT_FIELDS} } }`, { s: slug })).project;
}

function setStage(slug: string, stage: string, at?: string) {
  return t.gql(
    `mutation($s: String!, $st: ProjectStage!, $at: DateTime) { setProjectStage(slug: $s, stage: $st, at: $at) { ${PROJECT_FIELDS} } }`,
    { s: slug, st: stage, ...(at === undefined ? {} : { at }) },
  );
}

async function setStageOk(slug: string, stage: string, at?: string) {
  const r = await setStage(slug, stage, at);
  expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
  return r.body.data!.setProjectStage;
}

function defineMetric(input: Record<string, unknown>) {
  return t.gql(
    `mutation($i: DefineMetricInput!) { defineMetric(input: $i) { key name unit direction aggregation description } }`,
    { i: input },
  );
}

function trackKpi(input: Record<string, unknown>) {
  return t.gql(
    `mutation($i: TrackKpiInput!) { trackKpi(input: $i) { projectSlug metric { key } target baseline { value } } }`,
    { i: input },
  );
}

/** One BAD_USER_INPUT error whose problems name exactly `fields`; the message names each. */
function expectBadInput(r: { body: { data?: any; errors?: any[] } }, fields: string[]) {
  expect(r.body.data).toBeNull();
  expect(r.body.errors).toHaveLength(1);
  const [e] = r.body.errors!;
  expect(e.extensions.code).toBe("BAD_USER_INPUT");
  for (const f of fields) expect(e.message).toContain(`${f}:`);
  expect(e.extensions.problems.map((p: { field: string }) => p.field).sort()).toEqual([...fields].sort());
}

/** An ISO time within the window [from - slack, to + slack]. */
function expectAround(iso: string, from: number, to: number) {
  const ms = Date.parse(iso);
  expect(ms).toBeGreaterThanOrEqual(from - NOW_SLACK_MS);
  expect(ms).toBeLessThanOrEqual(to + NOW_SLACK_MS);
}

describe("createProject", () => {
  it("defaults: stage PILOT, no goLiveAt, a history of one entry at creation time", async () => {
    const before = Date.now();
    const p = await createProject({ slug: "defaults", name: "Defaults" });
    const after = Date.now();
    expect(p).toMatchObject({
      slug: "defaults",
      name: "Defaults",
      description: null,
      owner: null,
      stage: "PILOT",
      goLiveAt: null,
    });
    expect(p.stageHistory).toHaveLength(1);
    expect(p.stageHistory[0].stage).toBe("PILOT");
    expectAround(p.stageHistory[0].at, before, after);
    expect(p.stageHistory[0].at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(await project("defaults")).toEqual(p);
  });

  it("the history starts at stageSince, returned in UTC", async () => {
    const p = await createProject({
      slug: "since",
      name: "Since",
      description: "d",
      owner: "o",
      stage: "IDEA",
      stageSince: "2024-05-01T10:00:00+02:00",
    });
    expect(p).toMatchObject({ stage: "IDEA", description: "d", owner: "o", goLiveAt: null });
    expect(p.stageHistory).toEqual([{ stage: "IDEA", at: "2024-05-01T08:00:00.000Z" }]);
  });

  it("keeps years before 100 as given (no 19xx reading of two-digit years)", async () => {
    const p = await createProject({ slug: "ancient", name: "Ancient", stageSince: "0050-06-01T00:00:00Z" });
    expect(p.stageHistory).toEqual([{ stage: "PILOT", at: "0050-06-01T00:00:00.000Z" }]);
    const q = await createProject({
      slug: "ancient-2",
      name: "Ancient 2",
      stageSince: "0099-12-31T23:00:00-02:00",
    });
    expect(q.stageHistory[0].at).toBe("0100-01-01T01:00:00.000Z");
  });

  for (const slug of [
    "Bad_Slug",
    "-leading-dash",
    "a".repeat(64),
    "",
    "has space",
    "UPPER",
    "dot.ted",
    "ünï",
  ]) {
    it(`slug ${JSON.stringify(slug.length > 20 ? `${slug.slice(0, 8)}…(${slug.length})` : slug)} is BAD_USER_INPUT naming input.slug`, async () => {
      const r = await t.gql(`mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`, {
        i: { slug, name: "x" },
      });
      expectBadInput(r, ["input.slug"]);
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM project WHERE slug = $1`, [slug]);
      expect(rows[0].n).toBe(0);
    });
  }

  it("accepts a 63-character slug and one that starts with a digit", async () => {
    const long = `a${"-b".repeat(31)}`;
    expect(long).toHaveLength(63);
    expect((await createProject({ slug: long, name: "Long" })).slug).toBe(long);
    expect((await createProject({ slug: "9lives", name: "Digit" })).slug).toBe("9lives");
  });

  it("an empty name, or a stageSince in the future, is BAD_USER_INPUT naming the field", async () => {
    const q = `mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`;
    expectBadInput(await t.gql(q, { i: { slug: "no-name", name: "  " } }), ["input.name"]);
    const future = new Date(Date.now() + 2 * DAY).toISOString();
    expectBadInput(await t.gql(q, { i: { slug: "future", name: "F", stageSince: future } }), [
      "input.stageSince",
    ]);
    expect(await project("no-name")).toBeNull();
    expect(await project("future")).toBeNull();
  });

  it("created in PRODUCTION without goLiveAt, it went live at stageSince", async () => {
    const p = await createProject({
      slug: "born-live",
      name: "Born live",
      stage: "PRODUCTION",
      stageSince: "2024-02-03T04:05:06.789Z",
    });
    expect(p.goLiveAt).toBe("2024-02-03T04:05:06.789Z");
    expect(p.stageHistory).toEqual([{ stage: "PRODUCTION", at: "2024-02-03T04:05:06.789Z" }]);
  });

  it("created in PRODUCTION with neither, it went live when created; an explicit goLiveAt is kept", async () => {
    const before = Date.now();
    const p = await createProject({ slug: "born-live-now", name: "Now", stage: "PRODUCTION" });
    expectAround(p.goLiveAt, before, Date.now());
    expect(p.goLiveAt).toBe(p.stageHistory[0].at);
    const q = await createProject({
      slug: "born-live-given",
      name: "Given",
      stage: "PRODUCTION",
      stageSince: "2024-02-01T00:00:00Z",
      goLiveAt: "2024-03-01T00:00:00Z",
    });
    expect(q.goLiveAt).toBe("2024-03-01T00:00:00.000Z");
  });
});

describe("updateProject", () => {
  const UPDATE = `mutation($s: String!, $i: UpdateProjectInput!) { updateProject(slug: $s, input: $i) { ${PROJECT_FIELDS} } }`;

  it("replaces the given fields, leaves the others, clears with an explicit null", async () => {
    await createProject({
      slug: "upd",
      name: "Old name",
      description: "Old description",
      owner: "Old owner",
      goLiveAt: "2024-01-01T00:00:00Z",
    });
    const a = (await ok(UPDATE, { s: "upd", i: { name: "New name", owner: "New owner" } })).updateProject;
    expect(a).toMatchObject({
      name: "New name",
      description: "Old description",
      owner: "New owner",
      goLiveAt: "2024-01-01T00:00:00.000Z",
    });
    const b = (
      await ok(UPDATE, { s: "upd", i: { description: null, goLiveAt: "2024-06-30T22:00:00-02:00" } })
    ).updateProject;
    expect(b).toMatchObject({
      name: "New name",
      description: null,
      owner: "New owner",
      goLiveAt: "2024-07-01T00:00:00.000Z",
    });
    const c = (await ok(UPDATE, { s: "upd", i: { goLiveAt: null } })).updateProject;
    expect(c.goLiveAt).toBeNull();
    expect(c.description).toBeNull();
    // Stage and history are not touched by updateProject.
    expect(c.stage).toBe("PILOT");
    expect(c.stageHistory).toHaveLength(1);
    expect(await project("upd")).toEqual(c);
  });

  it("a null or empty name is BAD_USER_INPUT naming input.name and changes nothing", async () => {
    await createProject({ slug: "upd-bad", name: "Keep" });
    expectBadInput(await t.gql(UPDATE, { s: "upd-bad", i: { name: null } }), ["input.name"]);
    expectBadInput(await t.gql(UPDATE, { s: "upd-bad", i: { name: "", owner: "x" } }), ["input.name"]);
    expect((await project("upd-bad")).name).toBe("Keep");
    expect((await project("upd-bad")).owner).toBeNull();
  });
});

describe("setProjectStage", () => {
  it("appends a change at now by default; moving to PRODUCTION sets goLiveAt to it", async () => {
    await createProject({ slug: "st-now", name: "S", stageSince: "2024-01-01T00:00:00Z" });
    const before = Date.now();
    const p = await setStageOk("st-now", "PRODUCTION");
    const after = Date.now();
    expect(p.stage).toBe("PRODUCTION");
    expect(p.stageHistory).toHaveLength(2);
    expect(p.stageHistory[0]).toEqual({ stage: "PILOT", at: "2024-01-01T00:00:00.000Z" });
    expect(p.stageHistory[1].stage).toBe("PRODUCTION");
    expectAround(p.stageHistory[1].at, before, after);
    expect(p.goLiveAt).toBe(p.stageHistory[1].at);
  });

  it("an explicit at is kept; entering PRODUCTION sets goLiveAt to it", async () => {
    await createProject({ slug: "st-at", name: "S", stage: "IDEA", stageSince: "2024-01-01T00:00:00Z" });
    await setStageOk("st-at", "PILOT", "2024-02-01T00:00:00Z");
    const p = await setStageOk("st-at", "PRODUCTION", "2024-03-15T12:00:00+01:00");
    expect(p.stageHistory).toEqual([
      { stage: "IDEA", at: "2024-01-01T00:00:00.000Z" },
      { stage: "PILOT", at: "2024-02-01T00:00:00.000Z" },
      { stage: "PRODUCTION", at: "2024-03-15T11:00:00.000Z" },
    ]);
    expect(p.goLiveAt).toBe("2024-03-15T11:00:00.000Z");
    // Leaving and re-entering PRODUCTION keeps the first go-live.
    await setStageOk("st-at", "RETIRED", "2024-04-01T00:00:00Z");
    const again = await setStageOk("st-at", "PRODUCTION", "2024-05-01T00:00:00Z");
    expect(again.goLiveAt).toBe("2024-03-15T11:00:00.000Z");
    expect(again.stageHistory).toHaveLength(5);
  });

  it("moving to PRODUCTION does not override an existing goLiveAt", async () => {
    await createProject({
      slug: "st-keep",
      name: "S",
      stageSince: "2024-01-01T00:00:00Z",
      goLiveAt: "2024-01-20T00:00:00Z",
    });
    const p = await setStageOk("st-keep", "PRODUCTION", "2024-02-01T00:00:00Z");
    expect(p.goLiveAt).toBe("2024-01-20T00:00:00.000Z");
    expect(p.stage).toBe("PRODUCTION");
  });

  it("an at in the future is BAD_USER_INPUT naming at, and nothing changes", async () => {
    await createProject({ slug: "st-future", name: "S", stageSince: "2024-01-01T00:00:00Z" });
    const r = await setStage("st-future", "PRODUCTION", new Date(Date.now() + 3_600_000).toISOString());
    expectBadInput(r, ["at"]);
    const p = await project("st-future");
    expect(p.stage).toBe("PILOT");
    expect(p.goLiveAt).toBeNull();
    expect(p.stageHistory).toEqual([{ stage: "PILOT", at: "2024-01-01T00:00:00.000Z" }]);
  });

  it("an at before the latest change is BAD_USER_INPUT naming at; at the same instant is accepted", async () => {
    await createProject({ slug: "st-order", name: "S", stageSince: "2024-01-01T00:00:00Z" });
    await setStageOk("st-order", "IDEA", "2024-03-01T00:00:00Z");
    // Before the latest change (2024-03-01), though after the creation.
    expectBadInput(await setStage("st-order", "PILOT", "2024-02-01T00:00:00Z"), ["at"]);
    expectBadInput(await setStage("st-order", "PILOT", "2024-02-29T23:59:59.999Z"), ["at"]);
    // Also before the creation's stageSince.
    expectBadInput(await setStage("st-order", "RETIRED", "2023-12-31T00:00:00Z"), ["at"]);
    let p = await project("st-order");
    expect(p.stage).toBe("IDEA");
    expect(p.stageHistory).toHaveLength(2);
    p = await setStageOk("st-order", "PILOT", "2024-03-01T00:00:00Z");
    expect(p.stageHistory.map((h: { stage: string }) => h.stage)).toEqual(["PILOT", "IDEA", "PILOT"]);
  });

  it("setting the current stage again adds no history entry", async () => {
    await createProject({ slug: "st-same", name: "S", stageSince: "2024-01-01T00:00:00Z" });
    const p = await setStageOk("st-same", "PILOT");
    expect(p.stage).toBe("PILOT");
    expect(p.stageHistory).toEqual([{ stage: "PILOT", at: "2024-01-01T00:00:00.000Z" }]);
    await setStageOk("st-same", "PRODUCTION", "2024-02-01T00:00:00Z");
    const q = await setStageOk("st-same", "PRODUCTION", "2024-03-01T00:00:00Z");
    expect(q.stageHistory).toHaveLength(2);
    expect(q.goLiveAt).toBe("2024-02-01T00:00:00.000Z");
    expect(await project("st-same")).toEqual(q);
  });
});

describe("lists", () => {
  it("projects are ordered by slug, and filtered by stage", async () => {
    const mine = [
      ["ls-b", "IDEA"],
      ["ls-a-2", "PRODUCTION"],
      ["ls-a0", "PILOT"],
      ["ls-ab", "RETIRED"],
      ["ls-a", "IDEA"],
      ["ls-a-1", "PILOT"],
    ];
    for (const [slug, stage] of mine) await createProject({ slug, name: slug, stage });
    const all: { slug: string; stage: string }[] = (await ok(`{ projects { slug stage } }`)).projects;
    const slugs = all.map((p) => p.slug);
    expect(slugs).toEqual([...slugs].sort()); // code-point order ("-" < "0" < "a")
    expect(slugs.filter((s) => s.startsWith("ls-"))).toEqual([
      "ls-a",
      "ls-a-1",
      "ls-a-2",
      "ls-a0",
      "ls-ab",
      "ls-b",
    ]);
    for (const stage of ["IDEA", "PILOT", "PRODUCTION", "RETIRED"]) {
      const got: { slug: string; stage: string }[] = (
        await ok(`query($s: ProjectStage) { projects(stage: $s) { slug stage } }`, { s: stage })
      ).projects;
      expect(got).toEqual(all.filter((p) => p.stage === stage));
      expect(got.filter((p) => p.slug.startsWith("ls-")).map((p) => p.slug)).toEqual(
        mine
          .filter(([, s]) => s === stage)
          .map(([slug]) => slug)
          .sort(),
      );
    }
  });

  it("defineMetric: aggregation defaults to MEAN, redefining a key replaces it, metrics are ordered by key", async () => {
    const a = await defineMetric({
      key: "lm.zeta",
      name: "Zeta",
      unit: "tickets",
      direction: "HIGHER_IS_BETTER",
    });
    expect(a.body.data.defineMetric).toEqual({
      key: "lm.zeta",
      name: "Zeta",
      unit: "tickets",
      direction: "HIGHER_IS_BETTER",
      aggregation: "MEAN",
      description: null,
    });
    for (const key of ["lm.alpha", "lm_alpha", "lm-alpha", "lm.alpha2", "lm0"])
      expect(
        (await defineMetric({ key, name: key, unit: "u", direction: "LOWER_IS_BETTER" })).body.errors,
      ).toBeUndefined();
    const b = await defineMetric({
      key: "lm.zeta",
      name: "Zeta v2",
      unit: "minutes",
      direction: "LOWER_IS_BETTER",
      aggregation: "P90",
      description: "now a duration",
    });
    expect(b.body.data.defineMetric).toEqual({
      key: "lm.zeta",
      name: "Zeta v2",
      unit: "minutes",
      direction: "LOWER_IS_BETTER",
      aggregation: "P90",
      description: "now a duration",
    });
    const list: { key: string; name: string }[] = (await ok(`{ metrics { key name } }`)).metrics;
    const keys = list.map((m) => m.key);
    expect(keys.filter((k) => k === "lm.zeta")).toHaveLength(1);
    expect(list.find((m) => m.key === "lm.zeta")!.name).toBe("Zeta v2");
    expect(keys).toEqual([...keys].sort());
    expect(keys.filter((k) => k.startsWith("lm"))).toEqual([
      "lm-alpha",
      "lm.alpha",
      "lm.alpha2",
      "lm.zeta",
      "lm0",
      "lm_alpha",
    ]);
  });

  for (const key of ["Upper.case", ".leading", "a".repeat(129), "", "spa ce", "slash/key"]) {
    it(`defineMetric with key ${JSON.stringify(key.length > 20 ? `${key.slice(0, 5)}…(${key.length})` : key)} is BAD_USER_INPUT naming input.key`, async () => {
      expectBadInput(await defineMetric({ key, name: "n", unit: "u", direction: "LOWER_IS_BETTER" }), [
        "input.key",
      ]);
      const keys = (await ok(`{ metrics { key } }`)).metrics.map((m: { key: string }) => m.key);
      expect(keys).not.toContain(key);
    });
  }

  it("trackKpi: an unknown project or metric is BAD_USER_INPUT naming input.projectSlug / input.metricKey", async () => {
    await createProject({ slug: "kpi-refs", name: "K" });
    expectBadInput(await trackKpi({ projectSlug: "nope", metricKey: "base.minutes" }), ["input.projectSlug"]);
    expectBadInput(await trackKpi({ projectSlug: "kpi-refs", metricKey: "no.metric" }), ["input.metricKey"]);
    expectBadInput(await trackKpi({ projectSlug: "nope", metricKey: "no.metric" }), [
      "input.projectSlug",
      "input.metricKey",
    ]);
    expect((await ok(`{ project(slug: "kpi-refs") { kpis { metric { key } } } }`)).project.kpis).toEqual([]);
  });

  it("trackKpi upserts and replaces every setting: a second call without target leaves target null", async () => {
    await createProject({ slug: "kpi-upsert", name: "K" });
    const first = await trackKpi({
      projectSlug: "kpi-upsert",
      metricKey: "base.minutes",
      target: 5,
      baselineValue: 12,
      valuePerUnit: 2,
    });
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.trackKpi).toEqual({
      projectSlug: "kpi-upsert",
      metric: { key: "base.minutes" },
      target: 5,
      baseline: { value: 12 },
    });
    // Observations recorded for the KPI are never touched by trackKpi.
    const rec = await ok(
      `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`,
      {
        in: [3, 5].map((value, i) => ({
          projectSlug: "kpi-upsert",
          metricKey: "base.minutes",
          observedAt: `2025-01-0${i + 1}T00:00:00Z`,
          value,
          externalId: `o${i}`,
        })),
      },
    );
    expect(rec.recordObservations.inserted).toBe(2);

    const second = await trackKpi({ projectSlug: "kpi-upsert", metricKey: "base.minutes" });
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data.trackKpi.target).toBeNull();
    // baselineValue was replaced too: no goLiveAt, so the computed baseline is empty again.
    expect(second.body.data.trackKpi.baseline).toEqual({ value: null });

    const p = (
      await ok(
        `{ project(slug: "kpi-upsert") { kpis { metric { key } target targetMet annualBenefit current { value count } } } }`,
      )
    ).project;
    expect(p.kpis).toEqual([
      {
        metric: { key: "base.minutes" },
        target: null,
        targetMet: null,
        annualBenefit: null,
        current: { value: (3 + 5) / 2, count: 2 },
      },
    ]);
  });

  it("kpis of a project are ordered by metric key; kpi(metricKey) is null for an untracked metric", async () => {
    await createProject({ slug: "kpi-order", name: "K" });
    const keys = ["ko.z", "ko_a", "ko.a", "ko-m", "ko.a.b"];
    for (const key of keys) {
      expect(
        (await defineMetric({ key, name: key, unit: "u", direction: "LOWER_IS_BETTER" })).body.errors,
      ).toBeUndefined();
    }
    for (const key of keys) {
      expect((await trackKpi({ projectSlug: "kpi-order", metricKey: key })).body.errors).toBeUndefined();
    }
    const p = (
      await ok(
        `{ project(slug: "kpi-order") { kpis { projectSlug metric { key } } tracked: kpi(metricKey: "ko.a") { metric { key } } untracked: kpi(metricKey: "base.minutes") { metric { key } } unknown: kpi(metricKey: "no.such") { metric { key } } } }`,
      )
    ).project;
    expect(p.kpis.map((k: { metric: { key: string } }) => k.metric.key)).toEqual([
      "ko-m",
      "ko.a",
      "ko.a.b",
      "ko.z",
      "ko_a",
    ]);
    expect(p.kpis.every((k: { projectSlug: string }) => k.projectSlug === "kpi-order")).toBe(true);
    expect(p.tracked).toEqual({ metric: { key: "ko.a" } });
    expect(p.untracked).toBeNull();
    expect(p.unknown).toBeNull();
  });

  it("addCost: an unknown project is BAD_USER_INPUT naming input.projectSlug; costs are listed by startsAt", async () => {
    const ADD = `mutation($i: AddCostInput!) { addCost(input: $i) { label kind amount startsAt } }`;
    expectBadInput(
      await t.gql(ADD, {
        i: { projectSlug: "nope", label: "x", kind: "ONE_TIME", amount: 1, startsAt: "2025-01-01T00:00:00Z" },
      }),
      ["input.projectSlug"],
    );
    await createProject({ slug: "costs", name: "C" });
    expectBadInput(
      await t.gql(ADD, {
        i: {
          projectSlug: "costs",
          label: "refund",
          kind: "ONE_TIME",
          amount: -1,
          startsAt: "2025-01-01T00:00:00Z",
        },
      }),
      ["input.amount"],
    );
    const added = [
      { label: "licences", kind: "MONTHLY", amount: 8333.33, startsAt: "2025-03-01T00:00:00Z" },
      { label: "build", kind: "ONE_TIME", amount: 200000, startsAt: "2024-01-01T00:00:00+01:00" },
      { label: "support", kind: "MONTHLY", amount: 0, startsAt: "2024-06-01T00:00:00Z" },
    ];
    for (const c of added) {
      const r = await ok(ADD, { i: { projectSlug: "costs", ...c } });
      expect(r.addCost.label).toBe(c.label);
    }
    const costs = (await ok(`{ project(slug: "costs") { costs { label kind amount startsAt } } }`)).project
      .costs;
    expect(costs).toEqual([
      { label: "build", kind: "ONE_TIME", amount: 200000, startsAt: "2023-12-31T23:00:00.000Z" },
      { label: "support", kind: "MONTHLY", amount: 0, startsAt: "2024-06-01T00:00:00.000Z" },
      { label: "licences", kind: "MONTHLY", amount: 8333.33, startsAt: "2025-03-01T00:00:00.000Z" },
    ]);
  });

  it("orders by code point whatever the database's collation", async () => {
    // A server initialised with an English locale (the postgres image's default) compares text ignoring
    // punctuation at first: "ls-b" would sort after "ls-ab", and "lm.zeta" after "lm_alpha". Give this
    // database such a collation (ICU, punctuation shifted) and check the lists keep code-point order.
    await db.query(
      `CREATE COLLATION IF NOT EXISTS english_shifted (provider = icu, locale = 'en-US-u-ka-shifted')`,
    );
    const { rows } = await db.query(
      `SELECT array_agg(x ORDER BY x COLLATE english_shifted) AS v FROM unnest(ARRAY['ls-b', 'ls-ab']) x`,
    );
    expect(rows[0].v).toEqual(["ls-ab", "ls-b"]); // the collation really does reorder
    await db.query(`ALTER TABLE project ALTER COLUMN slug TYPE text COLLATE english_shifted`);
    await db.query(`ALTER TABLE metric ALTER COLUMN key TYPE text COLLATE english_shifted`);
    const slugs: string[] = (await ok(`{ projects { slug } }`)).projects.map((p: { slug: string }) => p.slug);
    expect(slugs.length).toBeGreaterThan(10);
    expect(slugs).toEqual([...slugs].sort());
    const idea: string[] = (await ok(`{ projects(stage: IDEA) { slug } }`)).projects.map(
      (p: { slug: string }) => p.slug,
    );
    expect(idea).toEqual([...idea].sort());
    const keys: string[] = (await ok(`{ metrics { key } }`)).metrics.map((m: { key: string }) => m.key);
    expect(keys).toEqual([...keys].sort());
    // The same order as a project's kpis.
    const kpiKeys: string[] = (
      await ok(`{ project(slug: "kpi-order") { kpis { metric { key } } } }`)
    ).project.kpis.map((k: { metric: { key: string } }) => k.metric.key);
    expect(kpiKeys).toEqual(keys.filter((k) => k.startsWith("ko")));
  });
});

describe("portfolio", () => {
  const PORTFOLIO = `{ portfolio {
    projectCount byStage { stage count } medianDaysInPilot pilotConversionPct totalAnnualBenefit
    stalled40: stalledPilots(olderThanDays: 40) { slug }
    stalledDefault: stalledPilots { slug }
    stalled399: stalledPilots(olderThanDays: 399) { slug }
    stalled401: stalledPilots(olderThanDays: 401) { slug }
  } }`;

  beforeAll(async () => {
    // A portfolio of exactly the projects below: remove those the earlier tests made.
    await db.query(`TRUNCATE project CASCADE`);
  });

  it("of no projects: zero counts for every stage, no median, no conversion", async () => {
    const p = (await ok(PORTFOLIO)).portfolio;
    expect(p).toEqual({
      projectCount: 0,
      byStage: [
        { stage: "IDEA", count: 0 },
        { stage: "PILOT", count: 0 },
        { stage: "PRODUCTION", count: 0 },
        { stage: "RETIRED", count: 0 },
      ],
      medianDaysInPilot: null,
      pilotConversionPct: null,
      totalAnnualBenefit: 0,
      stalled40: [],
      stalledDefault: [],
      stalled399: [],
      stalled401: [],
    });
  });

  it("median days in pilot, conversion and stalled pilots of a hand-made history", async () => {
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    const pdSince = ago(400);
    const pgSince = ago(50);

    // pa: PILOT 2024-01-01 → PRODUCTION 2024-03-01: 31 + 29 (leap year) = 60 days. Converted.
    await createProject({ slug: "pa", name: "A", stageSince: "2024-01-01T00:00:00Z" });
    await setStageOk("pa", "PRODUCTION", "2024-03-01T00:00:00Z");
    // pb: PRODUCTION 2023-06-01 → PILOT 2024-02-01 → RETIRED 2024-05-01: 29 + 31 + 30 = 90 days.
    // Not converted: its PRODUCTION came before the pilot.
    await createProject({ slug: "pb", name: "B", stage: "PRODUCTION", stageSince: "2023-06-01T00:00:00Z" });
    await setStageOk("pb", "PILOT", "2024-02-01T00:00:00Z");
    await setStageOk("pb", "RETIRED", "2024-05-01T00:00:00Z");
    // pc: PILOT 2024-01-01 → IDEA 2024-01-11 (10 days) → PILOT 2024-02-10 → PRODUCTION 2024-03-01 (20 days):
    // 30 days in all. Converted.
    await createProject({ slug: "pc", name: "C", stageSince: "2024-01-01T00:00:00Z" });
    await setStageOk("pc", "IDEA", "2024-01-11T00:00:00Z");
    await setStageOk("pc", "PILOT", "2024-02-10T00:00:00Z");
    await setStageOk("pc", "PRODUCTION", "2024-03-01T00:00:00Z");
    // pd: PILOT for 400 days, still in it. Not converted.
    await createProject({ slug: "pd", name: "D", stageSince: pdSince });
    // pe: PRODUCTION from the start: never a pilot, not counted in days or conversion.
    await createProject({ slug: "pe", name: "E", stage: "PRODUCTION", stageSince: "2024-06-01T00:00:00Z" });
    // pg: PILOT for 50 days, still in it (its days run up to now). Not converted.
    await createProject({ slug: "pg", name: "G", stageSince: pgSince });
    // ph: PILOT 2023-01-01 → PRODUCTION 2023-01-21: 20 days. Converted.
    await createProject({ slug: "ph", name: "H", stageSince: "2023-01-01T00:00:00Z" });
    await setStageOk("ph", "PRODUCTION", "2023-01-21T00:00:00Z");

    const asked = Date.now();
    const p = (await ok(PORTFOLIO)).portfolio;
    const answered = Date.now();

    expect(p.projectCount).toBe(7);
    expect(p.byStage).toEqual([
      { stage: "IDEA", count: 0 },
      { stage: "PILOT", count: 2 }, // pd, pg
      { stage: "PRODUCTION", count: 4 }, // pa, pc, pe, ph
      { stage: "RETIRED", count: 1 }, // pb
    ]);
    // Six projects were pilots: 20 (ph), 30 (pc), ~50 (pg), 60 (pa), 90 (pb), ~400 (pd).
    // An even count: the median is the mean of the two middle values, pg's days (up to now) and pa's 60.
    const pgDaysLow = (asked - Date.parse(pgSince)) / DAY;
    const pgDaysHigh = (answered - Date.parse(pgSince)) / DAY;
    const slack = NOW_SLACK_MS / DAY;
    expect(p.medianDaysInPilot).toBeGreaterThanOrEqual((pgDaysLow + 60) / 2 - slack);
    expect(p.medianDaysInPilot).toBeLessThanOrEqual((pgDaysHigh + 60) / 2 + slack);
    expect(p.medianDaysInPilot).toBeCloseTo(55, 3);
    // pa, pc and ph of the six reached PRODUCTION after entering PILOT: 3 / 6.
    expect(p.pilotConversionPct).toBeCloseTo(50, 10);
    expect(p.totalAnnualBenefit).toBe(0);
    // Now in PILOT: pd for ~400 days, pg for ~50.
    expect(p.stalled40).toEqual([{ slug: "pd" }, { slug: "pg" }]);
    expect(p.stalledDefault).toEqual([{ slug: "pd" }]); // 180 days
    expect(p.stalled399).toEqual([{ slug: "pd" }]);
    expect(p.stalled401).toEqual([]);
  });

  it("a pilot that converts moves from stalled to converted", async () => {
    await setStageOk("pd", "PRODUCTION");
    const p = (await ok(PORTFOLIO)).portfolio;
    // Days: 20, 30, ~50, 60, 90, ~400 (pd's stint now closed at ~now): the middle pair is unchanged.
    expect(p.medianDaysInPilot).toBeCloseTo(55, 3);
    expect(p.pilotConversionPct).toBeCloseTo((4 / 6) * 100, 10);
    expect(p.stalled40).toEqual([{ slug: "pg" }]);
    expect(p.stalledDefault).toEqual([]);
    expect(p.byStage).toEqual([
      { stage: "IDEA", count: 0 },
      { stage: "PILOT", count: 1 },
      { stage: "PRODUCTION", count: 5 },
      { stage: "RETIRED", count: 1 },
    ]);
  });
});
