import http from "node:http";
import { describe, expect, it } from "vitest";
import { authRequired, isLoopbackHost, readAuthSettings } from "../../src/auth/mode.js";
import { EnvError } from "../../src/config/env.js";
import { startTestApp } from "../helpers/app.js";
import { createTestDatabase } from "../helpers/db.js";
import { spawnUplift } from "../helpers/process.js";
import { ADMIN_TOKEN, startAuthApp } from "./helpers.js";

// When auth is on, and the loopback-only open mode: a server reachable from the network never starts
// without credentials unless UPLIFT_AUTH=off says that a proxy in front authenticates.

describe("settings", () => {
  it("loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", "128.0.0.1"]) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });

  it("auth is on with the token, with any key, or with UPLIFT_AUTH=on; else off on loopback only", () => {
    const s = (env: Record<string, string>, host = "127.0.0.1") => readAuthSettings(env, host);
    expect(authRequired(s({}), false)).toBe(false);
    expect(authRequired(s({}), true)).toBe(true);
    expect(authRequired(s({ UPLIFT_ADMIN_TOKEN: ADMIN_TOKEN }), false)).toBe(true);
    expect(authRequired(s({ UPLIFT_AUTH: "on" }), false)).toBe(true);
    expect(authRequired(s({ UPLIFT_AUTH: "off" }, "0.0.0.0"), false)).toBe(false);
    // A server on a non-loopback HOST (started because a key existed) stays closed when the last key goes.
    expect(authRequired(s({}, "0.0.0.0"), false)).toBe(true);
    // A key makes auth on even behind a proxy (UPLIFT_AUTH=off): the contract's rule is literal.
    expect(authRequired(s({ UPLIFT_AUTH: "off" }, "0.0.0.0"), true)).toBe(true);
  });

  it("refuses a short admin token, a contradiction, and a bad origin list, naming the variable", () => {
    expect(() => readAuthSettings({ UPLIFT_ADMIN_TOKEN: "x".repeat(31) }, "127.0.0.1")).toThrow(
      /UPLIFT_ADMIN_TOKEN: must be at least 32 characters \(it has 31\)/,
    );
    expect(() =>
      readAuthSettings({ UPLIFT_ADMIN_TOKEN: ADMIN_TOKEN, UPLIFT_AUTH: "off" }, "127.0.0.1"),
    ).toThrow(EnvError);
    expect(() => readAuthSettings({ UPLIFT_AUTH: "maybe" }, "127.0.0.1")).toThrow(/UPLIFT_AUTH/);
    expect(() => readAuthSettings({ UPLIFT_ALLOWED_ORIGINS: "https://a.example/path" }, "127.0.0.1")).toThrow(
      /UPLIFT_ALLOWED_ORIGINS/,
    );
    expect(
      readAuthSettings({ UPLIFT_ALLOWED_ORIGINS: "HTTPS://A.example:443, http://b:8080" }, "::1"),
    ).toMatchObject({
      allowedOrigins: ["https://a.example", "http://b:8080"],
      loopback: true,
    });
  });
});

describe("start-up", () => {
  it("HOST=0.0.0.0 without credentials refuses to start, naming UPLIFT_ADMIN_TOKEN (exit 1)", async () => {
    const db = await createTestDatabase();
    try {
      const p = spawnUplift({ DATABASE_URL: db.url, HOST: "0.0.0.0" });
      expect((await p.exited).code).toBe(1);
      expect(p.output()).toMatch(
        /cannot start: HOST=0\.0\.0\.0 is not a loopback address .*UPLIFT_ADMIN_TOKEN/,
      );
      expect(p.output()).not.toContain("Uplift is serving");
    } finally {
      await db.drop();
    }
  });

  it("HOST=0.0.0.0 starts with UPLIFT_AUTH=off (open, no Host check: a proxy authenticates)", async () => {
    const t = await startTestApp({ env: { HOST: "0.0.0.0", UPLIFT_AUTH: "off" } });
    try {
      // The proxy forwards its own host name: no Host check here (it would refuse every request).
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port: t.app.port,
            method: "POST",
            path: "/graphql",
            headers: { "content-type": "application/json", Host: "uplift.internal" },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ query: "{ metrics { key } }" }));
      });
      expect(status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it("HOST=0.0.0.0 starts with a token, and then refuses requests without a key", async () => {
    const t = await startAuthApp("metrics: []\n", { HOST: "0.0.0.0" });
    try {
      const res = await t.as(null, "{ metrics { key } }");
      expect(res.status).toBe(401);
    } finally {
      await t.stop();
    }
  });
});

describe("open on loopback", () => {
  it("serves without credentials until the first key is created, then requires one", async () => {
    const t = await startTestApp();
    try {
      const open = await t.gql(
        `mutation { createApiKey(input: { name: "first", role: ADMIN }) { secret key { name } } }`,
      );
      expect(open.body.errors).toBeUndefined();
      const secret = open.body.data.createApiKey.secret;
      const without = await t.gql("{ metrics { key } }");
      expect(without.status).toBe(401);
      const withKey = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: 'mutation { revokeApiKey(name: "first") }' }),
      });
      expect(await withKey.json()).toEqual({ data: { revokeApiKey: true } });
      // No key left and no token: open again (on a loopback HOST only).
      expect((await t.gql("{ metrics { key } }")).status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});
