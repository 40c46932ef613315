import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { statementsSentBy } from "../helpers/statements.js";

// Whole answers reused while the database is unchanged (src/api/response-cache.ts): a repeated query costs
// one statement (the snapshot check) and gets the same bytes; any commit, from any connection, is in the
// very next answer; answers are never shared between credentials that see different projects; errors are
// never replayed.

const CONFIG = `
metrics:
  - { key: rc.time, name: Time, unit: minutes, direction: LOWER_IS_BETTER, aggregation: MEAN }
projects:
  - { slug: rc-a, name: A, stage: PRODUCTION, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: rc.time }] }
  - { slug: rc-b, name: B, stage: PRODUCTION, goLiveAt: "2025-03-01T00:00:00Z", kpis: [{ metric: rc.time }] }
`;
const ADMIN = "response-cache-admin-token-0123456789abcdef";
const PAGE = `{ projects { slug kpis { current { value count } } } }`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;

let t: TestApp;
let client: pg.Client;

async function post(query: string, token = ADMIN, variables?: object) {
  const res = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, text: await res.text() };
}

const currentOf = (text: string, slug: string) =>
  JSON.parse(text).data.projects.find((p: any) => p.slug === slug).kpis[0].current;

beforeAll(async () => {
  t = await startTestApp({ config: CONFIG, env: { UPLIFT_ADMIN_TOKEN: ADMIN } });
  client = new pg.Client(t.db.url);
  await client.connect();
  const r = await post(RECORD, ADMIN, {
    in: [
      { projectSlug: "rc-a", metricKey: "rc.time", observedAt: "2025-04-01T00:00:00Z", value: 4 },
      { projectSlug: "rc-b", metricKey: "rc.time", observedAt: "2025-04-01T00:00:00Z", value: 8 },
    ],
  });
  expect(JSON.parse(r.text).data.recordObservations.inserted).toBe(2);
});
afterAll(async () => {
  await client?.end().catch(() => undefined);
  await t?.stop();
});

describe("whole answers reused while the database is unchanged", () => {
  it("answers a repeated query with the same bytes and one statement, the snapshot check", async () => {
    // Background work (the reporting refresher after the set-up's writes) commits too, and any commit
    // rightly makes the next request execute again; so ask until two requests meet no commit between them.
    let hit: { first: string; again: string; sent: string[] } | null = null;
    for (let i = 0; i < 200 && !hit; i++) {
      const first = (await post(PAGE)).text;
      let again = "";
      const sent = await statementsSentBy(async () => {
        again = (await post(PAGE)).text;
      });
      if (sent.length === 1) hit = { first, again, sent };
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(hit).not.toBeNull();
    expect(hit!.again).toBe(hit!.first);
    expect(currentOf(hit!.again, "rc-a")).toEqual({ value: 4, count: 1 });
    expect(hit!.sent[0]).toMatch(/pg_current_snapshot/);
  });

  it("serves rows committed by a plain pg client in the very next answer, even without a change stamp", async () => {
    await post(PAGE); // cached
    const { rows } = await client.query(
      `SELECT p.id AS project, m.id AS metric FROM project p, metric m WHERE p.slug = 'rc-a' AND m.key = 'rc.time'`,
    );
    // Renaming through SQL only: no stamp, no NOTIFY; the snapshot still differs.
    await client.query(`UPDATE project SET slug = slug, name = 'A2' WHERE id = $1`, [rows[0].project]);
    const sent = await statementsSentBy(async () => {
      const r = await post(`{ project(slug: "rc-a") { name } }`);
      expect(JSON.parse(r.text).data.project.name).toBe("A2");
    });
    expect(sent.length).toBeGreaterThan(1); // executed again, not replayed
    for (let i = 1; i <= 5; i++) {
      const before = await post(PAGE);
      await post(RECORD, ADMIN, {
        in: [
          {
            projectSlug: "rc-a",
            metricKey: "rc.time",
            observedAt: `2025-04-0${i + 1}T00:00:00Z`,
            value: 4 + i,
          },
        ],
      });
      const after = await post(PAGE);
      expect(after.text).not.toBe(before.text);
      // AFTER values 4, 5 … 4 + i: their mean is 4 + i/2.
      expect(currentOf(after.text, "rc-a")).toEqual({ value: 4 + i / 2, count: i + 1 });
    }
  });

  it("never gives one credential's answer to a key scoped to other projects", async () => {
    const keyB = JSON.parse(
      (
        await post(
          `mutation { createApiKey(input: { name: "rc-scoped", role: READER, projects: ["rc-b"] }) { secret } }`,
        )
      ).text,
    ).data.createApiKey.secret as string;
    const admin = await post(PAGE);
    expect(JSON.parse(admin.text).data.projects.map((p: any) => p.slug)).toEqual(["rc-a", "rc-b"]);
    const scoped = await post(PAGE, keyB);
    expect(JSON.parse(scoped.text).data.projects.map((p: any) => p.slug)).toEqual(["rc-b"]);
    const scopedAgain = await post(PAGE, keyB);
    expect(scopedAgain.text).toBe(scoped.text);
    expect((await post(PAGE)).text).toBe(admin.text);
  });

  it("answers a reused answer with the content type the request asked for", async () => {
    const ask = (accept?: string) =>
      fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${ADMIN}`,
          ...(accept ? { accept } : {}),
        },
        body: JSON.stringify({ query: PAGE }),
      });
    const first = await ask();
    const firstText = await first.text();
    for (const accept of [undefined, "application/json", "application/graphql-response+json"]) {
      const r = await ask(accept);
      expect(await r.text()).toBe(firstText);
      expect(r.headers.get("content-type")).toMatch(
        accept?.includes("graphql-response") ? /^application\/graphql-response\+json/ : /^application\/json/,
      );
      expect(r.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("does not replay an answer with errors", async () => {
    const q = `{ project(slug: "rc-a") { kpis { series(bucket: WEEK, from: "2025-06-01T00:00:00Z", to: "2025-01-01T00:00:00Z") { start } } } }`;
    const first = await post(q);
    expect(JSON.parse(first.text).errors?.length).toBeGreaterThan(0);
    const sent = await statementsSentBy(async () => {
      const again = await post(q);
      expect(again.text).toBe(first.text);
    });
    expect(sent.some((s) => /pg_current_snapshot/.test(s))).toBe(true);
    expect(sent.length).toBeGreaterThan(1);
  });
});
