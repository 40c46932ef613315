import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { aliases, padded, seriesPerKpi, tokens } from "./documents.js";
import { once, open, wsClient } from "./ws-client.js";

// The HTTP limits over graphql-ws: same checks, every error with extensions.code; refused operations do
// not count against UPLIFT_WS_MAX_SUBSCRIPTIONS (here 2).
const KPI_UPDATED = "subscription { kpiUpdated { projectSlug } }";
let t: TestApp;
let client: Client;
beforeAll(async () => {
  t = await startTestApp({ env: { UPLIFT_WS_MAX_SUBSCRIPTIONS: "2" } });
  client = await wsClient(t.url);
});
afterAll(async () => {
  await client?.dispose();
  await t?.stop();
});

const codes = (r: { errors?: any[] }) => (r.errors ?? []).map((e) => e.extensions?.code);

describe("limits over WebSocket", () => {
  it("byte cap: PAYLOAD_TOO_LARGE before parsing", async () => {
    const r = await once(client, padded(102_401));
    expect(codes(r)).toEqual(["PAYLOAD_TOO_LARGE"]);
    expect(r.errors![0].message).toContain("UPLIFT_MAX_QUERY_BYTES");
  });

  it("token cap: GRAPHQL_PARSE_FAILED naming the limit", async () => {
    const r = await once(client, tokens(10_001));
    expect(codes(r)).toEqual(["GRAPHQL_PARSE_FAILED"]);
    expect(r.errors![0].message).toContain("UPLIFT_MAX_QUERY_TOKENS");
  });

  it("alias cap and cost budget: GRAPHQL_VALIDATION_FAILED naming the limit", async () => {
    const a = await once(client, aliases(101));
    expect(codes(a)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(a.errors![0].message).toContain("UPLIFT_MAX_ALIASES");
    const c = await once(client, seriesPerKpi(11));
    expect(codes(c)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(c.errors![0].message).toContain("query cost 1100 exceeds the maximum of 1000");
  });

  it("plain parse, validation and variable errors carry codes too", async () => {
    expect(codes(await once(client, "subscription {"))).toEqual(["GRAPHQL_PARSE_FAILED"]);
    expect(codes(await once(client, "subscription { nope }"))).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    const v = await once(
      client,
      "subscription ($p: String!) { kpiUpdated(projectSlug: $p) { projectSlug } }",
      {
        p: 42,
      },
    );
    expect(codes(v)).toEqual(["BAD_USER_INPUT"]);
  });

  it("within the limits a query runs", async () => {
    expect(await once(client, "{ metrics { key } }")).toEqual({ data: { metrics: [] } });
  });
});

describe("UPLIFT_WS_MAX_SUBSCRIPTIONS counts accepted operations only", () => {
  it("refused operations do not use up the socket's subscriptions; accepted ones do until completed", async () => {
    const c = await wsClient(t.url);
    try {
      // Five refusals on a socket allowed two operations at a time: before the fix each one leaked a slot.
      for (let i = 0; i < 5; i++)
        expect(codes(await once(c, "subscription { nope }"))).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
      const a = open(c, KPI_UPDATED);
      // Messages on one socket are taken in order: once this query answers, `a` has been accepted.
      expect(await once(c, "{ metrics { key } }")).toEqual({ data: { metrics: [] } });
      const b = open(c, KPI_UPDATED);
      const third = await once(c, "{ metrics { key } }");
      expect(codes(third)).toEqual(["BAD_USER_INPUT"]);
      expect(third.errors![0].message).toContain("UPLIFT_WS_MAX_SUBSCRIPTIONS");
      b.dispose(); // completes b: its slot is free again
      expect(await once(c, "{ metrics { key } }")).toEqual({ data: { metrics: [] } });
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
      a.dispose();
    } finally {
      await c.dispose();
    }
  });
});

describe("rate limit over WebSocket", () => {
  it("answers RATE_LIMITED once the key's requests per second are used up", async () => {
    const limited = await startTestApp({ env: { UPLIFT_RATE_LIMIT: "1" } });
    const c = await wsClient(limited.url);
    try {
      // A bucket of one request a second: of 20 sent at once, at most one per elapsed second passes.
      const results = await Promise.all(Array.from({ length: 20 }, () => once(c, "{ metrics { key } }")));
      const refused = results.filter((r) => codes(r).includes("RATE_LIMITED"));
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0].errors![0].message).toContain("UPLIFT_RATE_LIMIT");
      for (const r of results) expect(r.data !== undefined || codes(r).length === 1).toBe(true);
    } finally {
      await c.dispose();
      await limited.stop();
    }
  });
});
