import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AuthenticationError,
  basicAuth,
  bearerAuth,
  createHttpClient,
  type HttpClientOptions,
  parseRateLimitReset,
  parseRetryAfter,
  SourceError,
} from "../../src/collect/http-client.js";
import type { Logger } from "../../src/log.js";

// Every test runs the client against a real local server (no fetch mocks) and counts, on the server
// side, the requests that arrived. A fake sleep records the waits the client asks for and returns at once.

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

const servers: http.Server[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A server whose n-th request (0-based) is answered by `handler`; `seen` lists what arrived. */
async function serve(handler: Handler) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, seen.length - 1);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, seen, base };
}

/** Answers the n-th request with the n-th entry (the last one repeats). */
function sequence(...steps: Handler[]): Handler {
  return (req, res, n) => steps[Math.min(n, steps.length - 1)]!(req, res, n);
}

function reply(status: number, body: unknown = { ok: true }, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(text);
  };
}

function recordingLogger() {
  const warnings: { msg: string; fields: Record<string, unknown> }[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (msg, fields = {}) => {
      warnings.push({ msg, fields });
    },
    error() {},
    child: () => log,
  };
  return { log, warnings };
}

/** A client with a recording sleep and logger; `waits` are the delays it asked for, in ms. */
function client(opts: HttpClientOptions = {}) {
  const waits: number[] = [];
  const { log, warnings } = recordingLogger();
  const http = createHttpClient({
    log,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...opts,
  });
  return { http, waits, warnings };
}

