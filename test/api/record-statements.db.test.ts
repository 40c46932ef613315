import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CHANGES_CHANNEL } from "../../src/store/changes.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { statementsSentBy } from "../helpers/statements.js";

// What one large recordObservations costs PostgreSQL in statements (each a round trip while the batch
// holds its connection): the lookups of projects and metrics in one, the stamps and the announcement in
// one, around the COPY. The announcement must still reach a listener on commit.

const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted updated } }`;
let t: TestApp;
let listener: pg.Client;
const heard: string[] = [];

beforeAll(async () => {
  t = await startTestApp({
    config: `
metrics:
  - { key: s.mean, name: Handle time, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEAN }
projects:
  - slug: s-one
    name: One
    kpis:
      - metric: s.mean
`,
  });
  listener = new pg.Client(t.db.url);
  await listener.connect();
  listener.on("notification", (n) => {
    if (n.channel === CHANGES_CHANNEL) heard.push(n.payload ?? "");
  });
  await listener.query(`LISTEN ${CHANGES_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await t?.stop();
});

const batch = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    projectSlug: "s-one",
    metricKey: "s.mean",
    observedAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
    value: i % 50,
    externalId: `s-${i}`,
  }));

async function recordCounting(items: unknown[]) {
  let answer: any;
  const sent = await statementsSentBy(async () => {
    answer = await t.gql(RECORD, { in: items });
  });
  expect(answer.body.errors).toBeUndefined();
  return { result: answer.body.data.recordObservations, sent: sent.map((s) => s.trim().split(/\s+/)[0]) };
}

it("2,000 new rows: 7 statements (lookups, BEGIN, SAVEPOINT, COPY, RELEASE, stamps + NOTIFY, COMMIT)", async () => {
  heard.length = 0;
  const { result, sent } = await recordCounting(batch(2000));
  expect(result).toEqual({ inserted: 2000, updated: 0 });
  expect(sent).toEqual(["SELECT", "START", "SAVEPOINT", "COPY", "RELEASE", "WITH", "COMMIT"]);
  const n = Number((await listener.query(`SELECT count(*) AS n FROM observation`)).rows[0].n);
  expect(n).toBe(2000);
  for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const [projectId, metricId] = (
    await listener.query(
      `SELECT p.id::text AS p, m.id::text AS m FROM project p, metric m WHERE p.slug = 's-one' AND m.key = 's.mean'`,
    )
  ).rows.map((r) => [r.p, r.m])[0]!;
  expect(heard.map((p) => JSON.parse(p))).toEqual([{ p: [[projectId, metricId]] }]);
});

it("the same 2,000 again (all updates): the refused COPY, then staging and one merge; 12 statements", async () => {
  const { result, sent } = await recordCounting(batch(2000));
  expect(result).toEqual({ inserted: 0, updated: 2000 });
  expect(sent.length).toBeLessThanOrEqual(12);
  expect(sent.filter((s) => s === "COPY")).toHaveLength(2);
});
