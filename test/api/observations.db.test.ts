import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

// recordObservations over HTTP: counts, idempotence by externalId, weights, and every bad-input rule of the
// contract ("Observations", "Errors"). Stored rows are counted directly in PostgreSQL, so a test never
// trusts the API to report on itself.

const METRIC = "m.mean";
const OTHER_METRIC = "m.other";
const HOUR = 3_600_000;

let t: TestApp;
let db: pg.Client;
let seq = 0;

beforeAll(async () => {
  t = await startTestApp({
    config: `
metrics:
  - { key: ${METRIC}, name: Handle time, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEAN }
  - { key: ${OTHER_METRIC}, name: Other, unit: minutes, direction: LOWER_IS_BETTER }
`,
  });
  db = new pg.Client(t.db.url);
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await t?.stop();
});

const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`;

interface Obs {
  projectSlug: string;
  metricKey: string;
  observedAt: string;
  value: number;
  weight?: number | null;
  externalId?: string | null;
  dimensions?: unknown;
}

/** A new project (no goLiveAt: every observation is AFTER) tracking METRIC. */
async function newProject(): Promise<string> {
  const slug = `obs-${++seq}`;
  const c = await t.gql(`mutation($i: CreateProjectInput!) { createProject(input: $i) { slug } }`, {
    i: { slug, name: `Project ${seq}` },
  });
  expect(c.body.errors).toBeUndefined();
  const k = await t.gql(`mutation($i: TrackKpiInput!) { trackKpi(input: $i) { projectSlug } }`, {
    i: { projectSlug: slug, metricKey: METRIC },
  });
  expect(k.body.errors).toBeUndefined();
  return slug;
}

function obs(slug: string, extra: Partial<Obs> = {}): Obs {
  return { projectSlug: slug, metricKey: METRIC, observedAt: "2025-01-15T12:00:00Z", value: 5, ...extra };
}

async function record(items: unknown[]) {
  return t.gql<{ recordObservations: { inserted: number; updated: number } }>(RECORD, { in: items });
}

async function recordOk(items: unknown[]) {
  const r = await record(items);
  expect(r.body.errors).toBeUndefined();
  return r.body.data!.recordObservations;
}

/** Rows stored for a project, straight from the database. */
async function stored(slug: string) {
  const r = await db.query<{
    external_id: string | null;
    value: number;
    weight: number;
    observed_at: Date;
    dimensions: Record<string, string> | null;
    metric: string;
  }>(
    `SELECT o.external_id, o.value, o.weight, o.observed_at, o.dimensions, m.key AS metric
     FROM observation o JOIN project p ON p.id = o.project_id JOIN metric m ON m.id = o.metric_id
     WHERE p.slug = $1 ORDER BY o.id`,
    [slug],
  );
  return r.rows;
}

async function totalRows(): Promise<number> {
  return Number((await db.query(`SELECT count(*) AS n FROM observation`)).rows[0].n);
}

async function current(slug: string): Promise<{ value: number | null; count: number }> {
  const r = await t.gql(
    `query($s: String!, $m: String!) { project(slug: $s) { kpi(metricKey: $m) { current { value count } } } }`,
    { s: slug, m: METRIC },
  );
  expect(r.body.errors).toBeUndefined();
  return r.body.data.project.kpi.current;
}

/** One BAD_USER_INPUT error whose problems are exactly `fields` (with their indexes) and whose message names each. */
function expectBadInput(
  r: { status: number; body: { data?: any; errors?: any[] } },
  fields: { field: string; index?: number }[],
) {
  expect(r.status).toBe(200);
  expect(r.body.data).toBeNull();
  expect(r.body.errors).toHaveLength(1);
  const [e] = r.body.errors!;
  expect(e.extensions.code).toBe("BAD_USER_INPUT");
  for (const f of fields) expect(e.message).toContain(`${f.field}:`);
  const got = (e.extensions.problems as { field: string; index?: number }[]).map((p) => ({
    field: p.field,
    index: p.index,
  }));
  const sort = (xs: { field: string }[]) => [...xs].sort((a, b) => (a.field < b.field ? -1 : 1));
  expect(sort(got)).toEqual(sort(fields.map((f) => ({ field: f.field, index: f.index }))));
  return e;
}

describe("recordObservations: counts and idempotence", () => {
  it("an empty list records nothing and answers 0/0", async () => {
    const before = await totalRows();
    expect(await recordOk([])).toEqual({ inserted: 0, updated: 0 });
    expect(await totalRows()).toBe(before);
  });

  it("counts new observations as inserted and stores each one", async () => {
    const p = await newProject();
    const res = await recordOk([
      obs(p, { value: 1 }),
      obs(p, { value: 2, externalId: "a" }),
      obs(p, { value: 3, externalId: "b" }),
    ]);
    expect(res).toEqual({ inserted: 3, updated: 0 });
    expect((await stored(p)).map((r) => r.value)).toEqual([1, 2, 3]);
  });

  it("re-recording an externalId updates the one row: value, weight, time and dimensions replaced", async () => {
    const p = await newProject();
    expect(
      await recordOk([
        obs(p, { externalId: "t-1", value: 10, dimensions: { team: "emea" } }),
        obs(p, { externalId: "t-2", value: 20 }),
      ]),
    ).toEqual({ inserted: 2, updated: 0 });

    const again = await recordOk([
      obs(p, { externalId: "t-1", value: 30, weight: 3, observedAt: "2025-02-01T08:00:00+02:00" }),
    ]);
    expect(again).toEqual({ inserted: 0, updated: 1 });

    const rows = await stored(p);
    expect(rows).toHaveLength(2);
    const t1 = rows.find((r) => r.external_id === "t-1")!;
    expect(t1.value).toBe(30);
    expect(t1.weight).toBe(3);
    expect(t1.observed_at.toISOString()).toBe("2025-02-01T06:00:00.000Z");
    expect(t1.dimensions).toBeNull(); // replaced by the new item's (absent) dimensions
    expect(rows.find((r) => r.external_id === "t-2")!.value).toBe(20);

    // The KPI sees one row per externalId: weighted mean of 30 (weight 3) and 20 (weight 1).
    expect(await current(p)).toEqual({ value: (30 * 3 + 20 * 1) / (3 + 1), count: 4 });

    // And recording exactly the same item again is still an update, never a second row.
    expect(await recordOk([obs(p, { externalId: "t-2", value: 20 })])).toEqual({ inserted: 0, updated: 1 });
    expect(await stored(p)).toHaveLength(2);
  });

  it("the same externalId under another metric or project is another observation", async () => {
    const p = await newProject();
    const q = await newProject();
    expect(
      await recordOk([
        obs(p, { externalId: "x" }),
        obs(p, { externalId: "x", metricKey: OTHER_METRIC }),
        obs(q, { externalId: "x" }),
      ]),
    ).toEqual({ inserted: 3, updated: 0 });
    expect(await stored(p)).toHaveLength(2);
    expect(await stored(q)).toHaveLength(1);
  });

  it("without an externalId an observation is always inserted, even when identical", async () => {
    const p = await newProject();
    const item = obs(p, { value: 7 });
    expect(await recordOk([item])).toEqual({ inserted: 1, updated: 0 });
    expect(await recordOk([item])).toEqual({ inserted: 1, updated: 0 });
    expect(await recordOk([item, { ...item, externalId: null }])).toEqual({ inserted: 2, updated: 0 });
    expect(await stored(p)).toHaveLength(4);
    expect(await current(p)).toEqual({ value: 7, count: 4 });
  });

  it("within one batch a later item with the same externalId wins; the first counts as inserted, later ones as updated", async () => {
    const p = await newProject();
    const res = await recordOk([
      obs(p, { externalId: "dup", value: 1 }),
      obs(p, { externalId: "solo", value: 100 }),
      obs(p, { externalId: "dup", value: 2 }),
      obs(p, { value: 50 }),
      obs(p, { externalId: "dup", value: 3, weight: 2 }),
    ]);
    // Item by item: dup inserted, solo inserted, dup updated, (no id) inserted, dup updated.
    expect(res).toEqual({ inserted: 3, updated: 2 });
    const rows = await stored(p);
    expect(rows).toHaveLength(3);
    const dup = rows.filter((r) => r.external_id === "dup");
    expect(dup).toHaveLength(1);
    expect(dup[0].value).toBe(3);
    expect(dup[0].weight).toBe(2);

    // When the id is already stored, every repeat in the batch is an update, and the last still wins.
    expect(
      await recordOk([obs(p, { externalId: "dup", value: 8 }), obs(p, { externalId: "dup", value: 9 })]),
    ).toEqual({ inserted: 0, updated: 2 });
    const after = await stored(p);
    expect(after).toHaveLength(3);
    expect(after.find((r) => r.external_id === "dup")!.value).toBe(9);
    expect(after.find((r) => r.external_id === "dup")!.weight).toBe(1);
  });

  it("weight defaults to 1, and an explicit null weight means 1 (seen through a weighted MEAN)", async () => {
    const p = await newProject();
    const items = [
      obs(p, { value: 10 }), // weight absent
      obs(p, { value: 20, weight: null }), // explicit null
      obs(p, { value: 40, weight: 2 }),
      obs(p, { value: 100, weight: 0.5 }),
    ];
    expect(await recordOk(items)).toEqual({ inserted: 4, updated: 0 });
    expect((await stored(p)).map((r) => r.weight)).toEqual([1, 1, 2, 0.5]);
    let sum = 0;
    let w = 0;
    for (const [v, wt] of [
      [10, 1],
      [20, 1],
      [40, 2],
      [100, 0.5],
    ]) {
      sum += v * wt;
      w += wt;
    }
    const c = await current(p);
    expect(c.count).toBe(w); // 4.5
    expect(c.value).toBeCloseTo(sum / w, 12); // (10 + 20 + 80 + 50) / 4.5
  });

  it("the limits themselves are accepted: |value| = 1e15, weight = 1e9, 32 dimension keys of 64 characters, observedAt 23 h ahead", async () => {
    const p = await newProject();
    const dims = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`${String(i).padStart(2, "0")}${"k".repeat(62)}`, `v${i}`]),
    );
    const soon = new Date(Date.now() + 23 * HOUR).toISOString();
    const res = await recordOk([
      obs(p, { value: 1e15 }),
      obs(p, { value: -1e15 }),
      obs(p, { weight: 1e9 }),
      obs(p, { dimensions: dims }),
      obs(p, { observedAt: soon, externalId: "soon" }),
    ]);
    expect(res).toEqual({ inserted: 5, updated: 0 });
    const rows = await stored(p);
    expect(rows.map((r) => r.value).slice(0, 2)).toEqual([1e15, -1e15]);
    expect(rows[2].weight).toBe(1e9);
    expect(rows[3].dimensions).toEqual(dims);
    expect(rows[4].observed_at.toISOString()).toBe(soon);
  });
});

describe("recordObservations: bad input", () => {
  const long = "k".repeat(65);
  const cases: { name: string; bad: (p: string) => Partial<Obs>; field: string }[] = [
    { name: "an unknown project", bad: () => ({ projectSlug: "no-such-project" }), field: "projectSlug" },
    { name: "an unknown metric", bad: () => ({ metricKey: "no.such.metric" }), field: "metricKey" },
    {
      name: "observedAt more than 24 hours in the future",
      bad: () => ({ observedAt: new Date(Date.now() + 25 * HOUR).toISOString() }),
      field: "observedAt",
    },
    { name: "value above 1e15", bad: () => ({ value: 1.0000001e15 }), field: "value" },
    { name: "value below -1e15", bad: () => ({ value: -2e15 }), field: "value" },
    { name: "weight 0", bad: () => ({ weight: 0 }), field: "weight" },
    { name: "a negative weight", bad: () => ({ weight: -1 }), field: "weight" },
    { name: "weight above 1e9", bad: () => ({ weight: 1e9 + 1 }), field: "weight" },
    {
      name: "33 dimension keys",
      bad: () => ({ dimensions: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"])) }),
      field: "dimensions",
    },
    {
      name: "a 65-character dimension key",
      bad: () => ({ dimensions: { [long]: "v" } }),
      field: `dimensions.${long}`,
    },
    { name: "a numeric dimension value", bad: () => ({ dimensions: { team: 5 } }), field: "dimensions.team" },
    {
      name: "an object dimension value",
      bad: () => ({ dimensions: { team: { a: "b" } } }),
      field: "dimensions.team",
    },
    { name: "an empty externalId", bad: () => ({ externalId: "" }), field: "externalId" },
    { name: "a NUL character in externalId", bad: () => ({ externalId: "a\u0000b" }), field: "externalId" },
  ];

  for (const c of cases) {
    it(`${c.name} is BAD_USER_INPUT naming input[2].${c.field}, and nothing of the batch is stored`, async () => {
      const p = await newProject();
      const r = await record([
        obs(p, { externalId: "ok-0" }),
        obs(p, { externalId: "ok-1" }),
        obs(p, { externalId: "bad", ...c.bad(p) }),
      ]);
      const e = expectBadInput(r, [{ field: `input[2].${c.field}`, index: 2 }]);
      expect(e.path).toEqual(["recordObservations"]);
      expect(await stored(p)).toEqual([]);
    });
  }

  it("a non-finite value (1e400 written as a literal, which JSON cannot carry) is refused naming input[0].value", async () => {
    const p = await newProject();
    const r = await t.gql(
      `mutation { recordObservations(input: [
        { projectSlug: "${p}", metricKey: "${METRIC}", observedAt: "2025-01-01T00:00:00Z", value: 1e400 }
      ]) { inserted updated } }`,
    );
    expectBadInput(r, [{ field: "input[0].value", index: 0 }]);
    expect(await stored(p)).toEqual([]);
  });

  it("dimensions that are not an object are refused while the variables are read, naming the item", async () => {
    const p = await newProject();
    const r = await record([obs(p), obs(p, { dimensions: ["a", "b"] })]);
    expect(r.status).toBe(400); // Apollo answers variable coercion errors with 400
    expect(r.body.errors![0].extensions.code).toBe("BAD_USER_INPUT");
    expect(r.body.errors![0].message).toContain("in[1].dimensions");
    expect(await stored(p)).toEqual([]);
  });

  it("several bad items in one batch are all named, with their indexes, in one error", async () => {
    const p = await newProject();
    const r = await record([
      obs(p),
      obs(p, { weight: 0 }),
      obs(p),
      obs(p, { metricKey: "nope.metric", value: 5e15 }),
      obs(p, { projectSlug: "nope-project", externalId: "" }),
      obs(p, { observedAt: new Date(Date.now() + 48 * HOUR).toISOString(), dimensions: { n: 1 } }),
    ]);
    expectBadInput(r, [
      { field: "input[1].weight", index: 1 },
      { field: "input[3].metricKey", index: 3 },
      { field: "input[3].value", index: 3 },
      { field: "input[4].projectSlug", index: 4 },
      { field: "input[4].externalId", index: 4 },
      { field: "input[5].observedAt", index: 5 },
      { field: "input[5].dimensions.n", index: 5 },
    ]);
    expect(await stored(p)).toEqual([]);
  });

  it("all or nothing: 100 good items and 1 bad store nothing, and stored rows keep their values", async () => {
    const p = await newProject();
    expect(await recordOk([obs(p, { externalId: "e-0", value: 1 })])).toEqual({ inserted: 1, updated: 0 });
    const before = await totalRows();
    const good = Array.from({ length: 100 }, (_, i) => obs(p, { externalId: `e-${i}`, value: 1000 + i }));
    const r = await record([...good.slice(0, 60), obs(p, { weight: -5 }), ...good.slice(60)]);
    expectBadInput(r, [{ field: "input[60].weight", index: 60 }]);
    expect(await totalRows()).toBe(before);
    const rows = await stored(p);
    expect(rows).toHaveLength(1);
    expect(rows[0].value).toBe(1); // e-0 was not updated by the refused batch
    expect(await current(p)).toEqual({ value: 1, count: 1 });
  });

  it("a batch of 10,000 is accepted in one call", async () => {
    const p = await newProject();
    let sum = 0;
    const items = Array.from({ length: 10_000 }, (_, i) => {
      const value = (i % 97) + 0.25;
      sum += value;
      return obs(p, {
        externalId: `bulk-${i}`,
        value,
        observedAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
      });
    });
    const started = performance.now();
    const res = await recordOk(items);
    console.info(`recordObservations: 10,000 items in ${Math.round(performance.now() - started)} ms`);
    expect(res).toEqual({ inserted: 10_000, updated: 0 });
    expect(await stored(p)).toHaveLength(10_000);
    const c = await current(p);
    expect(c.count).toBe(10_000);
    expect(c.value).toBeCloseTo(sum / 10_000, 9);
  });

  // Valid large batches skip graphql-js's coercion (src/api/observation-variables.ts); one bad item must still
  // be graphql-js's error, and the whole batch refused.
  for (const bad of [
    { name: "an impossible date", item: { observedAt: "2025-02-30T00:00:00Z" }, says: "2025-02-30" },
    {
      name: "a date without an offset",
      item: { observedAt: "2025-02-01T08:00:00" },
      says: "2025-02-01T08:00:00",
    },
    { name: "a value sent as a string", item: { value: "5" }, says: "Float" },
    { name: "an unknown field", item: { colour: "red" }, says: "colour" },
  ]) {
    it(`${bad.name} at item 1,500 of 2,000 is BAD_USER_INPUT naming it, and nothing is stored`, async () => {
      const p = await newProject();
      const before = await totalRows();
      const items: object[] = Array.from({ length: 2_000 }, (_, i) => obs(p, { externalId: `b-${i}` }));
      items[1500] = { ...items[1500], ...bad.item };
      const r = await record(items);
      expect(r.status).toBe(400); // a variable coercion error, as graphql-js reports it
      expect(r.body.errors).toHaveLength(1);
      expect(r.body.errors![0].extensions.code).toBe("BAD_USER_INPUT");
      expect(r.body.errors![0].message).toContain("in[1500]");
      expect(r.body.errors![0].message).toContain(bad.says);
      expect(await totalRows()).toBe(before);
    });
  }

  it("a batch of 10,001 is refused with BAD_USER_INPUT naming input, and nothing is stored", async () => {
    const p = await newProject();
    const before = await totalRows();
    const items = Array.from({ length: 10_001 }, (_, i) => obs(p, { externalId: `over-${i}` }));
    const r = await record(items);
    const e = expectBadInput(r, [{ field: "input" }]);
    expect(e.message).toMatch(/10,000/);
    expect(await totalRows()).toBe(before);
    expect(await stored(p)).toEqual([]);
  });
});
