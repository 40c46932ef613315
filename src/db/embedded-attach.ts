import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// Finding the embedded PostgreSQL that a running Uplift process (`npm start`) serves from this data
// folder, so that a command-line tool can use the same database instead of starting a second server
// on the same cluster (which PostgreSQL refuses) or an empty one elsewhere.

export interface RunningEmbedded {
  /** postgres:// URL of Uplift's database on that server. */
  url: string;
  /** The postgres server's pid. */
  pid: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The running embedded server of `dataDir`, or null when none runs (or its password is not readable). */
export function runningEmbedded(dataDir: string): RunningEmbedded | null {
  const wanted = path.join(path.resolve(dataDir), "pg");
  // Where embedded-postgres.ts puts the cluster when the postgres user cannot reach `wanted`.
  const alt = path.join(
    "/var/tmp",
    `uplift-pg-${createHash("sha256").update(wanted).digest("hex").slice(0, 16)}`,
  );
  for (const dir of [wanted, alt]) {
    let lines: string[];
    try {
      lines = fs.readFileSync(path.join(dir, "postmaster.pid"), "utf8").split("\n");
    } catch {
      continue;
    }
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid) || !Number.isInteger(port) || port <= 0) continue;
    let password: string;
    try {
      password = fs.readFileSync(path.join(path.resolve(dataDir), "pg-password"), "utf8").trim();
    } catch {
      return null;
    }
    return { url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/uplift`, pid };
  }
  return null;
}
