import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { registry as builtIn } from "../../collectors/index.js";
import { type App, type AppOptions, startApp } from "../../src/app.js";
import { readEnv } from "../../src/config/env.js";
import { createLogger } from "../../src/log.js";
import { createTestDatabase, type TestDatabase } from "./db.js";

export interface TestApp {
  app: App;
  db: TestDatabase;
  url: string;
  /** POST /graphql; returns the parsed body and the HTTP status. */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ status: number; body: { data?: T; errors?: any[] } }>;
  stop(): Promise<void>;
}

/** Writes YAML to a temporary file and returns its path. */
export function writeConfig(yaml: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-cfg-"));
  const file = path.join(dir, "uplift.yaml");
  fs.writeFileSync(file, yaml);
  return file;
}

/** Starts the whole app in-process on a fresh database and a free port. */
export async function startTestApp(
  opts: {
    config?: string;
    env?: Record<string, string>;
    /** Sent as `Authorization: Bearer <token>` by gql(); start with auth on by giving UPLIFT_ADMIN_TOKEN in env. */
    token?: string;
  } & Partial<AppOptions> = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const configFile = writeConfig(opts.config ?? "metrics: []\n");
  const env = readEnv({
    DATABASE_URL: db.url,
    PORT: "0",
    HOST: "127.0.0.1",
    UPLIFT_CONFIG: configFile,
    UPLIFT_SCHEDULER: "off",
    ...opts.env,
  });
  const app = await startApp(env, createLogger({ test: true }), {
    registry: opts.registry ?? builtIn,
    collectorOptions: opts.collectorOptions,
  });
  const url = app.url;
  return {
    app,
    db,
    url,
    async gql(query, variables) {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as any };
    },
    async stop() {
      await app.stop();
      await db.drop();
    },
  };
}
