import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestApp, type TestApp } from "../helpers/app.js";

// WebSocket hygiene: dead peers are dropped, slow consumers are cut off, shutdown says "going away".

const KPIS = 12;
const CONFIG = `
metrics:
${Array.from({ length: KPIS }, (_, i) => `  - { key: m${i}, name: M${i}, unit: u, direction: LOWER_IS_BETTER }`).join("\n")}
projects:
  - slug: p
    name: P
    goLiveAt: "2025-06-01T00:00:00Z"
    kpis: [${Array.from({ length: KPIS }, (_, i) => `{ metric: m${i} }`).join(", ")}]
`;

/** Waits until the app's server has registered `n` subscriptions in all. */
async function registered(app: TestApp, n: number) {
  const until = Date.now() + 30_000; // a bound for a stuck test only
  while (app.app.events.stats.subscribed < n) {
    if (Date.now() > until) throw new Error("the server did not register the subscription");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw graphql-transport-ws client, so the test controls pongs and reading. */
async function rawClient(url: string, opts: { autoPong?: boolean } = {}) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws", {
    autoPong: opts.autoPong ?? true,
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  // Counted from the start: on a busy machine the server's first ping can come before connection_ack.
  const counts = { pings: 0 };
  ws.on("ping", () => counts.pings++);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => ws.send(JSON.stringify({ type: "connection_init" })));
    ws.once("message", () => resolve()); // connection_ack
    ws.once("error", reject);
  });
  return { ws, closed, counts };
}

describe("WebSocket hygiene", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      config: CONFIG,
      env: { UPLIFT_WS_PING_MS: "200", UPLIFT_WS_MAX_BUFFERED_BYTES: "65536" },
    });
  });
  afterAll(async () => t?.stop());

  it("closes a connection that stops answering pings", async () => {
    const { closed, counts } = await rawClient(t.url, { autoPong: false });
    const { code } = await closed;
    expect(code).toBe(1006); // terminated: no close frame for a dead peer
    expect(counts.pings).toBeGreaterThanOrEqual(1); // it was asked, and did not answer
  });

  it("keeps a connection that answers pings", async () => {
    const { ws, closed } = await rawClient(t.url);
    let gone = false;
    void closed.then(() => {
      gone = true;
    });
    // Five pings answered (counted, not timed: a loaded machine pings later, never fewer times).
    await new Promise<void>((resolve) => {
      let pings = 0;
      ws.on("ping", () => {
        if (++pings === 5) setImmediate(resolve); // after ws has sent this ping's pong
      });
    });
    expect(gone).toBe(false);
    ws.close();
  });

  it("a subscriber that does not read holds at most one pending update per KPI, then gets the newest", async () => {
    // graphql-ws awaits each send, so a reader that stops applies backpressure; what piles up meanwhile is
    // the hub's mailbox, which keeps only the newest update per KPI.
    const slow = await startTestApp({ config: CONFIG });
    const { ws, closed } = await rawClient(slow.url);
    const received: any[] = [];
    ws.on("message", (m) => {
      const msg = JSON.parse(m.toString());
      if (msg.type === "next") received.push(msg.payload.data.kpiUpdated);
    });
    ws.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: {
          // Eight copies of a 300-day series make each message about 100 KB, so that the backlog outgrows
          // any socket buffer the kernel gives (a few MB) and backpressure is certain, not a matter of timing.
          query: `subscription { kpiUpdated { metric { key } current { value } ${Array.from(
            { length: 8 },
            (_, i) => `s${i}: series(bucket: DAY) { start value }`,
          ).join(" ")} } }`,
        },
      }),
    );
    await registered(slow, 1);
    const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const days = 300;
    // 15 rounds × 12 KPIs of ~100 KB messages: 18 MB if nothing were coalesced, several times any socket buffer.
    const rounds = 15;
    let maxBacklog = 0;
    for (let round = 1; round <= rounds; round++) {
      const items = [];
      for (let k = 0; k < KPIS; k++) {
        for (let d = 0; d < days; d++) {
          items.push({
            projectSlug: "p",
            metricKey: `m${k}`,
            observedAt: new Date(Date.UTC(2025, 6, 1) + d * 86_400_000).toISOString(),
            value: round,
            externalId: `d${d}`,
          });
        }
      }
      await slow.gql(`mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { updated } }`, {
        in: items,
      });
      await new Promise((r) => setTimeout(r, 40));
      maxBacklog = Math.max(maxBacklog, slow.app.events.backlog());
    }
    expect(maxBacklog).toBeLessThanOrEqual(KPIS);
    socket.resume();
    // Every KPI's last delivered update shows the final round's value.
    const until = Date.now() + 150_000; // a bound for a stuck test only
    const latest = () => new Map(received.map((r) => [r.metric.key, r.current.value]));
    while (Date.now() < until && [...latest().values()].filter((v) => v === rounds).length < KPIS) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...latest().values()]).toEqual(Array(KPIS).fill(rounds));
    // Far fewer messages than changes were sent: the backlog was coalesced, not queued.
    expect(received.length).toBeLessThan(rounds * KPIS);
    ws.close();
    await closed;
    await slow.stop();
    // Heavy by design (18 MB of updates held back): a loaded 2-core machine needs more than the default bound.
  }, 180_000);

  it("shutdown closes subscribers' sockets with 1001 (going away)", async () => {
    const own = await startTestApp({ config: CONFIG });
    const { ws, closed } = await rawClient(own.url);
    ws.send(
      JSON.stringify({
        id: "1",
        type: "subscribe",
        payload: { query: "subscription { kpiUpdated { projectSlug } }" },
      }),
    );
    await registered(own, 1);
    await own.stop();
    expect((await closed).code).toBe(1001);
  });
});
