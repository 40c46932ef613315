// `scale`: Uplift at 10,000,000 observations over 1,000 KPIs (50 projects × 20 metrics, MEAN/MEDIAN/P90/SUM/
// COUNT). The write rate of a fixed workload (1,000,000 new observations spread over every KPI, through bulk
// ingest and through COPY) with 1 M and with 10 M rows already in the table; then, at 10 M, one KPI's figures
// warm (latency, and requests/s over 10 keep-alive connections), cold against the best raw SQL (the same
// index-only range scans; both plans shown), the MEDIAN/P90 confidence cold, a page of 20 projects and the
// portfolio. The server runs alone in a child process (`src/main.ts`, as `npm start`), so its CPU and memory
// are its own and the load generator in this process does not share its event loop.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Rng } from "../collectors/demo/random.js";
import type { KpiAggregateSpec } from "../src/kpi/phase-aggregates.js";
import { PROJECT_ROOT } from "../src/paths.js";
import {
  type BenchContext,
  endChild,
  MB,
  procStatusBytes,
  resetPeakRss,
  type Section,
  say,
  sleep,
  TSX_IMPORT,
} from "./common.js";
import { CpuMeter, loadAverage } from "./cpu.js";
import { type Dataset, GO_LIVE, generateDataset } from "./data.js";
import { COPY_SQL, RECORD_MUTATION } from "./ingest.js";
import { appAggregateSql, explainAppSql, explainSql, KPI_QUERY } from "./kpi.js";
import { fmt, fmtInt, median } from "./stats.js";

const TOTAL = Number(process.env.BENCH_SCALE_ROWS ?? 10_000_000);
/** The fixed write workload, timed at both table sizes. */
const WORK = Number(process.env.BENCH_SCALE_WRITE_ROWS ?? Math.round(TOTAL / 10));
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 2);
const ITERATIONS = Number(process.env.BENCH_SCALE_ITERATIONS ?? 9);
const WARM_REQUESTS = 1_000;
const CONNECTIONS = 10;
const LOAD_SECONDS = Number(process.env.BENCH_SCALE_LOAD_SECONDS ?? 10);
const PROJECTS = 50;
const AGGREGATIONS = [
  "MEAN",
  "MEDIAN",
  "P90",
  "MEAN",
  "MEAN",
  "SUM",
  "MEAN",
  "MEDIAN",
  "MEAN",
  "P90",
  "MEAN",
  "COUNT",
  "MEAN",
  "MEDIAN",
  "MEAN",
  "P90",
  "MEAN",
  "MEAN",
  "MEDIAN",
  "P90",
] as const;
type Agg = (typeof AGGREGATIONS)[number];
const METRICS = AGGREGATIONS.length;
/** The reporting refresher's advisory lock (src/reporting/refresher.ts): held here, it pauses the refresher. */
const REFRESHER_LOCK = 0x75706c69;
/** The three large KPIs of project 0 hold this share of the rows each (1,000,000 at 10 M). */
const BIG_SHARE = 0.1;
const DAY_MS = 86_400_000;

const slugOf = (p: number) => `scale-${String(p).padStart(3, "0")}`;
const keyOf = (m: number) => `scale.m${String(m).padStart(2, "0")}.${AGGREGATIONS[m]!.toLowerCase()}`;

interface KpiDef {
  index: number;
  project: number;
  metric: number;
  aggregation: Agg;
  rows: number;
  ids: { project: string; metric: string; kpi: string };
}

/** Rows per KPI: the three large KPIs of project 0 (MEAN, MEDIAN, P90), the rest evenly over the others. */
function rowsPerKpi(): number[] {
  const big = Math.round(TOTAL * BIG_SHARE);
  const others = PROJECTS * METRICS - 3;
  const rest = TOTAL - 3 * big;
  const base = Math.floor(rest / others);
  let extra = rest - base * others;
  return Array.from({ length: PROJECTS * METRICS }, (_, i) => (i < 3 ? big : base + (extra-- > 0 ? 1 : 0)));
}

function config(): string {
  const metrics = AGGREGATIONS.map(
    (a, m) => `  - key: ${keyOf(m)}
    name: Scale metric ${m} (${a})
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: ${a}
`,
  ).join("");
  const projects = Array.from({ length: PROJECTS }, (_, p) => {
    const pilot = p % 5 === 4; // 10 of 50 still in PILOT (the portfolio has pilots to count)
    const history = pilot
      ? `[{ stage: IDEA, at: 2025-01-01T00:00:00Z }, { stage: PILOT, at: 2025-08-01T00:00:00Z }]`
      : `[{ stage: PILOT, at: 2025-06-01T00:00:00Z }, { stage: PRODUCTION, at: ${GO_LIVE.toISOString()} }]`;
    const kpis = AGGREGATIONS.map(
      (_, m) => `      - { metric: ${keyOf(m)}, target: 5, valuePerUnit: 1.0, annualVolume: 10000 }
`,
    ).join("");
    return `  - slug: ${slugOf(p)}
    name: Scale project ${p}
    history: ${history}
    goLiveAt: ${GO_LIVE.toISOString()}
    kpis:
${kpis}    costs:
      - { label: Build, kind: ONE_TIME, amount: 50000, startsAt: 2025-12-01T00:00:00Z }
      - { label: Run, kind: MONTHLY, amount: 1000, startsAt: 2026-03-01T00:00:00Z }
`;
  }).join("");
  return `currency: USD\nmetrics:\n${metrics}projects:\n${projects}`;
}

/** Each KPI's rows: bench/data.ts's generator with a seed of its own (half before go-live, half after). */
const datasetOf = (k: KpiDef): Dataset => generateDataset(k.rows, `uplift-scale-${k.index}`);

