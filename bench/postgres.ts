// The benchmark's PostgreSQL: DATABASE_URL when set, else an embedded server in a temporary folder, started
// once per `npm run bench`. Each benchmark gets a fresh database of its own, dropped at the end (embedded: the
// whole cluster is removed when the bench stops).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../src/db/embedded-postgres.js";

export interface BenchDatabase {
  /** URL of the fresh database. */
  url: string;
  name: string;
  embedded: boolean;
  /** The embedded cluster's folder (null with DATABASE_URL). */
  clusterDir: string | null;
  serverVersion: string;
  settings: Record<string, string>;
  /** Drops the database. */
  stop(): Promise<void>;
}

export interface BenchCluster {
  embedded: boolean;
  clusterDir: string | null;
  serverVersion: string;
  settings: Record<string, string>;
  /** A new, empty database on the cluster. */
  database(): Promise<BenchDatabase>;
  /** Drops every database it created; stops and removes an embedded cluster. */
  stop(): Promise<void>;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const WANTED_SETTINGS = [
  "shared_buffers",
  "work_mem",
  "max_wal_size",
  "synchronous_commit",
  "fsync",
  "max_parallel_workers_per_gather",
  "jit",
];

export async function openBenchCluster(log: (l: string) => void): Promise<BenchCluster> {
  let embedded: EmbeddedPostgres | null = null;
  let dir: string | null = null;
  let adminUrl = process.env.DATABASE_URL?.trim() || "";
  if (!adminUrl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-"));
    fs.chmodSync(dir, 0o755); // the postgres user must reach it when we run as root
    try {
      embedded = await startEmbeddedPostgres({ dataDir: dir, log });
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    adminUrl = embedded.url;
  }
  const admin = new pg.Client(adminUrl);
  const created = new Set<string>();
  const drop = async (name: string) => {
    if (!created.delete(name)) return;
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch {
      // the cluster goes away below anyway (embedded), or the connection is gone
    }
  };
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      for (const name of [...created]) await drop(name);
      await admin.end().catch(() => undefined);
      await embedded?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await admin.connect();
    const version = (await admin.query(`SHOW server_version`)).rows[0].server_version as string;
    const settings: Record<string, string> = {};
    const rows = (
      await admin.query(`SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)`, [WANTED_SETTINGS])
    ).rows as { name: string; setting: string; unit: string | null }[];
    for (const r of rows) settings[r.name] = pretty(r.setting, r.unit);
    return {
      embedded: embedded !== null,
      clusterDir: embedded?.clusterDir ?? null,
      serverVersion: version,
      settings,
      async database() {
        const name = `uplift_bench_${randomBytes(5).toString("hex")}`;
        await admin.query(`CREATE DATABASE ${name}`);
        created.add(name);
        return {
          url: withDatabase(adminUrl, name),
          name,
          embedded: embedded !== null,
          clusterDir: embedded?.clusterDir ?? null,
          serverVersion: version,
          settings,
          stop: () => drop(name),
        };
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function pretty(setting: string, unit: string | null): string {
  const n = Number(setting);
  if (unit === "8kB") return `${(n * 8) / 1024} MB`;
  if (unit === "kB") return n >= 1024 ? `${n / 1024} MB` : `${n} kB`;
  if (unit === "MB") return n >= 1024 ? `${n / 1024} GB` : `${n} MB`;
  return unit ? `${setting} ${unit}` : setting;
}
