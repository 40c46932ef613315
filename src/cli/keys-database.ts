import fs from "node:fs";
import path from "node:path";
import type { Env } from "../config/env.js";
import { createDataSource } from "../db/data-source.js";
import { type Database, openDatabase } from "../db/database.js";
import { runMigrations } from "../db/migrate.js";
import type { Logger } from "../log.js";

// The database `npm run keys` works on: DATABASE_URL; else the embedded cluster of UPLIFT_DATA_DIR. When a
// server already runs that cluster, the CLI connects to it (port from postmaster.pid, password from the
// data folder) instead of starting a second postgres on the same files, which PostgreSQL would refuse.

/** Where the embedded cluster of `dataDir` lives (see clusterLocation in src/db/embedded-postgres.ts). */
function clusterDirs(dataDir: string): string[] {
  const dirs = [path.join(dataDir, "pg")];
  try {
    const note = fs.readFileSync(path.join(dataDir, "WHERE-IS-THE-DATABASE.txt"), "utf8");
    const m = /lives in (\S+?)\.?\s*$/m.exec(note);
    if (m) dirs.push(m[1]);
  } catch {
    // no relocated cluster
  }
  return dirs;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The port of a running postgres on this cluster, from its postmaster.pid (line 4), or null. */
export function runningClusterPort(dataDir: string): number | null {
  for (const dir of clusterDirs(dataDir)) {
    let lines: string[];
    try {
      lines = fs.readFileSync(path.join(dir, "postmaster.pid"), "utf8").split("\n");
    } catch {
      continue;
    }
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid) && Number.isInteger(port) && port > 0) return port;
  }
  return null;
}

export async function openKeysDatabase(env: Env, log: Logger): Promise<Database> {
  const port = env.databaseUrl ? null : runningClusterPort(env.dataDir);
  if (port === null) return openDatabase(env, log);
  const password = fs.readFileSync(path.join(env.dataDir, "pg-password"), "utf8").trim();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/uplift`;
  const ds = createDataSource({ url, poolSize: 2, applicationName: "uplift-keys" });
  await ds.initialize();
  try {
    await runMigrations(ds);
  } catch (e) {
    await ds.destroy();
    throw e;
  }
  return {
    ds,
    url,
    embedded: null,
    close: () => ds.destroy(),
  };
}