/** COPY text of rows [from(k), to(k)) of every KPI, generated as it streams (the rows are never all held). */
async function* copyText(kpis: KpiDef[], from: (k: KpiDef) => number, to: (k: KpiDef) => number) {
  for (const k of kpis) {
    const d = datasetOf(k);
    const lines: string[] = [];
    for (let i = from(k); i < to(k); i++) {
      lines.push(
        `${k.ids.project}\t${k.ids.metric}\t${new Date(d.observedAt[i]!).toISOString()}\t${d.value[i]}\t1\t${d.externalId(i)}\n`,
      );
      if (lines.length >= 10_000) yield Buffer.from(lines.splice(0).join(""));
    }
    if (lines.length) yield Buffer.from(lines.join(""));
  }
}

/** Loads rows [from, to) of every KPI with two COPY streams (KPIs split between them). */
async function fill(dbUrl: string, kpis: KpiDef[], from: (k: KpiDef) => number, to: (k: KpiDef) => number) {
  await Promise.all(
    [0, 1].map(async (part) => {
      const c = new pg.Client(dbUrl);
      await c.connect();
      try {
        await pipeline(
          copyText(
            kpis.filter((k) => k.index % 2 === part),
            from,
            to,
          ),
          c.query(copyFrom(COPY_SQL)),
        );
      } finally {
        await c.end();
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The server, in a child process

interface Server {
  pid: number;
  url: string;
  /** utime + stime of the whole process (every thread), ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

async function startServer(dbUrl: string, dir: string): Promise<Server> {
  const file = path.join(dir, "uplift.yaml");
  fs.writeFileSync(file, config());
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.VITEST;
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", TSX_IMPORT, path.join(PROJECT_ROOT, "src", "main.ts")],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...env,
        NODE_ENV: process.env.NODE_ENV === "test" ? "production" : (process.env.NODE_ENV ?? "production"),
        TSX_TSCONFIG_PATH: path.join(PROJECT_ROOT, "tsconfig.json"),
        DATABASE_URL: dbUrl,
        PORT: "0",
        HOST: "127.0.0.1",
        UPLIFT_SCHEDULER: "off",
        UPLIFT_CONFIG: file,
        UPLIFT_DATA_DIR: dir,
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-200_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const deadline = Date.now() + 300_000;
  let port = 0;
  while (!port) {
    const m = /"graphql":"http:\/\/[^"]*:(\d+)\/graphql"/.exec(out);
    if (m) port = Number(m[1]);
    else if (child.exitCode !== null) throw new Error(`uplift exited (${child.exitCode}):\n${out}`);
    else if (Date.now() > deadline) {
      await endChild(child);
      throw new Error(`uplift did not start within 300 s:\n${out}`);
    }
    await sleep(100);
  }
  const pid = child.pid!;
  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    cpuMs() {
      const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ
    },
    stop: () => endChild(child),
  };
}

/** CPU of one step: the server child, PostgreSQL, and this process (the client), ms. */
interface Cpu {
  server: number;
  pg: number;
  client: number;
}

async function timed<T>(server: Server, meter: CpuMeter, fn: () => Promise<T>): Promise<[number, Cpu, T]> {
  const s0 = server.cpuMs();
  const c0 = meter.snapshot();
  const t0 = performance.now();
  const v = await fn();
  const wall = performance.now() - t0;
  const c1 = meter.snapshot();
  const d = CpuMeter.delta(c0, c1);
  return [wall, { server: server.cpuMs() - s0, pg: d.pgMs ?? Number.NaN, client: d.nodeMs }, v];
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: keep-alive POSTs of pre-serialised bodies

function post(agent: http.Agent, url: URL, body: Buffer, type = "application/json"): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": type, "content-length": body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 500)}`));
          else resolve(text);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function graphql(agent: http.Agent, url: URL, body: Buffer): Promise<any> {
  const json = JSON.parse(await post(agent, url, body));
  if (json.errors) throw new Error(`GraphQL errors: ${JSON.stringify(json.errors).slice(0, 1000)}`);
  return json.data;
}

const gqlBody = (query: string, variables: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ query, variables }));

/** A streamed NDJSON POST (chunks written as the socket drains). */
function postStream(url: URL, chunks: Buffer[]): Promise<{ inserted: number; updated: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { "content-type": "application/x-ndjson" } },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(JSON.parse(text))
            : reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 500)}`)),
        );
      },
    );
    req.on("error", reject);
    let i = 0;
    const pump = () => {
      while (i < chunks.length) if (!req.write(chunks[i++])) return void req.once("drain", pump);
      req.end();
    };
    pump();
  });
}

// ---------------------------------------------------------------------------------------------------------
// The write workload: the day after the data set, 1,000 new observations for each of the 1,000 KPIs, in
// time order (KPIs interleaved, as a feed delivers them), new externalIds.

const WORK_FROM = new Date("2026-09-01T00:00:00.000Z").getTime();

interface Workload {
  ndjson: Buffer[];
  copy: Buffer[];
  rows: number;
}

function buildWorkload(kpis: KpiDef[]): Workload {
  const rng = new Rng("uplift-scale-workload");
  const perKpi = Math.ceil(WORK / kpis.length);
  const step = DAY_MS / (perKpi * kpis.length);
  const nd: string[] = [];
  const cp: string[] = [];
  const ndjson: Buffer[] = [];
  const copy: Buffer[] = [];
  let rows = 0;
  for (let j = 0; j < perKpi && rows < WORK; j++) {
    for (const k of kpis) {
      if (rows >= WORK) break;
      const at = new Date(WORK_FROM + Math.floor((j * kpis.length + k.index) * step)).toISOString();
      const value = Math.max(1, Math.round(rng.lognormal(6, 0.8) * 60)) / 60;
      const ext = String(30_000_000 + j);
      nd.push(
        `{"projectSlug":"${slugOf(k.project)}","metricKey":"${keyOf(k.metric)}","observedAt":"${at}","value":${value},"externalId":"${ext}"}\n`,
      );
      cp.push(`${k.ids.project}\t${k.ids.metric}\t${at}\t${value}\t1\t${ext}\n`);
      rows++;
      if (nd.length >= 5_000) {
        ndjson.push(Buffer.from(nd.splice(0).join("")));
        copy.push(Buffer.from(cp.splice(0).join("")));
      }
    }
  }
  if (nd.length) {
    ndjson.push(Buffer.from(nd.join("")));
    copy.push(Buffer.from(cp.join("")));
  }
  return { ndjson, copy, rows };
}

interface WriteRun {
  level: number;
  path: "bulk ingest" | "COPY";
  seconds: number;
  rows: number;
  cpu: Cpu;
  /** Server peak RSS during the request minus its RSS before, MB (bulk only). */
  rssGrowthMb: number;
  load: number;
}

// ---------------------------------------------------------------------------------------------------------
// The floor for one KPI's current figures: per phase, one index-only range scan of `observation_range`
// (project, metric, observed_at) INCLUDE (value, weight), as the app's SQL does, computing only what the
// query asks (weighted mean or weighted percentile, Σweight, first and last observed_at).

export const MEAN_RANGE_FLOOR = `
SELECT false AS after, sum(value * weight) / sum(weight) AS value, sum(weight) AS count,
       min(observed_at) AS "from", max(observed_at) AS "to"
FROM observation WHERE project_id = $1 AND metric_id = $2 AND observed_at < $3
UNION ALL
SELECT true, sum(value * weight) / sum(weight), sum(weight), min(observed_at), max(observed_at)
FROM observation WHERE project_id = $1 AND metric_id = $2 AND observed_at >= $3`;

/** Weighted percentile $4 per phase: Σweight from one range scan, then a value-ordered scan of the same range. */
const pctPhase = (after: boolean) => {
  const range = `project_id = $1 AND metric_id = $2 AND observed_at ${after ? ">=" : "<"} $3`;
  return `SELECT ${after} AS after,
  (SELECT s.value FROM (
     SELECT value, sum(weight) OVER (ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw FROM observation WHERE ${range}
   ) s WHERE s.cw >= $4 * t.w ORDER BY s.value LIMIT 1) AS value,
  t.w AS count, t."from", t."to"
FROM (SELECT sum(weight) AS w, min(observed_at) AS "from", max(observed_at) AS "to" FROM observation WHERE ${range}) t`;
};
export const PCT_RANGE_FLOOR = `${pctPhase(false)}\nUNION ALL\n${pctPhase(true)}`;

interface Figures {
  baseline: { value: number; count: number; from: string; to: string };
  current: { value: number; count: number };
}

async function floorFigures(c: pg.Client, k: KpiDef): Promise<Figures> {
  const p = k.aggregation === "MEDIAN" ? 0.5 : k.aggregation === "P90" ? 0.9 : null;
  const base = [k.ids.project, k.ids.metric, GO_LIVE.toISOString()];
  const { rows } =
    p === null ? await c.query(MEAN_RANGE_FLOOR, base) : await c.query(PCT_RANGE_FLOOR, [...base, p]);
  const b = rows.find((r) => r.after === false);
  const a = rows.find((r) => r.after === true);
  return {
    baseline: {
      value: Number(b.value),
      count: Number(b.count),
      from: b.from.toISOString(),
      to: b.to.toISOString(),
    },
    current: { value: Number(a.value), count: Number(a.count) },
  };
}

/** What JavaScript computes over the generated rows (weights 1): mean, or the ⌈p·n⌉-th smallest value. */
function expectedFigures(k: KpiDef): Figures {
  const d = datasetOf(k);
  const p = k.aggregation === "MEDIAN" ? 0.5 : k.aggregation === "P90" ? 0.9 : null;
  const half = Math.floor(d.n / 2);
  const phase = (lo: number, hi: number) => {
    const xs = Float64Array.from(d.value.subarray(lo, hi)).sort();
    const n = hi - lo;
    const value =
      p === null ? d.value.subarray(lo, hi).reduce((s, x) => s + x, 0) / n : xs[Math.ceil(p * n) - 1]!;
    return { value, count: n };
  };
  const iso = (i: number) => new Date(d.observedAt[i]!).toISOString();
  return { baseline: { ...phase(0, half), from: iso(0), to: iso(half - 1) }, current: phase(half, d.n) };
}

function checkFigures(label: string, got: Figures, want: Figures) {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  const ok =
    close(got.baseline.value, want.baseline.value) &&
    close(got.current.value, want.current.value) &&
    got.baseline.count === want.baseline.count &&
    got.current.count === want.current.count &&
    new Date(got.baseline.from).toISOString() === want.baseline.from &&
    new Date(got.baseline.to).toISOString() === want.baseline.to;
  if (!ok)
    throw new Error(`${label}: figures differ\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
}

const PAGE_FIELDS = `slug name stage
    kpis { metric { key } baseline { value count } current { value count } improvementPct targetMet
      confidence { low high } annualBenefit series(bucket: WEEK) { start phase value } }
    roi { benefit cost roiPct paybackMonths }`;
const pageQuery = (projects: number[]) =>
  `query Page {\n${projects.map((p) => `  p${p}: project(slug: "${slugOf(p)}") { ${PAGE_FIELDS} }`).join("\n")}\n}`;
const PORTFOLIO_QUERY = `query Portfolio { portfolio { projectCount byStage { stage count } medianDaysInPilot
  pilotConversionPct totalAnnualBenefit kpisNotPreRegistered stalledPilots(olderThanDays: 30) { slug } } }`;
const CONFIDENCE_QUERY = `query C($slug: String!, $metric: String!) {
  project(slug: $slug) { kpi(metricKey: $metric) { confidence { low high level } } } }`;

interface Timing {
  wall: number[];
  cpu: Cpu[];
}
const timing = (): Timing => ({ wall: [], cpu: [] });
const sumCpu = (c: Cpu) => c.server + c.pg;

// ---------------------------------------------------------------------------------------------------------
// The benchmark

export async function scaleBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  const loads: number[] = [loadAverage()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-scale-"));
  const admin = new pg.Client(ctx.dbUrl);
  const lock = new pg.Client(ctx.dbUrl);
  const copier = new pg.Client(ctx.dbUrl);
  let server: Server | null = null;
  try {
    say(`scale: starting Uplift (child process) with ${PROJECTS} projects × ${METRICS} metrics`);
    const t0 = performance.now();
    server = await startServer(ctx.dbUrl, dir);
    const firstStart = (performance.now() - t0) / 1000;
    await admin.connect();
    await lock.connect();
    await copier.connect();
    const { rows: idRows } = await admin.query(
      `SELECT p.slug, m.key, p.id::text AS project, m.id::text AS metric, k.id::text AS kpi
       FROM kpi k JOIN project p ON p.id = k.project_id JOIN metric m ON m.id = k.metric_id`,
    );
    const idOf = new Map(idRows.map((r) => [`${r.slug}|${r.key}`, r]));
    const counts = rowsPerKpi();
    const kpis: KpiDef[] = [];
    for (let p = 0; p < PROJECTS; p++) {
      for (let m = 0; m < METRICS; m++) {
        const r = idOf.get(`${slugOf(p)}|${keyOf(m)}`);
        if (!r) throw new Error(`KPI ${slugOf(p)}/${keyOf(m)} was not created from the configuration`);
        const index = p * METRICS + m;
        kpis.push({
          index,
          project: p,
          metric: m,
          aggregation: AGGREGATIONS[m]!,
          rows: counts[index]!,
          ids: { project: r.project, metric: r.metric, kpi: r.kpi },
        });
      }
    }
    // The refresher recomputes the reporting tables after every write; paused (its lock held here, as if
    // another replica were draining) while writes and cold reads are timed, released in between.
    const pauseRefresher = () => lock.query("SELECT pg_advisory_lock($1)", [REFRESHER_LOCK]);
    const resumeRefresher = () => lock.query("SELECT pg_advisory_unlock($1)", [REFRESHER_LOCK]);
    const refresherIdle = async () => {
      for (let idle = 0; idle < 3; ) {
        const { rows } = await admin.query(
          `SELECT (SELECT count(*) FROM reporting_queue)::int AS queued,
                  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted)::int AS held`,
          [REFRESHER_LOCK],
        );
        idle = rows[0].queued === 0 && rows[0].held === 0 ? idle + 1 : 0;
        await sleep(200);
      }
    };
    await refresherIdle();
    await pauseRefresher();

    const level1 = (k: KpiDef) => Math.round(k.rows / 10);
    say(`scale: COPY of the first tenth of every KPI's rows (${fmtInt(TOTAL / 10)})`);
    const tFill1 = performance.now();
    await fill(ctx.dbUrl, kpis, () => 0, level1);
    const fill1 = (performance.now() - tFill1) / 1000;
    const settle = async () => {
      await admin.query("VACUUM ANALYZE observation");
      await admin.query("CHECKPOINT");
    };
    await settle();

    say(`scale: building the write workload (${fmtInt(WORK)} observations, NDJSON and COPY text)`);
    const work = buildWorkload(kpis);
    const bulkUrl = new URL(`${server.url}/api/v1/observations`);
    const writes: WriteRun[] = [];
    const writeRounds = async (level: number) => {
      const { rows } = await admin.query(
        "SELECT count(*)::bigint AS n, coalesce(max(id), 0)::bigint AS top FROM observation",
      );
      if (Number(rows[0].n) !== level)
        throw new Error(`expected ${level} rows in the table, found ${rows[0].n}`);
      const top = rows[0].top as string;
      for (let r = 0; r < ROUNDS; r++) {
        for (const which of r % 2 === 0
          ? (["bulk ingest", "COPY"] as const)
          : (["COPY", "bulk ingest"] as const)) {
          const load = loadAverage();
          loads.push(load);
          const rss0 = procStatusBytes(server!.pid, "VmRSS");
          resetPeakRss(server!.pid);
          const [ms, cpu, stored] = await timed(server!, ctx.cpu, async () => {
            if (which === "COPY") {
              const stream = copier.query(copyFrom(COPY_SQL));
              await pipeline(async function* () {
                yield* work.copy;
              }, stream);
              return stream.rowCount;
            }
            const res = await postStream(bulkUrl, work.ndjson);
            return res.inserted + res.updated;
          });
          if (stored !== work.rows) throw new Error(`${which} stored ${stored} of ${work.rows}`);
          const peak = procStatusBytes(server!.pid, "VmHWM");
          const run: WriteRun = {
            level,
            path: which,
            seconds: ms / 1000,
            rows: work.rows,
            cpu,
            rssGrowthMb: which === "COPY" ? Number.NaN : (peak - rss0) / MB,
            load,
          };
          writes.push(run);
          say(
            `scale: at ${fmtInt(level)} rows: ${which} ${fmtInt(work.rows / run.seconds)} rows/s (${fmt(run.seconds, 1)} s; CPU server ${fmt(cpu.server / 1000)} s + PostgreSQL ${fmt(cpu.pg / 1000)} s; load ${fmt(load, 2)})`,
          );
          // Back to `level` rows: the workload's rows are the newest ids.
          await admin.query("DELETE FROM observation WHERE id > $1", [top]);
          await settle();
        }
      }
    };
    const level1Rows = kpis.reduce((n, k) => n + level1(k), 0);
    await writeRounds(level1Rows);

    say(`scale: COPY of the other nine tenths (${fmtInt(TOTAL - TOTAL / 10)})`);
    const tFill2 = performance.now();
    await fill(ctx.dbUrl, kpis, level1, (k) => k.rows);
    const fill2 = (performance.now() - tFill2) / 1000;
    await settle();
    await writeRounds(TOTAL);

    // The rows went in by COPY behind the app's back: mark every KPI changed, as a write would, and let the
    // refresher recompute the reporting tables for all 1,000 KPIs (timed: a full refresh at this size).
    await admin.query(
      `INSERT INTO observation_activity (project_id, metric_id, updated_at)
       SELECT project_id, metric_id, clock_timestamp() FROM kpi
       ON CONFLICT (project_id, metric_id) DO UPDATE SET updated_at = excluded.updated_at`,
    );
    say("scale: full reporting refresh of the 1,000 KPIs at the final size");
    const [refreshMs, refreshCpu] = await timed(server, ctx.cpu, async () => {
      await resumeRefresher();
      await refresherIdle();
    });
    await pauseRefresher();
    const { rows: sizeRows } = await admin.query(
      `SELECT pg_relation_size('observation') AS heap, pg_relation_size('observation_range') AS range,
              pg_relation_size('observation_external_id') AS ext, pg_relation_size('observation_pkey') AS pkey,
              (SELECT count(*) FROM observation)::bigint AS n`,
    );
    if (Number(sizeRows[0].n) !== TOTAL) throw new Error(`expected ${TOTAL} rows, found ${sizeRows[0].n}`);

    // Reads at the final size.
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const gqlUrl = new URL(`${server.url}/graphql`);
    const [bigMean, bigMedian, bigP90] = kpis as [KpiDef, KpiDef, KpiDef];
    const kpiBody = (k: KpiDef) => gqlBody(KPI_QUERY, { slug: slugOf(k.project), metric: keyOf(k.metric) });

    // Stamp changes through the app's write path: observation 0 of each KPI re-recorded unchanged.
    const { rows: firstRows } = await admin.query(
      `SELECT k.id::text AS kpi, o.observed_at, o.value, o.external_id FROM kpi k
       JOIN observation o ON o.project_id = k.project_id AND o.metric_id = k.metric_id AND o.external_id = '10000000'`,
    );
    const first = new Map(firstRows.map((r) => [r.kpi as string, r]));
    const bumpBody = (ks: KpiDef[]) =>
      gqlBody(RECORD_MUTATION, {
        input: ks.map((k) => {
          const r = first.get(k.ids.kpi)!;
          return {
            projectSlug: slugOf(k.project),
            metricKey: keyOf(k.metric),
            observedAt: (r.observed_at as Date).toISOString(),
            value: r.value,
            weight: 1,
            externalId: r.external_id,
          };
        }),
      });
    const bump = async (body: Buffer, n: number) => {
      const d = await graphql(agent, gqlUrl, body);
      if (d.recordObservations.updated !== n) throw new Error("stamp bump did not update observation 0");
    };

    // 1. One KPI, warm: sequential latency, then requests/s over 10 keep-alive connections.
    say("scale: one KPI warm");
    const meanBody = kpiBody(bigMean);
    await graphql(agent, gqlUrl, meanBody);
    const latencies: number[] = [];
    const [warmSeqMs, warmSeqCpu] = await timed(server, ctx.cpu, async () => {
      for (let i = 0; i < WARM_REQUESTS; i++) {
        const t = performance.now();
        await post(agent, gqlUrl, meanBody);
        latencies.push(performance.now() - t);
      }
    });
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]!;
    loads.push(loadAverage());
    let served = 0;
    const [loadMs, loadCpu] = await timed(server, ctx.cpu, async () => {
      const until = performance.now() + LOAD_SECONDS * 1000;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < until) {
            await post(agent, gqlUrl, meanBody);
            served++;
          }
        }),
      );
    });
    const reqPerSec = served / (loadMs / 1000);
    say(`scale: warm p50 ${fmt(q(0.5), 2)} ms; ${fmtInt(reqPerSec)} req/s with ${CONNECTIONS} connections`);

    // 2. One KPI cold (MEAN and MEDIAN, 1,000,000 rows each at 10 M) against the best raw SQL.
    const cold: Record<
      string,
      { cold: Timing; warm: Timing; appSql: Timing; floor: Timing; plans: { app: string; floor: string } }
    > = {};
    for (const k of [bigMean, bigMedian]) {
      say(`scale: one KPI cold, ${k.aggregation}`);
      const want = expectedFigures(k);
      const body = kpiBody(k);
      const bb = bumpBody([k]);
      const spec: KpiAggregateSpec = {
        kpiId: k.ids.kpi,
        projectId: k.ids.project,
        metricId: k.ids.metric,
        aggregation: k.aggregation,
        windows: { before: { from: null, to: GO_LIVE }, after: { from: GO_LIVE, to: null } },
        cohort: null,
      };
      const r = {
        cold: timing(),
        warm: timing(),
        appSql: timing(),
        floor: timing(),
        plans: { app: "", floor: "" },
      };
      for (let i = 0; i < 2 + ITERATIONS; i++) {
        loads.push(loadAverage());
        await bump(bb, 1);
        const c = await timed(server, ctx.cpu, () => graphql(agent, gqlUrl, body));
        const w = await timed(server, ctx.cpu, () => graphql(agent, gqlUrl, body));
        let f: [number, Cpu, Figures] | null = null;
        let a: [number, Cpu, unknown] | null = null;
        for (const which of i % 2 ? ["floor", "app"] : ["app", "floor"]) {
          if (which === "floor") f = await timed(server, ctx.cpu, () => floorFigures(copier, k));
          else a = await timed(server, ctx.cpu, () => appAggregateSql(copier, spec));
        }
        if (i === 0) {
          checkFigures(`${k.aggregation} GraphQL cold`, c[2].project.kpi, want);
          checkFigures(`${k.aggregation} GraphQL warm`, w[2].project.kpi, want);
          checkFigures(`${k.aggregation} raw SQL floor`, f![2], want);
        }
        if (i >= 2) {
          for (const [t, m] of [
            [r.cold, c],
            [r.warm, w],
            [r.floor, f!],
            [r.appSql, a!],
          ] as const) {
            t.wall.push(m[0]);
            t.cpu.push(m[1]);
          }
        }
      }
      r.plans.app = await explainAppSql(copier, spec);
      r.plans.floor = await explainSql(
        copier,
        k.aggregation === "MEAN" ? MEAN_RANGE_FLOOR : PCT_RANGE_FLOOR,
        k.aggregation === "MEAN"
          ? [k.ids.project, k.ids.metric, GO_LIVE.toISOString()]
          : [k.ids.project, k.ids.metric, GO_LIVE.toISOString(), 0.5],
      );
      cold[k.aggregation] = r;
      say(
        `scale: ${k.aggregation} cold ${fmt(median(r.cold.wall))} ms, floor ${fmt(median(r.floor.wall))} ms, app SQL ${fmt(median(r.appSql.wall))} ms`,
      );
    }

    // 3. The MEDIAN / P90 confidence interval cold (a stamp change, then `confidence` alone).
    const conf: Record<string, number[]> = {};
    for (const k of [bigMedian, bigP90]) {
      const body = gqlBody(CONFIDENCE_QUERY, { slug: slugOf(k.project), metric: keyOf(k.metric) });
      const bb = bumpBody([k]);
      conf[k.aggregation] = [];
      for (let i = 0; i < 1 + Math.min(ITERATIONS, 5); i++) {
        await bump(bb, 1);
        const t = performance.now();
        const d = await graphql(agent, gqlUrl, body);
        if (i > 0) conf[k.aggregation]!.push(performance.now() - t);
        if (!d.project.kpi.confidence) throw new Error(`${k.aggregation}: no confidence interval`);
      }
      say(`scale: ${k.aggregation} confidence cold ${fmt(median(conf[k.aggregation]!), 0)} ms`);
    }

    // 4. A page of 20 projects (400 KPIs: figures, interval, weekly series, ROI), cold once, then warm.
    const pageProjects = Array.from({ length: 20 }, (_, i) => i);
    const pageBody = gqlBody(pageQuery(pageProjects));
    const pageKpis = kpis.filter((k) => k.project < 20);
    await bump(bumpBody(pageKpis), pageKpis.length);
    loads.push(loadAverage());
    const pageCold = await timed(server, ctx.cpu, () => graphql(agent, gqlUrl, pageBody));
    const pageWarm = timing();
    for (let i = 0; i < ITERATIONS * 2; i++) {
      const m = await timed(server, ctx.cpu, () => graphql(agent, gqlUrl, pageBody));
      pageWarm.wall.push(m[0]);
      pageWarm.cpu.push(m[1]);
    }
    for (const [label, answer] of [
      ["cold", pageCold[2]],
      ["warm", (await graphql(agent, gqlUrl, pageBody)) as any],
    ] as const) {
      const big = answer.p0.kpis.find((x: any) => x.metric.key === keyOf(0));
      const want = expectedFigures(bigMean);
      checkFigures(
        `page (${label}): the large MEAN KPI`,
        { ...big, baseline: { ...want.baseline, ...big.baseline } },
        want,
      );
    }
    say(
      `scale: page of 20 projects cold ${fmt(pageCold[0], 0)} ms, warm ${fmt(median(pageWarm.wall), 1)} ms`,
    );

    // 5. The portfolio (Σ annualBenefit over all 1,000 KPIs), cold once (every stamp changed), then warm.
    const portBody = gqlBody(PORTFOLIO_QUERY);
    await bump(bumpBody(kpis), kpis.length);
    loads.push(loadAverage());
    const portCold = await timed(server, ctx.cpu, () => graphql(agent, gqlUrl, portBody));
    const portWarm = timing();
    for (let i = 0; i < ITERATIONS * 2; i++) {
      const m = await timed(server, ctx.cpu, () => graphql(agent, gqlUrl, portBody));
      portWarm.wall.push(m[0]);
      portWarm.cpu.push(m[1]);
    }
    if (portCold[2].portfolio.projectCount !== PROJECTS) throw new Error("portfolio: wrong project count");
    say(`scale: portfolio cold ${fmt(portCold[0], 0)} ms, warm ${fmt(median(portWarm.wall), 1)} ms`);
    const serverRss = procStatusBytes(server.pid, "VmRSS") / MB;
    agent.destroy();
    await resumeRefresher();
    loads.push(loadAverage());

    return report({
      seconds: (Date.now() - started) / 1000,
      loads,
      firstStart,
      fills: [fill1, fill2],
      writes,
      refresh: { ms: refreshMs, cpu: refreshCpu },
      sizes: sizeRows[0],
      warm: { latencies, ms: warmSeqMs, cpu: warmSeqCpu, q },
      load: { served, ms: loadMs, cpu: loadCpu, reqPerSec },
      cold,
      conf,
      page: { cold: pageCold, warm: pageWarm },
      portfolio: { cold: portCold, warm: portWarm },
      serverRss,
      rowsOf: { big: bigMean.rows, small: kpis[3]!.rows },
    });
  } finally {
    await server?.stop();
    for (const c of [admin, lock, copier]) await c.end().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// The section

function report(r: {
  seconds: number;
  loads: number[];
  firstStart: number;
  fills: number[];
  writes: WriteRun[];
  refresh: { ms: number; cpu: Cpu };
  sizes: Record<string, string>;
  warm: { latencies: number[]; ms: number; cpu: Cpu; q: (p: number) => number };
  load: { served: number; ms: number; cpu: Cpu; reqPerSec: number };
  cold: Record<
    string,
    { cold: Timing; warm: Timing; appSql: Timing; floor: Timing; plans: { app: string; floor: string } }
  >;
  conf: Record<string, number[]>;
  page: { cold: [number, Cpu, any]; warm: Timing };
  portfolio: { cold: [number, Cpu, any]; warm: Timing };
  serverRss: number;
  rowsOf: { big: number; small: number };
}): Section {
  const s = (ms: number) => fmt(ms / 1000, 1);
  const cpuCell = (c: Cpu) => `${s(c.server)} + ${s(c.pg)}`;
  const levels = [...new Set(r.writes.map((w) => w.level))].sort((a, b) => a - b);
  const lo = levels[0]!;
  const rate = (level: number, p: WriteRun["path"]) =>
    median(r.writes.filter((w) => w.level === level && w.path === p).map((w) => w.rows / w.seconds));
  const cpuPerM = (level: number, p: WriteRun["path"]) =>
    median(
      r.writes
        .filter((w) => w.level === level && w.path === p)
        .map((w) => (sumCpu(w.cpu) / 1000) * (1e6 / w.rows)),
    );
  const writeRows = r.writes.map(
    (w) =>
      `| ${fmtInt(w.level)} | ${w.path} | ${fmtInt(w.rows / w.seconds)} | ${fmt(w.seconds, 1)} | ${cpuCell(w.cpu)} | ${fmt(((sumCpu(w.cpu) / 1000) * 1e6) / w.rows, 1)} | ${Number.isFinite(w.rssGrowthMb) ? fmt(w.rssGrowthMb) : "–"} | ${fmt(w.load, 2)} |`,
  );
  const flat: string[] = [];
  let writeSummary = "";
  for (const p of ["bulk ingest", "COPY"] as const) {
    const ratio = rate(TOTAL, p) / rate(lo, p);
    const cpuRatio = cpuPerM(lo, p) / cpuPerM(TOTAL, p);
    flat.push(
      `- ${p}: ${fmtInt(rate(lo, p))} rows/s at ${fmtInt(lo)} rows, ${fmtInt(rate(TOTAL, p))} rows/s at ${fmtInt(TOTAL)}: **${fmt(ratio * 100)} %** of the rate at ${fmtInt(lo)} (medians of ${ROUNDS}; by CPU per row, server + PostgreSQL: ${fmt(cpuPerM(lo, p), 1)} → ${fmt(cpuPerM(TOTAL, p), 1)} CPU-s per 1M rows, ${fmt(cpuRatio * 100)} %)`,
    );
    writeSummary += `${writeSummary ? ", " : ""}${p === "COPY" ? "COPY" : "bulk"} rate at ${fmtInt(TOTAL)} = ${fmt(ratio * 100, 0)} % of at ${fmtInt(lo)}`;
  }
  const bulkVsCopy = levels.map(
    (l) =>
      `${fmtInt(l)} rows: ${fmt((rate(l, "bulk ingest") / rate(l, "COPY")) * 100)} % (by CPU ${fmt((cpuPerM(l, "COPY") / cpuPerM(l, "bulk ingest")) * 100)} %)`,
  );

  const p50 = r.warm.q(0.5);
  const perReq = (c: Cpu, n: number) => `${fmt(c.server / n, 2)} + ${fmt(c.pg / n, 2)}`;
  const coldRows: string[] = [];
  const coldSummary: string[] = [];
  let coldMet = true;
  for (const [agg, x] of Object.entries(r.cold)) {
    const ratio = median(x.cold.wall) / median(x.floor.wall);
    const cpuRatio = median(x.cold.cpu.map(sumCpu)) / median(x.floor.cpu.map(sumCpu));
    coldMet &&= ratio <= 1.5;
    coldRows.push(
      `| ${agg} | ${fmt(median(x.cold.wall))} | ${fmt(median(x.warm.wall), 2)} | ${fmt(median(x.appSql.wall))} | ${fmt(median(x.floor.wall))} | **${fmt(ratio, 2)}×** | ${fmt(median(x.cold.cpu.map(sumCpu)))} / ${fmt(median(x.floor.cpu.map(sumCpu)))} (${fmt(cpuRatio, 2)}×) |`,
    );
    coldSummary.push(`${agg} ${fmt(ratio, 2)}×`);
  }
  const confMax = Math.max(...Object.values(r.conf).map((xs) => median(xs)));
  const pageWarm = median(r.page.warm.wall);
  const portWarm = median(r.portfolio.warm.wall);
  const met = (ok: boolean) => (ok ? "met" : "**NOT met**");
  const mb = (x: string) => fmtInt(Number(x) / MB);
  const plans = Object.entries(r.cold)
    .map(
      ([agg, x]) => `<details><summary>${agg}: plans (EXPLAIN ANALYZE, BUFFERS)</summary>

App (\`loadPhaseAggregates\`):

\`\`\`
${x.plans.app}
\`\`\`

Best raw SQL (\`bench/scale.ts\`, ${agg === "MEAN" ? "MEAN_RANGE_FLOOR" : "PCT_RANGE_FLOOR"}):

\`\`\`
${x.plans.floor}
\`\`\`
</details>`,
    )
    .join("\n\n");

  const body = `Set-up:

- ${fmtInt(PROJECTS)} projects × ${METRICS} metrics = ${fmtInt(PROJECTS * METRICS)} KPIs (MEAN ×10, MEDIAN ×4, P90 ×4, SUM, COUNT per
  project; 40 projects in PRODUCTION, 10 in PILOT; go-live ${GO_LIVE.toISOString().slice(0, 10)}; two costs each), ${fmtInt(TOTAL)} observations: project 0's
  MEAN, MEDIAN and P90 KPIs hold ${fmtInt(r.rowsOf.big)} each (a large ticket stream), the other ${fmtInt(PROJECTS * METRICS - 3)} KPIs ${fmtInt(r.rowsOf.small)} or so each.
  Rows from \`bench/data.ts\`'s seeded generator, one seed per KPI (half before go-live, half after, lognormal minutes),
  loaded with two COPY streams: the first tenth of every KPI's rows (${fmt(r.fills[0]!, 0)} s), then the rest (${fmt(r.fills[1]!, 0)} s).
- Uplift runs alone in a **child process** (\`node --import tsx src/main.ts\`, as \`npm start\`, NODE_ENV=${process.env.NODE_ENV ?? "(unset)"}), so its CPU
  (/proc utime + stime, every thread) and RSS are its own and the load generator in the bench's process does not share its
  event loop. PostgreSQL's CPU: every process of the embedded cluster. "CPU s" columns: server + PostgreSQL; the
  client's own CPU is left out. First start with the 1,000 KPIs of the configuration: ${fmt(r.firstStart, 1)} s.
- The reporting refresher recomputes the reporting tables after every write. While writes and cold reads are timed it is
  paused by holding its advisory lock from the bench (what it sees when another replica is draining); its work is timed
  on its own: a full refresh of the ${fmtInt(PROJECTS * METRICS)} KPIs (figures, interval, DAY/WEEK/MONTH series, ROI) at ${fmtInt(TOTAL)} rows took
  **${s(r.refresh.ms)} s** (CPU ${cpuCell(r.refresh.cpu)} s).
- Size at ${fmtInt(TOTAL)} rows: heap ${mb(r.sizes.heap!)} MB, \`observation_range\` ${mb(r.sizes.range!)} MB, \`observation_external_id\` ${mb(r.sizes.ext!)} MB, \`observation_pkey\`
  ${mb(r.sizes.pkey!)} MB (shared_buffers 128 MB: the rest is in the OS cache). Server RSS at the end: ${fmt(r.serverRss, 0)} MB.

### Write rate as the table grows

The same workload at ${fmtInt(lo)} and at ${fmtInt(TOTAL)} rows in the table: ${fmtInt(WORK)} new observations, the day after the data set,
${fmtInt(WORK / (PROJECTS * METRICS))} for each KPI in time order (KPIs interleaved, as a feed delivers them), new externalIds; through bulk ingest (one streamed
NDJSON \`POST /api/v1/observations\`, built before timing) and through one \`COPY observation … FROM STDIN\` stream (the floor).
After every run its rows are deleted (\`id\` above the table's previous maximum), then \`VACUUM ANALYZE\` and \`CHECKPOINT\`;
${ROUNDS} rounds per size, turns alternating. RSS growth: the server's kernel peak (VmHWM, reset before) above its RSS before.

| rows in the table | path | rows/s | s | CPU s, server + PostgreSQL | CPU s per 1M rows | server RSS growth, MB | load at start |
| ---: | --- | ---: | ---: | --- | ---: | ---: | ---: |
${writeRows.join("\n")}

${flat.join("\n")}
- Bulk ingest / COPY at ${bulkVsCopy.join("; at ")}.

### Reads at ${fmtInt(TOTAL)} observations

Query of one KPI: \`bench/kpi.ts\`'s \`project(slug){ kpi(metricKey){ baseline{value count from to} current{value count}
improvementPct annualBenefit } }\`, on project 0's MEAN KPI (${fmtInt(r.rowsOf.big)} rows). Warm = the engine's cache hits. Cold = before each
query, observation 0 of the KPI is re-recorded unchanged through \`recordObservations\` (its stamp changes, its figures do
not). The best raw SQL (\`MEAN_RANGE_FLOOR\` / \`PCT_RANGE_FLOOR\` in \`bench/scale.ts\`): per phase, one index-only range scan of
\`observation_range\` computing only what the query asks (the weighted mean or percentile, Σweight, first and last time), on a
plain pg client; "app SQL" = the engine's \`loadPhaseAggregates\` on that client. Every answer is checked against
JavaScript's figures over the generated rows. Medians of ${ITERATIONS} after 2 warm-up.

| measure | result | CPU ms, server + PostgreSQL | target |
| --- | --- | --- | --- |
| one KPI warm, sequential, p50 / p90 / p99 of ${fmtInt(WARM_REQUESTS)} | **${fmt(p50, 2)}** / ${fmt(r.warm.q(0.9), 2)} / ${fmt(r.warm.q(0.99), 2)} ms | ${perReq(r.warm.cpu, WARM_REQUESTS)} per request | p50 ≤ 2 ms: ${met(p50 <= 2)} |
| one KPI warm, ${CONNECTIONS} keep-alive connections, ${LOAD_SECONDS} s | **${fmtInt(r.load.reqPerSec)} req/s** (${fmtInt(r.load.served)} requests) | ${perReq(r.load.cpu, r.load.served)} per request; client ${fmt(r.load.cpu.client / r.load.served, 2)} | ≥ 2,000 req/s: ${met(r.load.reqPerSec >= 2000)} |
| page of 20 projects (400 KPIs: figures, interval, weekly series; ROI), warm, median of ${ITERATIONS * 2} | **${fmt(pageWarm, 1)} ms** | ${fmt(median(r.page.warm.cpu.map(sumCpu)), 1)} | ≤ 20 ms: ${met(pageWarm <= 20)} |
| the same page cold (400 stamps changed), once | ${fmtInt(r.page.cold[0])} ms | ${fmtInt(sumCpu(r.page.cold[1]))} | – |
| portfolio (Σ annualBenefit over ${fmtInt(PROJECTS * METRICS)} KPIs, stages, pilots), warm, median of ${ITERATIONS * 2} | **${fmt(portWarm, 1)} ms** | ${fmt(median(r.portfolio.warm.cpu.map(sumCpu)), 1)} | – |
| portfolio cold (every stamp changed), once | ${fmtInt(r.portfolio.cold[0])} ms | ${fmtInt(sumCpu(r.portfolio.cold[1]))} | – |
${Object.entries(r.conf)
  .map(
    ([agg, xs]) =>
      `| ${agg} \`confidence\` alone, cold (figures, then the bootstrap of ${fmtInt(r.rowsOf.big)} rows), median of ${xs.length} | **${fmtInt(median(xs))} ms** | – | ≤ 1 s: ${met(median(xs) <= 1000)} |`,
  )
  .join("\n")}

