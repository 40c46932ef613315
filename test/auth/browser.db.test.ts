import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { ADMIN_TOKEN, type AuthApp, startAuthApp } from "./helpers.js";

// Browser safety: a WebSocket upgrade from a foreign Origin is refused with HTTP 403 whatever the auth mode;
// with auth off, a Host header that is not a loopback name is refused with 403 (DNS rebinding).

/** Sends a raw WebSocket upgrade with these headers; the HTTP status of the answer (101 = accepted). */
function upgrade(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/graphql",
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        "Sec-WebSocket-Protocol": "graphql-transport-ws",
        ...headers,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A plain HTTP request with a chosen Host header; status and parsed body. */
function get(port: number, path: string, host: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, headers: { Host: host, "apollo-require-preflight": "1" } },
      (res) => {
        let text = "";
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const Q = "/graphql?query=%7Bmetrics%7Bkey%7D%7D";

describe("auth off (the default on 127.0.0.1)", () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp();
    port = t.app.port;
  });
  afterAll(async () => t?.stop());

  it("answers loopback Host names, with or without the port", async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      "localhost",
      "LOCALHOST",
    ]) {
      const res = await get(port, Q, host);
      expect(res.status, host).toBe(200);
    }
  });

  it("refuses any other Host with 403 (DNS rebinding), over HTTP and on WebSocket upgrades", async () => {
    for (const host of [
      `evil.example:${port}`,
      "evil.example",
      `127.0.0.1.evil.example:${port}`,
      `10.0.0.5:${port}`,
    ]) {
      const res = await get(port, Q, host);
      expect(res.status, host).toBe(403);
      expect(res.body.errors[0].extensions.code).toBe("FORBIDDEN");
      expect(await upgrade(port, { Host: host, Origin: `http://${host}` })).toBe(403);
    }
    // The health probes are not refused.
    expect((await get(port, "/healthz", "evil.example")).status).toBe(200);
  });

  it("refuses a WebSocket from a foreign Origin (403) and accepts its own origin or none", async () => {
    const host = `127.0.0.1:${port}`;
    expect(await upgrade(port, { Host: host, Origin: "https://evil.example" })).toBe(403);
    expect(await upgrade(port, { Host: host, Origin: "null" })).toBe(403);
    expect(await upgrade(port, { Host: host, Origin: `http://localhost:${port}` })).toBe(403); // another origin
    expect(await upgrade(port, { Host: host, Origin: `http://${host}` })).toBe(101);
    expect(await upgrade(port, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).toBe(101);
    expect(await upgrade(port, { Host: host })).toBe(101); // not a browser
  });
});

describe("auth on, with UPLIFT_ALLOWED_ORIGINS", () => {
  let t: AuthApp;
  beforeAll(async () => {
    t = await startAuthApp("metrics: []\n", {
      UPLIFT_ALLOWED_ORIGINS: "https://bi.example.com, http://grafana.local:3000",
    });
  });
  afterAll(async () => t?.stop());

  it("accepts the listed origins and refuses others", async () => {
    const port = t.app.port;
    const host = `uplift.example.com`;
    expect(await upgrade(port, { Host: host, Origin: "https://bi.example.com" })).toBe(101);
    expect(await upgrade(port, { Host: host, Origin: "http://grafana.local:3000" })).toBe(101);
    expect(await upgrade(port, { Host: host, Origin: "https://uplift.example.com" })).toBe(101); // own
    expect(await upgrade(port, { Host: host, Origin: "https://evil.example" })).toBe(403);
    expect(await upgrade(port, { Host: host, Origin: "http://bi.example.com" })).toBe(403); // other scheme
  });

  it("does not check the Host when credentials are required", async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: t.app.port,
          path: Q,
          headers: {
            Host: "uplift.example.com",
            Authorization: `Bearer ${ADMIN_TOKEN}`,
            "apollo-require-preflight": "1",
          },
        },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(res).toBe(200);
  });
});
