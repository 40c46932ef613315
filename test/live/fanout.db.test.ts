import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestApp, type TestApp } from "../helpers/app.js";

// The shared fan-out (src/api/subscription-fanout.ts): one execution per (document, variables, principal's
// view) and the same bytes behind each subscription's own id. Checked on raw sockets, byte for byte.

const CONFIG = `
metrics:
  - { key: it.resolution_time, name: Resolution, unit: minutes, direction: LOWER_IS_BETTER }
  - { key: cs.call_duration, name: Calls, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - slug: helpdesk
    name: Help desk
    goLiveAt: "2025-03-01T00:00:00Z"
    kpis: [{ metric: it.resolution_time }]
  - slug: calls
    name: Calls
    goLiveAt: "2025-03-01T00:00:00Z"
    kpis: [{ metric: cs.call_duration }]
`;
const FULL = `subscription($p: String) { kpiUpdated(projectSlug: $p) { projectSlug current { value count } } }`;
const SLUG_ONLY = `subscription { kpiUpdated { projectSlug } }`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;
const METRIC = { helpdesk: "it.resolution_time", calls: "cs.call_duration" } as const;

async function until(check: () => boolean, what: string) {
  const end = Date.now() + 60_000; // a bound for a stuck test only
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const obs = (project: keyof typeof METRIC, day: number, value: number) => ({
  projectSlug: project,
  metricKey: METRIC[project],
  observedAt: new Date(Date.UTC(2025, 3, 1) + day * 86_400_000).toISOString(),
  value,
});

interface Raw {
  ws: WebSocket;
  /** Every text message as received, in order. */
  messages: string[];
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  /** The `next` payloads of one subscription id, in order. */
  nexts(id: string): any[];
}

async function rawSocket(url: string): Promise<Raw> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
    ws.once("message", () => resolve()); // connection_ack
    ws.once("error", reject);
  });
  ws.on("message", (m) => messages.push(m.toString()));
  return {
    ws,
    messages,
    subscribe: (id, query, variables) =>
      ws.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } })),
    nexts: (id) =>
      messages
        .map((m) => JSON.parse(m))
        .filter((m) => m.type === "next" && m.id === id)
        .map((m) => m.payload),
  };
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ config: CONFIG });
});
afterAll(async () => t?.stop());
beforeEach(async () => {
  await t.app.db.ds.query("TRUNCATE observation, observation_activity");
  // The previous test's sockets are closed: wait until the server has let their subscriptions go.
  await until(() => t.app.events.subscriberCount === 0, "the previous test's subscriptions to end");
});

const registered = (n: number) => until(() => t.app.events.stats.subscribed >= n, `${n} subscriptions`);