One KPI cold against the best raw SQL (${fmtInt(r.rowsOf.big)} rows in the KPI, ${fmtInt(TOTAL)} in the table):

| aggregation | GraphQL cold, ms | GraphQL warm, ms | app SQL alone, ms | best raw SQL, ms | cold / raw SQL | CPU ms cold / raw SQL (ratio), server + PostgreSQL |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
${coldRows.join("\n")}

Target cold ≤ 1.5 × the best raw SQL: ${met(coldMet)}.

${plans}`;

  return {
    name: "scale",
    title: `Scale: ${fmtInt(TOTAL)} observations over ${fmtInt(PROJECTS * METRICS)} KPIs`,
    summary: `${writeSummary}; warm KPI p50 ${fmt(p50, 2)} ms (≤ 2: ${p50 <= 2 ? "met" : "NOT met"}), ${fmtInt(r.load.reqPerSec)} req/s (≥ 2,000: ${r.load.reqPerSec >= 2000 ? "met" : "NOT met"}); cold / raw SQL ${coldSummary.join(", ")} (≤ 1.5: ${coldMet ? "met" : "NOT met"}); page of 20 warm ${fmt(pageWarm, 1)} ms (≤ 20: ${pageWarm <= 20 ? "met" : "NOT met"}); cold confidence ${fmtInt(confMax)} ms (≤ 1 s: ${confMax <= 1000 ? "met" : "NOT met"}); portfolio warm ${fmt(portWarm, 1)} ms`,
    body,
    loads: r.loads,
    seconds: r.seconds,
  };
}