async function failure(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

describe("retries", () => {
  it("429 with Retry-After: 3 waits 3000 ms once, then succeeds, and logs the retry", async () => {
    const { seen, base } = await serve(
      sequence(reply(429, { error: "slow down" }, { "retry-after": "3" }), reply(200, { result: [1] })),
    );
    const { http, waits, warnings } = client();
    const res = await http.json<{ result: number[] }>({ url: `${base}/items` });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ result: [1] });
    expect(seen).toHaveLength(2);
    expect(waits).toEqual([3000]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({ status: 429, delayMs: 3000, attempt: 1 });
    expect(String(warnings[0]!.fields.reason)).toContain("rate limited (HTTP 429)");
  });

  it("honours Retry-After given as an HTTP-date", async () => {
    const at = new Date(Date.now() + 5000).toUTCString(); // whole seconds: 4–5 s ahead
    const { seen, base } = await serve(sequence(reply(503, "busy", { "retry-after": at }), reply(200)));
    const { http, waits } = client();
    await http.json({ url: base });
    expect(seen).toHaveLength(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(3000);
    expect(waits[0]).toBeLessThanOrEqual(5000);
  });

  it("500 then 502 then 200: two retries with growing backoff bounded by base·2^n", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const { seen, base } = await serve(sequence(reply(500, "oops"), reply(502, "bad gateway"), reply(200)));
    const { http, waits, warnings } = client({ baseDelayMs: 100 });
    const res = await http.json({ url: base });
    expect(res.body).toEqual({ ok: true });
    expect(seen).toHaveLength(3);
    expect(waits).toEqual([99, 199]);
    expect(warnings.map((w) => w.fields.status)).toEqual([500, 502]);
  });

  it("retries exhausted: SourceError naming the last status; jittered waits stay within base·2^n and maxDelayMs", async () => {
    const { seen, base } = await serve(reply(503, "Service Unavailable"));
    const { http, waits } = client({ maxRetries: 6, baseDelayMs: 100, maxDelayMs: 1000 });
    const err = await failure(http.json({ url: `${base}/x` }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err).not.toBeInstanceOf(AuthenticationError);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/after 7 attempts: HTTP 503: Service Unavailable/);
    expect(seen).toHaveLength(7);
    expect(waits).toHaveLength(6);
    waits.forEach((w, n) => {
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** n));
    });
  });

  it("maxRetries 0 makes a single attempt", async () => {
    const { seen, base } = await serve(reply(500));
    const { http, waits } = client({ maxRetries: 0 });
    const err = await failure(http.json({ url: base }));
    expect(err.message).toMatch(/after 1 attempts: HTTP 500/);
    expect(seen).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("GitHub 403 with x-ratelimit-remaining: 0 waits until x-ratelimit-reset, then succeeds", async () => {
    const reset = Math.floor(Date.now() / 1000) + 4;
    const limited = reply(
      403,
      { message: "API rate limit exceeded" },
      { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
    );
    const { seen, base } = await serve(sequence(limited, reply(200, [])));
    const { http, waits } = client();
    const res = await http.json({ url: `${base}/repos/o/r/pulls`, auth: bearerAuth("ghp_x") });
    expect(res.body).toEqual([]);
    expect(seen).toHaveLength(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(2500);
    expect(waits[0]).toBeLessThanOrEqual(4000);
  });

  it("GitHub secondary rate limit (403 with Retry-After) is retried after the asked wait", async () => {
    const { seen, base } = await serve(
      sequence(reply(403, { message: "secondary rate limit" }, { "retry-after": "60" }), reply(200)),
    );
    const { http, waits } = client();
    await http.json({ url: base });
    expect(seen).toHaveLength(2);
    expect(waits).toEqual([60_000]);
  });

  it("ratelimit-reset as delta seconds (IETF draft) on a 429", async () => {
    const { seen, base } = await serve(
      sequence(reply(429, "", { "ratelimit-remaining": "0", "ratelimit-reset": "7" }), reply(200)),
    );
    const { http, waits } = client();
    await http.json({ url: base });
    expect(seen).toHaveLength(2);
    expect(waits).toEqual([7000]);
  });

  it("a 5xx carrying a far x-ratelimit-reset with quota left uses backoff, not the reset", async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 3600);
    const { seen, base } = await serve(
      sequence(reply(502, "", { "x-ratelimit-remaining": "4999", "x-ratelimit-reset": reset }), reply(200)),
    );
    const { http, waits } = client({ baseDelayMs: 100 });
    await http.json({ url: base });
    expect(seen).toHaveLength(2);
    expect(waits[0]).toBeLessThanOrEqual(100);
  });

  it("Retry-After longer than maxDelayMs fails at once, saying how long the source asked for", async () => {
    const { seen, base } = await serve(reply(429, "", { "retry-after": "600" }));
    const { http, waits } = client({ maxDelayMs: 60_000 });
    const err = await failure(http.json({ url: base }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.status).toBe(429);
    expect(err.message).toMatch(/asked to wait 600 s/);
    expect(err.message).toMatch(/60 s/);
    expect(seen).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("a connection reset is retried", async () => {
    const { seen, base } = await serve(sequence((req) => req.socket.destroy(), reply(200, { fine: 1 })));
    const { http, waits, warnings } = client();
    const res = await http.json({ url: base });
    expect(res.body).toEqual({ fine: 1 });
    expect(seen).toHaveLength(2);
    expect(waits).toHaveLength(1);
    expect(String(warnings[0]!.fields.reason)).toMatch(/network error/);
  });

  it("a connection dropped mid-body is retried", async () => {
    const { seen, base } = await serve(
      sequence(
        (req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
          res.write('{"result": [');
          setTimeout(() => req.socket.destroy(), 10);
        },
        reply(200, { result: [] }),
      ),
    );
    const { http, waits } = client();
    const res = await http.json({ url: base });
    expect(res.body).toEqual({ result: [] });
    expect(seen).toHaveLength(2);
    expect(waits).toHaveLength(1);
  });

  it("a refused connection is retried, then fails naming ECONNREFUSED", async () => {
    // The first answer closes the connection and the server stops listening: later attempts are refused.
    const { server, seen, base } = await serve((_req, res) => {
      res.writeHead(503, { connection: "close" });
      res.end();
      server.close();
    });
    const { http, waits } = client({ maxRetries: 2 });
    const err = await failure(http.json({ url: base }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/after 3 attempts: network error: .*ECONNREFUSED/);
    expect(seen).toHaveLength(1);
    expect(waits).toHaveLength(2);
  });

  it("per-attempt timeout: a server that never answers is retried, then fails with a timeout message", async () => {
    const { seen, base } = await serve(() => {}); // never answers
    const { http, waits } = client({ timeoutMs: 200, maxRetries: 1 });
    const started = Date.now();
    const err = await failure(http.json({ url: base }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/after 2 attempts: timed out after 200 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    expect(seen).toHaveLength(2);
    expect(waits).toHaveLength(1);
  });

  it("the request's timeoutMs overrides the client's", async () => {
    const { seen, base } = await serve(() => {});
    const { http } = client({ timeoutMs: 30_000, maxRetries: 0 });
    const err = await failure(http.text({ url: base, timeoutMs: 100 }));
    expect(err.message).toMatch(/timed out after 100 ms/);
    expect(seen).toHaveLength(1);
  });
});

describe("cancellation", () => {
  it("aborting during a backoff sleep rejects at once with AbortError and sends nothing more", async () => {
    const ac = new AbortController();
    const { seen, base } = await serve((_req, res) => {
      reply(503, "", { "retry-after": "30" })(_req, res, 0);
      setTimeout(() => ac.abort(), 50);
    });
    // The real sleep: the 30 s wait must end when the signal aborts.
    const http = createHttpClient({ signal: ac.signal, log: recordingLogger().log });
    const started = Date.now();
    const err = await failure(http.json({ url: base }));
    expect(err.name).toBe("AbortError");
    // Well before the 30 s wait would have ended (a wide margin: a loaded machine is slow, not 20 s slow).
    expect(Date.now() - started).toBeLessThan(20_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(1);
  });

  it("aborting during a request stops it at once", async () => {
    const ac = new AbortController();
    const { seen, base } = await serve(() => {
      setTimeout(() => ac.abort(), 20);
    });
    const { http, waits } = client({ signal: ac.signal });
    const started = Date.now();
    const err = await failure(http.json({ url: base }));
    expect(err.name).toBe("AbortError");
    // Well before the client's 30 s per-attempt timeout would have ended it.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(seen).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("an already aborted signal sends no request; a custom abort reason is rethrown", async () => {
    const { seen, base } = await serve(reply(200));
    const reason = new Error("run time limit reached");
    const { http } = client({ signal: AbortSignal.abort(reason) });
    expect(await failure(http.json({ url: base }))).toBe(reason);
    expect(seen).toHaveLength(0);
  });
});

describe("errors that are not retried", () => {
  it("plain 403 is an AuthenticationError after exactly one request", async () => {
    const { seen, base } = await serve(reply(403, { message: "Resource not accessible by integration" }));
    const { http, waits } = client();
    const err = await failure(http.json({ url: `${base}/repos/o/r/pulls`, auth: bearerAuth("ghp_SECRET") }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.name).toBe("AuthenticationError");
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/forbidden \(HTTP 403\) at http:\/\/127\.0\.0\.1:\d+\/repos\/o\/r\/pulls/);
    expect(err.message).toMatch(/check the token's permissions/);
    expect(err.message).toContain("Resource not accessible by integration");
    expect(err.message).not.toContain("ghp_SECRET");
    expect(seen).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("401 is an AuthenticationError; neither the password nor secret query values are in the message", async () => {
    const { seen, base } = await serve(reply(401, { error: "bad credentials" }));
    const { http } = client();
    const err = await failure(
      http.json({
        url: `${base}/api/now/table/incident`,
        query: { api_key: "k-SECRET", sysparm_limit: 10 },
        auth: basicAuth("admin", "hunter2"),
      }),
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/^authentication failed \(HTTP 401\) at http:.*: check the credentials$/);
    expect(err.message).toContain("sysparm_limit=10");
    expect(err.message).toContain("api_key=***");
    expect(err.message).not.toContain("k-SECRET");
    expect(err.message).not.toContain("hunter2");
    expect(err.url).not.toContain("k-SECRET");
    expect(seen).toHaveLength(1);
  });

  it("404 is a SourceError with the status and the first 200 characters of the body", async () => {
    const body = `No such table: ${"x".repeat(400)}`;
    const { seen, base } = await serve(reply(404, body, { "content-type": "text/plain" }));
    const { http, waits } = client();
    const err = await failure(http.json({ url: `${base}/api/now/table/nope` }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err).not.toBeInstanceOf(AuthenticationError);
    expect(err.status).toBe(404);
    expect(err.message).toMatch(/HTTP 404 from http:.*\/api\/now\/table\/nope: No such table: x+…$/);
    expect(err.message).toContain(body.slice(0, 200));
    expect(err.message).not.toContain(body.slice(0, 201));
    expect(seen).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("credentials in the URL are refused without repeating them and without a request", async () => {
    const { seen, base } = await serve(reply(200));
    const { http } = client();
    const err = await failure(http.json({ url: base.replace("http://", "http://user:pa55@") }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).not.toContain("pa55");
    expect(seen).toHaveLength(0);
  });
});

describe("bodies", () => {
  it("an HTML page with 200 is a SourceError mentioning text/html", async () => {
    const page =
      "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in to continue</body></html>";
    const { seen, base } = await serve(reply(200, page, { "content-type": "text/html; charset=utf-8" }));
    const { http } = client();
    const err = await failure(http.json({ url: `${base}/api` }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.status).toBe(200);
    expect(err.message).toMatch(/^expected JSON from http:.*\/api, got text\/html: <!DOCTYPE html><html>/);
    expect(seen).toHaveLength(1);
  });

  it("truncated JSON is a SourceError 'invalid JSON', not retried", async () => {
    const { seen, base } = await serve(reply(200, '{"result": [', { "content-type": "application/json" }));
    const { http, waits } = client();
    const err = await failure(http.json({ url: base }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/^invalid JSON from http:\/\/127\.0\.0\.1:\d+\/: /);
    expect(seen).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it("JSON sent with another content type is still accepted", async () => {
    const { seen, base } = await serve(reply(200, '{"a":1}', { "content-type": "text/plain" }));
    const { http } = client();
    expect((await http.json({ url: base })).body).toEqual({ a: 1 });
    expect(seen).toHaveLength(1);
  });

  it("text() returns the body as a string", async () => {
    const csv = "observed_at,value\n2024-01-01,3.5\n";
    const { seen, base } = await serve(reply(200, csv, { "content-type": "text/csv" }));
    const { http } = client();
    const res = await http.text({ url: `${base}/data.csv` });
    expect(res.body).toBe(csv);
    expect(res.url).toBe(`${base}/data.csv`);
    expect(res.headers.get("content-type")).toBe("text/csv");
    expect(seen).toHaveLength(1);
  });
});

describe("requests", () => {
  it("basic and bearer auth, user agent and accept headers arrive as expected", async () => {
    const { seen, base } = await serve(reply(200));
    const { http } = client();
    await http.json({ url: base, auth: basicAuth("me@example.com/token", "pä:ss") });
    await http.json({ url: base, auth: bearerAuth("tok_123") });
    await createHttpClient({ userAgent: "uplift-test/1" }).text({ url: base });
    expect(seen).toHaveLength(3);
    expect(seen[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from("me@example.com/token:pä:ss", "utf8").toString("base64")}`,
    );
    expect(seen[0]!.headers["user-agent"]).toBe("uplift-collector");
    expect(seen[0]!.headers.accept).toBe("application/json");
    expect(seen[1]!.headers.authorization).toBe("Bearer tok_123");
    expect(seen[2]!.headers.authorization).toBeUndefined();
    expect(seen[2]!.headers["user-agent"]).toBe("uplift-test/1");
  });

  it("caller headers are sent and may replace accept", async () => {
    const { seen, base } = await serve(reply(200));
    const { http } = client();
    await http.json({
      url: base,
      headers: { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" },
    });
    expect(seen[0]!.headers.accept).toBe("application/vnd.github+json");
    expect(seen[0]!.headers["x-github-api-version"]).toBe("2022-11-28");
    expect(seen).toHaveLength(1);
  });

  it("query params are appended and encoded; undefined ones are left out", async () => {
    const { seen, base } = await serve(reply(200));
    const { http } = client();
    await http.json({
      url: `${base}/api/now/table/incident?sysparm_display_value=false`,
      query: {
        sysparm_query: "resolved_at>=2024-01-01 00:00:00^ORDERBYsys_updated_on",
        sysparm_limit: 100,
        exclude: true,
        sysparm_offset: undefined,
      },
    });
    expect(seen).toHaveLength(1);
    const got = new URL(seen[0]!.url, base);
    expect(got.pathname).toBe("/api/now/table/incident");
    expect([...got.searchParams]).toEqual([
      ["sysparm_display_value", "false"],
      ["sysparm_query", "resolved_at>=2024-01-01 00:00:00^ORDERBYsys_updated_on"],
      ["sysparm_limit", "100"],
      ["exclude", "true"],
    ]);
    expect(seen[0]!.url).not.toMatch(/[ ^]/);
  });

  it("POST sends a JSON body with content-type application/json", async () => {
    const { seen, base } = await serve(reply(200, { issues: [] }));
    const { http } = client();
    const res = await http.json({
      method: "POST",
      url: `${base}/search`,
      body: { jql: "project = X", max: 50 },
    });
    expect(res.body).toEqual({ issues: [] });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe("POST");
    expect(seen[0]!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(seen[0]!.body)).toEqual({ jql: "project = X", max: 50 });
  });
});

describe("header parsing", () => {
  it("parseRetryAfter reads delta-seconds and HTTP-dates", () => {
    const now = Date.parse("2024-05-01T10:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Wed, 01 May 2024 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 01 May 2024 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it("parseRateLimitReset reads epoch seconds (GitHub) and delta seconds (IETF draft)", () => {
    const now = Date.parse("2024-05-01T10:00:00Z");
    expect(parseRateLimitReset(String(now / 1000 + 42), now)).toBe(42_000);
    expect(parseRateLimitReset("42", now)).toBe(42_000);
    expect(parseRateLimitReset("", now)).toBeNull();
  });
});
