// CPU time, as well as wall time: on a shared 2-core machine other processes' load moves wall-clock figures
// a lot, while the CPU each path burns per row barely moves. Node: process.cpuUsage() (all its threads).
// PostgreSQL (embedded only: its processes are local): every process of the cluster from /proc/<pid>/schedstat
// (nanoseconds on the CPU), plus the postmaster's reaped children (autovacuum workers, ended backends).
import fs from "node:fs";
import path from "node:path";

export interface CpuSnapshot {
  nodeMicros: number;
  /** null when the server's processes are not visible (DATABASE_URL). */
  pgNanos: number | null;
}

export interface CpuDelta {
  nodeMs: number;
  pgMs: number | null;
  /** Node + PostgreSQL (PostgreSQL counted as 0 when not visible). */
  totalMs: number;
}

const CLK_TCK = 100; // USER_HZ on Linux

function readStat(pid: number): { ppid: number; cutime: number; cstime: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // Fields after the name: state(3) ppid(4) … cutime(16) cstime(17), counted from 1 in proc(5).
    return { ppid: Number(f[1]), cutime: Number(f[13]), cstime: Number(f[14]) };
  } catch {
    return null;
  }
}

function schedNanos(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return 0; // exited between the listing and the read: its time shows up in the parent's cutime
  }
}

export class CpuMeter {
  private readonly postmaster: number | null;

  constructor(clusterDir: string | null) {
    this.postmaster = null;
    if (!clusterDir || !fs.existsSync("/proc/self/schedstat")) return;
    try {
      const pid = Number(fs.readFileSync(path.join(clusterDir, "postmaster.pid"), "utf8").split("\n")[0]);
      if (Number.isInteger(pid) && pid > 0 && readStat(pid)) this.postmaster = pid;
    } catch {
      // not visible: PostgreSQL CPU is reported as unknown
    }
  }

  get seesPostgres(): boolean {
    return this.postmaster !== null;
  }

  snapshot(): CpuSnapshot {
    let pgNanos: number | null = null;
    if (this.postmaster !== null) {
      const pm = readStat(this.postmaster);
      pgNanos = pm ? ((pm.cutime + pm.cstime) * 1e9) / CLK_TCK + schedNanos(this.postmaster) : 0;
      for (const entry of fs.readdirSync("/proc")) {
        const pid = Number(entry);
        if (!Number.isInteger(pid) || pid === this.postmaster) continue;
        if (readStat(pid)?.ppid === this.postmaster) pgNanos += schedNanos(pid);
      }
    }
    const u = process.cpuUsage();
    return { nodeMicros: u.user + u.system, pgNanos };
  }

  static delta(a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
    const nodeMs = (b.nodeMicros - a.nodeMicros) / 1000;
    const pgMs = a.pgNanos === null || b.pgNanos === null ? null : (b.pgNanos - a.pgNanos) / 1e6;
    return { nodeMs, pgMs, totalMs: nodeMs + (pgMs ?? 0) };
  }
}

/** 1-minute load average (the machine may be shared). */
export function loadAverage(): number {
  try {
    return Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  } catch {
    return Number.NaN;
  }
}
