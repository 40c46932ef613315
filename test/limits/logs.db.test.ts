import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../src/paths.js";
import { writeConfig } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { spawnUplift, type UpliftProcess } from "../helpers/process.js";

// What an operator reads on stderr: JSON lines, a request id, one access line per request, no secrets.
const SECRET = `upl_${"S3cr3tK3y".repeat(5)}`;

function jsonLines(out: string): any[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

async function until(cond: () => boolean) {
  while (!cond()) await new Promise((r) => setTimeout(r, 50));
}

describe("the server's logs", () => {
  let db: TestDatabase;
  let p: UpliftProcess;
  let port: number;
  beforeAll(async () => {
    db = await createTestDatabase();
    p = spawnUplift({ DATABASE_URL: db.url, UPLIFT_CONFIG: writeConfig("metrics: []\n") });
    port = await p.ready;
  });
  afterAll(async () => {
    p?.child.kill("SIGTERM");
    await p?.exited;
    await db?.drop();
  });

  it("writes one JSON access line per request with the request id, route, status and duration, never the secret", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${SECRET}`,
        "x-request-id": "req-log-1",
      },
      body: JSON.stringify({ query: "{ metrics { key } }" }),
    });
    expect(res.headers.get("x-request-id")).toBe("req-log-1");
    await fetch(`http://127.0.0.1:${port}/healthz?token=${SECRET}`, {
      headers: { "x-request-id": "req-log-2" },
    });
    await until(() => p.output().includes('"requestId":"req-log-2"'));

    const lines = jsonLines(p.output());
    expect(lines.length).toBeGreaterThan(0);
    const access = lines.filter((l) => l.msg === "request" && l.requestId === "req-log-1");
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ level: "info", method: "POST", route: "/graphql", status: 200 });
    expect(typeof access[0].durationMs).toBe("number");
    expect(typeof access[0].time).toBe("string");
    const health = lines.find((l) => l.msg === "request" && l.requestId === "req-log-2");
    expect(health).toMatchObject({ route: "/healthz", status: 200 });
    expect(p.output()).not.toContain(SECRET);
    expect(p.output()).not.toContain("S3cr3tK3y");
  });
});

/** Runs a script (the body, after `import { log, logContext }` from src/log.ts) at LOG_LEVEL=info; its stderr. */
function logsOf(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-log-"));
  const script = path.join(dir, "log.ts");
  const logTs = pathToFileURL(path.join(PROJECT_ROOT, "src", "log.ts")).href;
  fs.writeFileSync(script, `import { log, logContext } from ${JSON.stringify(logTs)};\n${body}`);
  const tsx = pathToFileURL(path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" };
  delete env.VITEST;
  const r = spawnSync(process.execPath, ["--import", tsx, script], { env, encoding: "utf8" });
  fs.rmSync(dir, { recursive: true, force: true });
  expect(r.status).toBe(0);
  return r.stderr;
}

describe("redaction", () => {
  it("removes secrets and connection-string passwords from logged fields, by configuration", () => {
    const stderr = logsOf(`log.info("fields", {
  authorization: "Bearer ${SECRET}-1",
  headers: { authorization: "Bearer ${SECRET}-2", cookie: "sid=${SECRET}-3" },
  password: "${SECRET}-4",
  databaseUrl: "postgres://uplift:${SECRET}-5@db.example:5432/uplift",
  nested: { deeper: { token: "${SECRET}-6" } },
  apiKey: "${SECRET}-7",
  url: "https://example.com/api",
});
log.child({ collector: "x" }).warn("child", { secret: "${SECRET}-8" });
`);
    expect(stderr).not.toContain("S3cr3tK3y");
    const [first, second] = jsonLines(stderr);
    expect(first.msg).toBe("fields");
    expect(first.authorization).toBe("[redacted]");
    expect(first.headers).toEqual({ authorization: "[redacted]", cookie: "[redacted]" });
    expect(first.databaseUrl).toBe("postgres://uplift:[redacted]@db.example:5432/uplift");
    expect(first.nested.deeper.token).toBe("[redacted]");
    expect(first.url).toBe("https://example.com/api");
    expect(second).toMatchObject({ msg: "child", level: "warn", collector: "x", secret: "[redacted]" });
  });
});

describe("the request's log context", () => {
  it("adds the request's fields to every line, and one line's fields never to the next", () => {
    const stderr = logsOf(`logContext.run({ requestId: "ctx-1" }, () => {
  log.warn("source request failed, retrying", { status: 429, attempt: 1, delayMs: 1000 });
  log.warn("record rejected", { reason: "not a date" });
});
`);
    const [retry, rejected] = jsonLines(stderr);
    expect(retry).toMatchObject({ requestId: "ctx-1", status: 429, attempt: 1, delayMs: 1000 });
    expect(rejected).toMatchObject({ requestId: "ctx-1", reason: "not a date" });
    for (const leaked of ["status", "attempt", "delayMs"]) expect(rejected).not.toHaveProperty(leaked);
  });
});
