import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registry } from "../../collectors/index.js";
import { type App, startApp } from "../../src/app.js";
import { KEY_CACHE_MS } from "../../src/auth/authenticate.js";
import { readEnv } from "../../src/config/env.js";
import { createLogger } from "../../src/log.js";
import { PROJECT_ROOT } from "../../src/paths.js";
import { writeConfig } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { postgresProcessesUsing, spawnUplift } from "../helpers/process.js";
import { until } from "./helpers.js";

// `npm run keys`: create (the secret printed once, on stdout alone), list, revoke; against DATABASE_URL
// and against the embedded database of UPLIFT_DATA_DIR while a server is running on it.

function keys(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.VITEST;
  const tsx = pathToFileURL(path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", tsx, path.join(PROJECT_ROOT, "src", "cli", "keys.ts"), ...args],
      {
        env: { ...base, TSX_TSCONFIG_PATH: path.join(PROJECT_ROOT, "tsconfig.json"), ...env },
        cwd: PROJECT_ROOT,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const CONFIG = `
metrics: []
projects:
  - { slug: alpha, name: Alpha }
`;

async function status(url: string, secret: string | null): Promise<number> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ query: "{ projects { slug } }" }),
  });
  return res.status;
}

describe("npm run keys with DATABASE_URL", () => {
  let db: TestDatabase;
  let app: App;
  beforeAll(async () => {
    db = await createTestDatabase();
    const env = readEnv({
      DATABASE_URL: db.url,
      PORT: "0",
      UPLIFT_CONFIG: writeConfig(CONFIG),
      UPLIFT_SCHEDULER: "off",
    });
    app = await startApp(env, createLogger({ test: true }), { registry });
  });
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it("creates a key whose secret is printed once, lists it without the secret, and revokes it", async () => {
    const env = { DATABASE_URL: db.url };
    const created = await keys(["create", "bi-tool", "--role", "reader", "--project", "alpha"], env);
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^upl_[A-Za-z0-9]{40,}$/);
    expect(created.stderr).toContain('created API key "bi-tool" (reader, projects alpha)');

    // The running server (open until now) requires a key within KEY_CACHE_MS, and accepts this one.
    await until(async () => (await status(app.url, null)) === 401, "auth to turn on", KEY_CACHE_MS * 4);
    expect(await status(app.url, secret)).toBe(200);

    const listed = await keys(["list"], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^NAME\s+ROLE\s+PROJECTS\s+CREATED\s+LAST USED\nbi-tool\s+reader\s+alpha\s+\d{4}-/,
    );
    expect(listed.stdout + listed.stderr).not.toContain(secret);

    // A second key keeps auth on after the revocation (with no key and no token, 127.0.0.1 is open again).
    expect((await keys(["create", "keeper", "--role", "writer"], env)).code).toBe(0);
    const revoked = await keys(["revoke", "bi-tool"], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stderr).toContain('revoked API key "bi-tool"');
    // Revoked in another process: refused by the server within KEY_CACHE_MS.
    await until(
      async () => (await status(app.url, secret)) === 401,
      "the revocation to apply",
      KEY_CACHE_MS * 4,
    );
    expect((await keys(["list"], env)).stdout).toMatch(
      /^NAME +ROLE +PROJECTS +CREATED +LAST USED\nkeeper +writer +\* +\S+ +never\n$/,
    );
  });

  it("refuses bad input with a message and exit 2, and an unknown name to revoke with exit 1", async () => {
    const env = { DATABASE_URL: db.url };
    const badRole = await keys(["create", "x", "--role", "owner"], env);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role: expected reader, writer or admin, got "owner"');
    const unknownProject = await keys(["create", "x", "--role", "reader", "--project", "nope"], env);
    expect(unknownProject.code).toBe(2);
    expect(unknownProject.stderr).toContain('input.projects[0]: unknown project "nope"');
    expect(unknownProject.stdout).toBe("");
    const missing = await keys(["revoke", "never-was"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no API key named "never-was"');
    expect((await keys([], env)).code).toBe(2);
  });
});

describe("npm run keys next to a running server on the embedded database", () => {
  it("connects to the running cluster, and the server requires the new key", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-keys-"));
    fs.chmodSync(dir, 0o755); // the postgres user must reach it when tests run as root
    fs.writeFileSync(path.join(dir, "uplift.yaml"), CONFIG);
    const p = spawnUplift({ UPLIFT_DATA_DIR: path.join(dir, "data") }, dir);
    try {
      const port = await p.ready;
      const url = `http://127.0.0.1:${port}`;
      expect(await status(url, null)).toBe(200);
      const created = await keys(["create", "ops", "--role", "admin"], {
        UPLIFT_DATA_DIR: path.join(dir, "data"),
      });
      expect(created.stderr).not.toContain("cannot");
      expect(created.code).toBe(0);
      const secret = created.stdout.trim();
      await until(async () => (await status(url, null)) === 401, "auth to turn on", KEY_CACHE_MS * 4);
      expect(await status(url, secret)).toBe(200);
      p.child.kill("SIGTERM");
      expect((await p.exited).code).toBe(0);
      // With no server running, the command starts the embedded database itself, and stops it again.
      const listed = await keys(["list"], { UPLIFT_DATA_DIR: path.join(dir, "data") });
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/\nops +admin +\* /);
      expect(postgresProcessesUsing(dir)).toEqual([]);
    } finally {
      p.child.kill("SIGTERM");
      await p.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
