import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { aliases, padded, seriesPerKpi, tokens } from "./documents.js";

// Each limit of the contract over HTTP, at its defaults, with its status and code; the limits' boundaries
// are checked one past and exactly at the limit.
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe("document byte cap (UPLIFT_MAX_QUERY_BYTES, default 102,400)", () => {
  it("refuses a document one byte over with 413 PAYLOAD_TOO_LARGE, and accepts one exactly at it", async () => {
    const over = await post({ query: padded(102_401) });
    expect(over.status).toBe(413);
    expect(over.body.errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
    expect(over.body.errors[0].message).toContain("UPLIFT_MAX_QUERY_BYTES");
    const at = await post({ query: padded(102_400) });
    expect(at.status).toBe(200);
    expect(at.body.data.metrics).toEqual([]);
  });

  it("counts UTF-8 bytes, not characters", async () => {
    // About 60,000 two-byte characters: 60,000-odd characters but 120,022 bytes.
    const q = padded(120_022, "é");
    expect(Buffer.byteLength(q)).toBe(120_022);
    expect(q.length).toBeLessThan(102_400);
    const res = await post({ query: q });
    expect(res.status).toBe(413);
    expect(res.body.errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("bounds the document, not the body: a large variables object with a short document is served", async () => {
    const res = await post({
      query: "query ($pad: String) { project(slug: $pad) { slug } metrics { key } }",
      variables: { pad: "x".repeat(2_000_000) },
    });
    expect(res.status).not.toBe(413);
    expect(res.body.data?.metrics ?? []).toEqual([]);
    expect(res.body.errors?.map((e: any) => e.extensions.code) ?? []).not.toContain("PAYLOAD_TOO_LARGE");
  });
});

describe("token cap (UPLIFT_MAX_QUERY_TOKENS, default 10,000)", () => {
  it("refuses 10,001 tokens with 400 GRAPHQL_PARSE_FAILED naming the limit, accepts 10,000", async () => {
    const over = await post({ query: tokens(10_001), operationName: "A0" });
    expect(over.status).toBe(400);
    expect(over.body.errors[0].extensions.code).toBe("GRAPHQL_PARSE_FAILED");
    expect(over.body.errors[0].message).toContain("UPLIFT_MAX_QUERY_TOKENS");
    const at = await post({ query: tokens(10_000), operationName: "A0" });
    expect(at.status).toBe(200);
    expect(at.body.data).toEqual({ __typename: "Query" });
  });
});

describe("alias cap (UPLIFT_MAX_ALIASES, default 100)", () => {
  it("refuses 101 aliases with 400 GRAPHQL_VALIDATION_FAILED naming the limit, accepts 100", async () => {
    const over = await post({ query: aliases(101) });
    expect(over.status).toBe(400);
    expect(over.body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(over.body.errors[0].message).toBe("101 aliases exceed the maximum of 100 (UPLIFT_MAX_ALIASES)");
    const at = await post({ query: aliases(100) });
    expect(at.status).toBe(200);
    expect(Object.keys(at.body.data)).toHaveLength(100);
  });
});

describe("cost budget (UPLIFT_MAX_QUERY_COST, default 1,000)", () => {
  it("refuses cost 1,100 (10 projects × 10 KPIs × 11 series) and accepts 1,000", async () => {
    const over = await post({ query: seriesPerKpi(11) });
    expect(over.status).toBe(400);
    expect(over.body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(over.body.errors[0].message).toContain(
      "query cost 1100 exceeds the maximum of 1000 (UPLIFT_MAX_QUERY_COST",
    );
    const at = await post({ query: seriesPerKpi(10) });
    expect(at.status).toBe(200);
    expect(at.body.data.projects).toEqual([]);
  });

  it("stops the issue's flood of aliased series before any of them runs", async () => {
    // 800 aliases (11 tokens each, under the token cap): cost 10 KPIs × 800 series = 8,000.
    const q = `{ project(slug: "x") { kpis { ${Array.from({ length: 800 }, (_, i) => `s${i}: series(bucket: DAY) { value }`).join(" ")} } } }`;
    const res = await post({ query: q });
    expect(res.status).toBe(400);
    const messages = res.body.errors.map((e: any) => e.message).join("\n");
    expect(messages).toContain("UPLIFT_MAX_ALIASES");
    expect(messages).toContain("UPLIFT_MAX_QUERY_COST");
  });
});

describe("request ids", () => {
  it("returns a sane incoming X-Request-Id and replaces an unsafe one", async () => {
    const kept = await post({ query: "{ metrics { key } }" }, { "x-request-id": "req-42.abc" });
    expect(kept.headers.get("x-request-id")).toBe("req-42.abc");
    const replaced = await post({ query: "{ metrics { key } }" }, { "x-request-id": "bad id\twith spaces" });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const fresh = await fetch(`${t.url}/healthz`);
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("byte cap on GET", () => {
  it("applies to the query parameter of a GET request too", async () => {
    const small = await startTestApp({ env: { UPLIFT_MAX_QUERY_BYTES: "1000" } });
    try {
      const get = (q: string) =>
        fetch(`${small.url}/graphql?query=${encodeURIComponent(q)}`, {
          headers: { "apollo-require-preflight": "1" },
        });
      const over = await get(padded(1001));
      expect(over.status).toBe(413);
      expect(((await over.json()) as any).errors[0].extensions.code).toBe("PAYLOAD_TOO_LARGE");
      const at = await get(padded(1000));
      expect(at.status).toBe(200);
    } finally {
      await small.stop();
    }
  });
});
