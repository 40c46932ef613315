import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, until, wsSubscribe } from "./helpers.js";

// Subscriptions over graphql-ws with auth on: the credential comes in connection_init (or on the upgrade
// request); none or a wrong one closes the socket with 4401; a scoped key hears only its projects.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - { slug: alpha, name: Alpha, goLiveAt: "2025-02-01T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
  - { slug: beta, name: Beta, goLiveAt: "2025-02-01T00:00:00Z", kpis: [{ metric: it.resolution_time }] }
`;
const SUB = `subscription($p: String) { kpiUpdated(projectSlug: $p) { projectSlug current { value } } }`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;
const record = (project: string, value: number) =>
  t.as(ADMIN_TOKEN, RECORD, {
    in: [
      { projectSlug: project, metricKey: "it.resolution_time", observedAt: "2025-03-01T00:00:00Z", value },
    ],
  });

let t: AuthApp;
let reader: string;
let alphaOnly: string;
beforeAll(async () => {
  t = await startAuthApp(CONFIG);
  reader = await t.key("ws-reader", "READER");
  alphaOnly = await t.key("ws-alpha", "READER", ["alpha"]);
});
afterAll(async () => t?.stop());

const subscribers = () => t.app.events.subscriberCount;

describe("graphql-ws with auth on", () => {
  it("no credential, or a wrong one, is closed with 4401 before any operation", async () => {
    for (const params of [
      undefined,
      { authorization: "Bearer upl_wrongwrongwrongwrongwrongwrongwrongwrong" },
      { authorization: "nonsense" },
    ]) {
      const s = await wsSubscribe(t.url, SUB, { params });
      expect(s.acked).toBe(false);
      expect((await s.closed).code).toBe(4401);
    }
  });

  it("a reader key in connection_init receives updates", async () => {
    const before = subscribers();
    const s = await wsSubscribe(t.url, SUB, { params: { authorization: `Bearer ${reader}` } });
    expect(s.acked).toBe(true);
    await until(() => subscribers() > before, "the subscription to register");
    await record("alpha", 7);
    await until(() => s.events.length > 0, "an update");
    expect(s.events[0].data.kpiUpdated).toEqual({ projectSlug: "alpha", current: { value: 7 } });
    await s.client.dispose();
  });

  it("the same credential on the upgrade request's Authorization header works too", async () => {
    const s = await wsSubscribe(t.url, SUB, { headers: { authorization: `Bearer ${reader}` } });
    expect(s.acked).toBe(true);
    await s.client.dispose();
  });

  it("a scoped key hears only its projects, and subscribing to another project is NOT_FOUND", async () => {
    const before = subscribers();
    const all = await wsSubscribe(t.url, SUB, { params: { authorization: `Bearer ${reader}` } });
    const mine = await wsSubscribe(t.url, SUB, { params: { authorization: `Bearer ${alphaOnly}` } });
    await until(() => subscribers() >= before + 2, "both subscriptions to register");
    // beta's update reaches the unscoped subscriber; had it been sent to the scoped one, it would be queued
    // before alpha's, which is recorded only afterwards.
    await record("beta", 5);
    await until(() => all.events.some((e) => e.data.kpiUpdated.projectSlug === "beta"), "beta's update");
    await record("alpha", 6);
    await until(() => mine.events.length > 0, "alpha's update");
    expect(mine.events.map((e) => e.data.kpiUpdated.projectSlug)).toEqual(["alpha"]);

    const other = await wsSubscribe(t.url, SUB, {
      params: { authorization: `Bearer ${alphaOnly}` },
      variables: { p: "beta" },
    });
    // A subscribe function's error arrives as a result with errors (graphql-ws `next`), then `complete`.
    await until(() => other.events.length > 0, "the refusal");
    expect(other.events[0].data).toBeUndefined();
    expect(other.events[0].errors.map((e: any) => e.extensions.code)).toEqual(["NOT_FOUND"]);
    for (const s of [all, mine, other]) await s.client.dispose();
  });

  it("keys of different scopes on the same operation each get their own projects' updates from one commit", async () => {
    // The response is executed once per (document, variables, principal's view) and shared: a commit that
    // touches both projects must still reach each scoped key with its own project only.
    const betaOnly = await t.key("ws-beta", "READER", ["beta"]);
    const before = subscribers();
    const opts = (key: string) => ({ params: { authorization: `Bearer ${key}` } });
    const all = await wsSubscribe(t.url, SUB, opts(reader));
    const alpha = await wsSubscribe(t.url, SUB, opts(alphaOnly));
    const beta = await wsSubscribe(t.url, SUB, opts(betaOnly));
    const alpha2 = await wsSubscribe(t.url, SUB, opts(alphaOnly));
    await until(() => subscribers() >= before + 4, "the four subscriptions to register");
    await t.as(ADMIN_TOKEN, RECORD, {
      in: ["alpha", "beta"].map((projectSlug, i) => ({
        projectSlug,
        metricKey: "it.resolution_time",
        observedAt: "2025-03-02T00:00:00Z",
        value: 20 + i,
      })),
    });
    await until(() => all.events.length === 2, "both updates for the unscoped key");
    // A fence: a later commit to each scoped key's own project; a wrong update would have come before it.
    await record("alpha", 30);
    await record("beta", 31);
    await until(
      () => alpha.events.length >= 2 && alpha2.events.length >= 2 && beta.events.length >= 2,
      "the fences",
    );
    const slugs = (s: { events: any[] }) => s.events.map((e) => e.data.kpiUpdated.projectSlug);
    expect(slugs(alpha)).toEqual(["alpha", "alpha"]);
    expect(slugs(alpha2)).toEqual(["alpha", "alpha"]);
    expect(slugs(beta)).toEqual(["beta", "beta"]);
    expect(slugs(all).slice(0, 2).sort()).toEqual(["alpha", "beta"]);
    for (const s of [all, alpha, beta, alpha2]) await s.client.dispose();
  });

  it("revoking a key closes its open sockets with 4403", async () => {
    const secret = await t.key("ws-short", "READER");
    const s = await wsSubscribe(t.url, SUB, { params: { authorization: `Bearer ${secret}` } });
    expect(s.acked).toBe(true);
    await t.as(ADMIN_TOKEN, `mutation { revokeApiKey(name: "ws-short") }`);
    expect((await s.closed).code).toBe(4403);
    const again = await wsSubscribe(t.url, SUB, { params: { authorization: `Bearer ${secret}` } });
    expect((await again.closed).code).toBe(4401);
  });
});
