// Helpers shared by the benchmarks: progress lines, an in-process app on a benchmark database, memory
// sampling, child processes that run TypeScript, and the shape of a RESULTS.md section.
import { type ChildProcess, fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PerformanceObserver, constants as perfConstants } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { registry as builtIns } from "../collectors/index.js";
import { type App, type AppOptions, startApp } from "../src/app.js";
import { readEnv } from "../src/config/env.js";
import { createLogger } from "../src/log.js";
import { PROJECT_ROOT } from "../src/paths.js";
import { type CpuDelta, CpuMeter } from "./cpu.js";

export const HERE = path.dirname(fileURLToPath(import.meta.url));

export const say = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function postJson(url: string, body: string): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const json = (await res.json()) as any;
  if (res.status !== 200 || json.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
  return json.data;
}

/** What every benchmark gets from bench/main.ts. */
export interface BenchContext {
  /** A fresh database of its own. */
  dbUrl: string;
  /** Node + PostgreSQL CPU (PostgreSQL only when embedded). */
  cpu: CpuMeter;
}

/** One benchmark's part of bench/RESULTS.md (everything above its notes, which are kept across runs). */
export interface Section {
  name: string;
  title: string;
  /** One line for the index at the top of RESULTS.md: the headline figures and whether targets are met. */
  summary: string;
  /** Markdown: set-up, results, ratios. */
  body: string;
  /** 1-minute load averages seen while it ran. */
  loads: number[];
  seconds: number;
}

export interface BenchApp {
  app: App;
  graphqlUrl: string;
  stop(): Promise<void>;
}

/** Uplift in this process (`startApp`, scheduler off), on `dbUrl`, with `config` as its uplift.yaml. */
export async function startBenchApp(
  dbUrl: string,
  config: string,
  opts: Partial<AppOptions> & { env?: Record<string, string> } = {},
): Promise<BenchApp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-cfg-"));
  const file = path.join(dir, "uplift.yaml");
  fs.writeFileSync(file, config);
  try {
    const app = await startApp(
      readEnv({
        DATABASE_URL: dbUrl,
        PORT: "0",
        HOST: "127.0.0.1",
        UPLIFT_CONFIG: file,
        UPLIFT_SCHEDULER: "off",
        UPLIFT_DATA_DIR: dir,
        ...opts.env,
      }),
      createLogger({ bench: true }),
      {
        registry: opts.registry ?? builtIns,
        collectorOptions: opts.collectorOptions,
        alertOptions: opts.alertOptions,
      },
    );
    let stopping: Promise<void> | null = null;
    return {
      app,
      graphqlUrl: `${app.url}/graphql`,
      stop: () => {
        stopping ??= app
          .stop()
          .catch((e) => {
            say(`stopping the app failed: ${e}`);
          })
          .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
        return stopping;
      },
    };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Memory

let gcFn: (() => void) | null = null;
/** A full garbage collection (V8's --expose-gc, switched on at run time). */
export function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
  gcFn();
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM), or NaN. */
export function procStatusBytes(pid: number | "self", field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false when the kernel does not allow it. */
export function resetPeakRss(pid: number | "self" = "self"): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export interface MemoryPeaks {
  samples: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** The kernel's own peak RSS since the sampler started (VmHWM after a reset), or NaN. */
  kernelPeakRss: number;
  /**
   * Heap used right after each full (mark-compact) GC, as a PerformanceObserver sees it: the live set plus
   * what was allocated in the moment since. Unlike the peaks, it does not depend on when V8 chooses to
   * collect, so it is what shows a leak: it would grow with the records streamed.
   */
  afterMajorGc: number[];
}

/** Samples process.memoryUsage() every `everyMs` and keeps the peaks. */
export class MemorySampler {
  private timer: NodeJS.Timeout | null = null;
  private readonly peaks: MemoryPeaks = {
    samples: 0,
    rss: 0,
    heapUsed: 0,
    heapTotal: 0,
    external: 0,
    arrayBuffers: 0,
    kernelPeakRss: Number.NaN,
    afterMajorGc: [],
  };
  private hwmReset = false;
  private readonly gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as any).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        this.peaks.afterMajorGc.push(process.memoryUsage().heapUsed);
      }
    }
  });

  constructor(private readonly everyMs = 100) {}

  start(): this {
    this.hwmReset = resetPeakRss();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.gcObserver.observe({ entryTypes: ["gc"] });
    return this;
  }

  private sample() {
    const m = process.memoryUsage();
    const p = this.peaks;
    p.samples++;
    p.rss = Math.max(p.rss, m.rss);
    p.heapUsed = Math.max(p.heapUsed, m.heapUsed);
    p.heapTotal = Math.max(p.heapTotal, m.heapTotal);
    p.external = Math.max(p.external, m.external);
    p.arrayBuffers = Math.max(p.arrayBuffers, m.arrayBuffers);
  }

  stop(): MemoryPeaks {
    if (this.timer) clearInterval(this.timer);
    this.gcObserver.disconnect();
    this.sample();
    if (this.hwmReset) this.peaks.kernelPeakRss = procStatusBytes("self", "VmHWM");
    return { ...this.peaks };
  }
}