describe("shared fan-out of subscription responses", () => {
  it("each subscription gets its own id and what its own document and variables ask for, byte-exact", async () => {
    const a = await rawSocket(t.url);
    const b = await rawSocket(t.url);
    const base = t.app.events.stats.subscribed;
    a.subscribe("h", FULL, { p: "helpdesk" });
    a.subscribe("c", FULL, { p: "calls" });
    a.subscribe("all", FULL);
    a.subscribe("slugs", SLUG_ONLY);
    b.subscribe("h", FULL, { p: "helpdesk" }); // the same id on another socket
    b.subscribe('odd "id" \\ é', FULL, { p: "helpdesk" }); // escaped in JSON
    await registered(base + 6);

    // One commit touching both KPIs, then a second one touching helpdesk only.
    await t.gql(RECORD, { in: [obs("helpdesk", 0, 4), obs("helpdesk", 1, 6), obs("calls", 0, 9)] });
    await until(() => a.nexts("all").length === 2 && a.nexts("slugs").length === 2, "the first commit");
    await t.gql(RECORD, { in: [obs("helpdesk", 2, 2)] });
    await until(
      () =>
        a.nexts("h").length === 2 &&
        a.nexts("all").length === 3 &&
        a.nexts("slugs").length === 3 &&
        b.nexts("h").length === 2 &&
        b.nexts('odd "id" \\ é').length === 2,
      "the second commit",
    );

    const kpi = (projectSlug: string, value: number, count: number) => ({
      data: { kpiUpdated: { projectSlug, current: { value, count } } },
    });
    const helpdesk = [kpi("helpdesk", 5, 2), kpi("helpdesk", 4, 3)];
    expect(a.nexts("h")).toEqual(helpdesk);
    expect(b.nexts("h")).toEqual(helpdesk);
    expect(b.nexts('odd "id" \\ é')).toEqual(helpdesk);
    expect(a.nexts("c")).toEqual([kpi("calls", 9, 1)]);
    // The first commit's two KPIs may come in either order; the second commit's comes after both.
    expect(a.nexts("all").slice(0, 2)).toEqual(expect.arrayContaining([helpdesk[0], kpi("calls", 9, 1)]));
    expect(a.nexts("all")[2]).toEqual(helpdesk[1]);
    expect(
      a
        .nexts("slugs")
        .map((p) => p.data.kpiUpdated.projectSlug)
        .sort(),
    ).toEqual(["calls", "helpdesk", "helpdesk"]);
    // Exactly graphql-ws's framing: {"id":…,"type":"next","payload":…}, nothing else.
    for (const m of [...a.messages, ...b.messages]) {
      const parsed = JSON.parse(m);
      expect(m).toBe(JSON.stringify({ id: parsed.id, type: "next", payload: parsed.payload }));
    }
    a.ws.close();
    b.ws.close();
  });

  it("complete stops one subscription, a closed socket stops all of its own, and the hub forgets them", async () => {
    const before = 0;
    const a = await rawSocket(t.url);
    const base = t.app.events.stats.subscribed;
    a.subscribe("1", FULL, { p: "helpdesk" });
    a.subscribe("2", FULL, { p: "helpdesk" });
    await registered(base + 2);
    expect(t.app.events.subscriberCount).toBe(before + 2);
    a.ws.send(JSON.stringify({ id: "1", type: "complete" }));
    await until(() => t.app.events.subscriberCount === before + 1, "the completed subscription to go");
    await t.gql(RECORD, { in: [obs("helpdesk", 0, 3)] });
    await until(() => a.nexts("2").length === 1, "the remaining subscription's update");
    expect(a.nexts("1")).toEqual([]);
    a.ws.close();
    await until(() => t.app.events.subscriberCount === before, "the closed socket's subscription to go");
  });

  it("after a burst of commits every subscriber ends with the final state, in order, nothing lost", async () => {
    const SOCKETS = 40;
    const PER_SOCKET = 5;
    const COMMITS = 25;
    const base = t.app.events.stats.subscribed;
    const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => rawSocket(t.url)));
    for (const s of sockets)
      for (let i = 0; i < PER_SOCKET; i++) s.subscribe(`s${i}`, FULL, { p: "helpdesk" });
    await registered(base + SOCKETS * PER_SOCKET);
    // Commits one after another, without waiting for any update in between.
    for (let k = 0; k < COMMITS; k++) await t.gql(RECORD, { in: [obs("helpdesk", k, k)] });
    const last = (s: Raw, i: number) => s.nexts(`s${i}`).at(-1)?.data.kpiUpdated.current.count;
    await until(
      () =>
        sockets.every((s) =>
          Array.from({ length: PER_SOCKET }, (_, i) => last(s, i)).every((c) => c === COMMITS),
        ),
      "every subscriber to see the last commit",
    );
    const finalMean = (COMMITS - 1) / 2; // mean of 0 … COMMITS − 1
    for (const s of sockets) {
      for (let i = 0; i < PER_SOCKET; i++) {
        const counts = s.nexts(`s${i}`).map((p) => p.data.kpiUpdated.current.count);
        // Never an older state after a newer one. The same state may come twice: a recomputation reads what
        // is committed when it runs, so one made for commit k may already count commit k + 1.
        expect(counts).toEqual([...counts].sort((x, y) => x - y));
        expect(s.nexts(`s${i}`).at(-1).data.kpiUpdated.current.value).toBe(finalMean);
      }
    }
    for (const s of sockets) s.ws.close();
  });
});
