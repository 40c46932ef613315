import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimiter, rateKey } from "../../src/http/rate-limit.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

describe("RateLimiter (token bucket, clock injected)", () => {
  it("lets `perSecond` requests through at once, then one per 1/perSecond seconds", () => {
    let now = 0;
    const l = new RateLimiter(4, () => now);
    for (let i = 0; i < 4; i++) expect(l.take("k").ok).toBe(true);
    expect(l.take("k")).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 249; // a quarter second refills one token (4/s); 249 ms is not yet enough
    expect(l.take("k").ok).toBe(false);
    now += 2;
    expect(l.take("k").ok).toBe(true);
    expect(l.take("k").ok).toBe(false);
  });

  it("keeps keys apart and says how long to wait", () => {
    let now = 0;
    const l = new RateLimiter(0.5, () => now); // one request per two seconds, bursts of one
    expect(l.take("a").ok).toBe(true);
    expect(l.take("a")).toEqual({ ok: false, retryAfterSeconds: 2 });
    now += 1000;
    expect(l.take("a")).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(l.take("b").ok).toBe(true);
    now += 1000;
    expect(l.take("a").ok).toBe(true);
    expect(l.keys).toBe(2);
  });

  it("counts per API key name, and per address when everyone is anonymous", () => {
    expect(rateKey({ actor: "ci-bot" }, "10.0.0.1")).toBe("key:ci-bot");
    expect(rateKey({ actor: "anonymous" }, "10.0.0.1")).toBe("addr:10.0.0.1");
    expect(rateKey(undefined, "::1")).toBe("addr:::1");
  });
});

describe("UPLIFT_RATE_LIMIT over HTTP", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { UPLIFT_RATE_LIMIT: "1" } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("answers 429 RATE_LIMITED with Retry-After past the limit; health checks never count", async () => {
    // One request a second, twenty at once: at most one per elapsed second is served.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${t.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ metrics { key } }" }),
        }),
      ),
    );
    const refused = answers.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(answers.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    expect(Number(refused[0].headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await refused[0].json()) as any;
    expect(body.errors[0].extensions.code).toBe("RATE_LIMITED");
    expect(body.errors[0].message).toContain("UPLIFT_RATE_LIMIT");
    for (const path of ["/healthz", "/readyz"]) expect((await fetch(`${t.url}${path}`)).status).toBe(200);
  });
});