export const MB = 2 ** 20;

// ---------------------------------------------------------------------------------------------------------
// Child processes

/** node's `--import` argument that makes a child run TypeScript (tsx, resolved from the project). */
export const TSX_IMPORT = pathToFileURL(
  path.join(PROJECT_ROOT, "node_modules", "tsx", "dist", "loader.mjs"),
).href;

/** A bench/*.ts module in a child process with an IPC channel (tsx loader, no inherited inspector flags). */
export function forkTs(
  file: string,
  env: Record<string, string> = {},
  execArgv: string[] = [],
): ChildProcess {
  return fork(path.join(HERE, file), [], {
    execArgv: ["--import", TSX_IMPORT, ...execArgv],
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(PROJECT_ROOT, "tsconfig.json"), ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/** The next IPC message from `child` that satisfies `accept`; rejects when the child exits first. */
export function nextMessage<T>(
  child: ChildProcess,
  accept: (m: any) => boolean,
  timeoutMs = 120_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (m: any) => {
      if (!accept(m)) return;
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`child process exited (${code}) before answering`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no answer from the child process within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

/** Ends a child we started (by its pid) and waits for it. */
/**
 * Node flags of a server the bench starts as its own process (`src/main.ts`): BENCH_SERVER_CPU_PROF=<folder>
 * writes a .cpuprofile when it stops; BENCH_SERVER_FLAGS="--trace-gc …" adds flags.
 */
export function serverNodeFlags(): string[] {
  return [
    ...(process.env.BENCH_SERVER_CPU_PROF
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_SERVER_CPU_PROF}`]
      : []),
    ...(process.env.BENCH_SERVER_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
  ];
}

/**
 * The environment of that server: as `npm start` in the Docker image (production unless told otherwise, never
 * vitest's "test"), scheduler off, a free port on loopback, `config` as its uplift.yaml; `extra` on top.
 */
export function serverEnv(
  dbUrl: string,
  config: string,
  dir: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.VITEST;
  return {
    ...env,
    NODE_ENV: process.env.NODE_ENV === "test" ? "production" : (process.env.NODE_ENV ?? "production"),
    TSX_TSCONFIG_PATH: path.join(PROJECT_ROOT, "tsconfig.json"),
    DATABASE_URL: dbUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    UPLIFT_SCHEDULER: "off",
    UPLIFT_CONFIG: config,
    UPLIFT_DATA_DIR: dir,
    LOG_LEVEL: "info",
    ...extra,
  };
}

export async function endChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Wall time and CPU (Node + PostgreSQL) of one step; the /proc scan itself stays outside both. */
export async function measured<T>(cpu: CpuMeter, fn: () => Promise<T>): Promise<[number, CpuDelta, T]> {
  const c0 = cpu.snapshot();
  const t0 = performance.now();
  const v = await fn();
  const wall = performance.now() - t0;
  const c1 = cpu.snapshot();
  return [wall, CpuMeter.delta(c0, c1), v];
}
