import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  EmbeddedPostgresError,
  handleLeftoverServer,
  isClusterPostgres,
  ownedPrivately,
  startEmbeddedPostgres,
} from "../../src/db/embedded-postgres.js";

// The embedded server's safety checks as root: folders it trusts, and processes it may signal.
const isRoot = process.getuid?.() === 0;
const uid = process.getuid?.() ?? 0;
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(mode = 0o755): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-root-"));
  fs.chmodSync(d, mode);
  dirs.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `exe` with `args`, resolved once the process runs (its /proc entry shows the new program). */
async function started(exe: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const child = spawn(exe, args, { stdio: "ignore", env: { ...process.env, ...env } });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  return child.pid!;
}

describe("ownedPrivately", () => {
  it("trusts a real folder of the user that others cannot write to, nothing else", () => {
    const d = tempDir(0o700);
    expect(ownedPrivately(d, uid)).toBe(true);
    fs.chmodSync(d, 0o777);
    expect(ownedPrivately(d, uid)).toBe(false);
    fs.chmodSync(d, 0o700);
    const link = path.join(tempDir(), "link");
    fs.symlinkSync(d, link);
    expect(ownedPrivately(link, uid)).toBe(false);
    expect(ownedPrivately(d, uid + 1)).toBe(false);
    expect(ownedPrivately(path.join(d, "missing"), uid)).toBe(false);
  });
});

describe("a stale postmaster.pid", () => {
  it("never leads to signalling a process that is not this cluster's postgres", async () => {
    const cluster = tempDir(0o700);
    const pidFile = path.join(cluster, "postmaster.pid");
    // A program named postgres (a copy of sleep), to pass the executable-name check on purpose.
    const fakePostgres = path.join(tempDir(), "postgres");
    fs.copyFileSync(fs.realpathSync("/bin/sleep"), fakePostgres);
    fs.chmodSync(fakePostgres, 0o755);
    const cases = [
      { what: "an unrelated process", pid: await started("/bin/sleep", ["300"]) },
      {
        what: "a postgres of another data directory",
        pid: await started(fakePostgres, ["300"], { PGDATA: tempDir() }),
      },
      {
        what: "a postgres of this directory run by another user",
        pid: await started(fakePostgres, ["301"], { PGDATA: cluster }),
        uid: uid + 1,
      },
    ];
    for (const c of cases) {
      fs.writeFileSync(pidFile, `${c.pid}\n${cluster}\n`);
      const lines: string[] = [];
      await handleLeftoverServer(cluster, c.uid ?? uid, (l) => lines.push(l));
      expect(alive(c.pid), c.what).toBe(true);
      expect(fs.existsSync(pidFile), `${c.what}: the stale file is removed`).toBe(false);
      expect(lines.join("\n")).toContain("not this cluster's postgres");
    }
    // The check does recognise a postgres of this directory run by the expected user.
    const own = await started(fakePostgres, ["302"], { PGDATA: cluster });
    expect(isClusterPostgres(own, cluster, uid)).toBe(true);
    expect(isClusterPostgres(own, tempDir(), uid)).toBe(false);
  });
});

describe("the cluster's folder", () => {
  it("as root behind a private folder: a stand-in made with mkdtemp, recorded, checked, and reused", async () => {
    const privateParent = tempDir(0o700);
    const dataDir = path.join(privateParent, "data");
    const lines: string[] = [];
    const pg = await startEmbeddedPostgres({ dataDir, log: (l) => lines.push(l) });
    await pg.stop();
    if (!isRoot) {
      // An ordinary user: unchanged, the cluster lives in the data folder.
      expect(pg.clusterDir).toBe(path.join(dataDir, "pg"));
      return;
    }
    const standIn = path.dirname(pg.clusterDir);
    dirs.push(standIn);
    expect(standIn).toMatch(/\/uplift-pg-[A-Za-z0-9]{6}$/); // a mkdtemp name, not one derived from the path
    expect(fs.statSync(standIn).mode & 0o777).toBe(0o711);
    expect(fs.statSync(standIn).uid).toBe(0);
    const cluster = fs.statSync(pg.clusterDir);
    expect(cluster.mode & 0o777).toBe(0o700);
    expect(cluster.uid).not.toBe(0);
    expect(fs.readFileSync(path.join(dataDir, "WHERE-IS-THE-DATABASE.txt"), "utf8")).toContain(
      `cluster: ${pg.clusterDir}`,
    );
    // The next start finds the same cluster through the note.
    const again = await startEmbeddedPostgres({ dataDir });
    await again.stop();
    expect(again.clusterDir).toBe(pg.clusterDir);
    // A stand-in whose parent others may write to is refused, not used.
    fs.chmodSync(standIn, 0o777);
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(EmbeddedPostgresError);
    fs.chmodSync(standIn, 0o711);
  });

  it("as root, refuses a data folder that others may write to", async () => {
    const open = tempDir(0o777);
    if (!isRoot) return;
    await expect(startEmbeddedPostgres({ dataDir: open })).rejects.toThrow(/must be a folder owned by root/);
  });
});
