// The benchmark's PostgreSQL: DATABASE_URL when set, else an embedded server in a temporary folder;
// either way a fresh database that is dropped (embedded: the whole cluster removed) at the end.
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
  stop(): Promise<void>;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function openBenchDatabase(log: (l: string) => void): Promise<BenchDatabase> {
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
  const name = `uplift_bench_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client(adminUrl);
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch {
        // the cluster goes away below anyway (embedded), or the database was never created
      }
      await admin.end().catch(() => undefined);
      await embedded?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const version = (await admin.query(`SHOW server_version`)).rows[0].server_version as string;
    const settings: Record<string, string> = {};
    const wanted = [
      "shared_buffers",
      "work_mem",
      "max_wal_size",
      "synchronous_commit",
      "fsync",
      "max_parallel_workers_per_gather",
      "jit",
    ];
    const rows = (
      await admin.query(`SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)`, [wanted])
    ).rows as { name: string; setting: string; unit: string | null }[];
    for (const r of rows) settings[r.name] = pretty(r.setting, r.unit);
    return {
      url: withDatabase(adminUrl, name),
      name,
      embedded: embedded !== null,
      clusterDir: embedded?.clusterDir ?? null,
      serverVersion: version,
      settings,
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
