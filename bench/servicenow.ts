// `servicenow`: a backfill of 100,000 incidents by the real `servicenow-incidents` collector through the
// runner (`startManual`, default batches), from the collector tests' fake Table API serving generated
// incidents (`serveGeneratedIncidents`). The fake runs in a child process (bench/servicenow-source.ts): it
// filters and sorts the whole table on the first request, so its CPU is reported apart from Uplift's.
import type { ChildProcess } from "node:child_process";
import pg from "pg";
import {
  type BenchContext,
  endChild,
  forkTs,
  nextMessage,
  type Section,
  say,
  startBenchApp,
} from "./common.js";
import { CpuMeter, loadAverage } from "./cpu.js";
import { fmt, fmtInt, median } from "./stats.js";

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 100_000);
const RUNS = 3;
/** Page sizes: the collector's default (1,000) for every measured run, then the largest allowed once. */
const PAGE_SIZES = [1000, 10_000];
const SLUG = "servicedesk";
const METRIC = "sn.resolution_time";

interface Ready {
  options: { instanceUrl: string; username: string; password: string; since: string; pageSize: number };
  data: { n: number; resolved: number; sumMinutes: number; meanMinutes: number };
}
interface Stats {
  tableRequests: number;
  cpuMs: number;
}

interface Run {
  pageSize: number;
  seconds: number;
  stored: number;
  meanMinutes: number;
  pages: number;
  nodeCpuS: number;
  pgCpuS: number | null;
  sourceCpuS: number;
  load: number;
}

function config(o: Ready["options"]): string {
  const entry = (name: string, pageSize: number) => `  - name: ${name}
    type: servicenow-incidents
    schedule: "0 0 1 1 *"
    project: ${SLUG}
    metric: ${METRIC}
    options:
      instanceUrl: ${o.instanceUrl}
      username: ${o.username}
      password: ${o.password}
      since: ${o.since}
      pageSize: ${pageSize}
`;
  const entries: string[] = [entry("warmup", 1000)];
  for (let i = 1; i <= RUNS; i++) entries.push(entry(`backfill-${i}`, PAGE_SIZES[0]!));
  entries.push(entry("backfill-large-pages", PAGE_SIZES[1]!));
  return `currency: USD
metrics:
  - key: ${METRIC}
    name: Incident resolution time
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: MEAN
projects:
  - slug: ${SLUG}
    name: ServiceNow benchmark
    stage: PRODUCTION
    goLiveAt: 2025-02-01T00:00:00Z
    kpis:
      - metric: ${METRIC}
collectors:
${entries.join("")}`;
}

export async function servicenowBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  let source: ChildProcess | null = null;
  let bench: Awaited<ReturnType<typeof startBenchApp>> | null = null;
  const admin = new pg.Client(ctx.dbUrl);
  try {
    say(`servicenow: starting the fake Table API with ${fmtInt(INCIDENTS)} generated incidents in a child`);
    const t0 = performance.now();
    source = forkTs("servicenow-source.ts", { INCIDENTS: String(INCIDENTS) });
    const ready = await nextMessage<Ready>(source, (m) => m?.kind === "ready");
    const generateSeconds = (performance.now() - t0) / 1000;
    const child = source;
    const stats = async () => {
      const reply = nextMessage<Stats>(child, (m) => m?.kind === "stats");
      child.send("stats");
      return reply;
    };
    bench = await startBenchApp(ctx.dbUrl, config(ready.options));
    const app = bench.app;
    await admin.connect();
    const reset = async () => {
      await admin.query("TRUNCATE observation, observation_activity");
      await admin.query("CHECKPOINT");
    };
    const runs: Run[] = [];
    const backfill = async (name: string, pageSize: number, record: boolean) => {
      await reset();
      const load = loadAverage();
      const s0 = await stats();
      const c0 = ctx.cpu.snapshot();
      const t = performance.now();
      const { done } = await app.collectors.startManual(name);
      const run = await done;
      const seconds = (performance.now() - t) / 1000;
      const cpu = CpuMeter.delta(c0, ctx.cpu.snapshot());
      const s1 = await stats();
      if (run.status !== "SUCCEEDED") throw new Error(`${name}: run ${run.status}: ${run.error}`);
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n, avg(value) AS mean FROM observation o JOIN metric m ON m.id = o.metric_id WHERE m.key = $1`,
        [METRIC],
      );
      const stored = rows[0].n as number;
      const mean = Number(rows[0].mean);
      const want = ready.data;
      if (stored !== want.resolved || run.observations !== want.resolved || run.rejected !== 0) {
        throw new Error(
          `${name}: stored ${stored} (run: ${run.observations}), expected ${want.resolved} resolved`,
        );
      }
      if (Math.abs(mean - want.meanMinutes) > 1e-9 * want.meanMinutes) {
        throw new Error(`${name}: mean ${mean} minutes, expected ${want.meanMinutes}`);
      }
      const r: Run = {
        pageSize,
        seconds,
        stored,
        meanMinutes: mean,
        pages: s1.tableRequests - s0.tableRequests,
        nodeCpuS: cpu.nodeMs / 1000,
        pgCpuS: cpu.pgMs === null ? null : cpu.pgMs / 1000,
        sourceCpuS: (s1.cpuMs - s0.cpuMs) / 1000,
        load,
      };
      if (record) runs.push(r);
      say(
        `servicenow: ${name}: ${fmtInt(want.n)} incidents (${fmtInt(stored)} resolved stored) in ${fmt(seconds, 2)} s, ` +
          `${r.pages} pages; CPU Uplift ${fmt(r.nodeCpuS, 2)} s, PostgreSQL ${fmt(r.pgCpuS ?? Number.NaN, 2)} s, fake ${fmt(r.sourceCpuS, 2)} s; load ${fmt(load, 2)}`,
      );
    };
    await backfill("warmup", 1000, false);
    for (let i = 1; i <= RUNS; i++) await backfill(`backfill-${i}`, PAGE_SIZES[0]!, true);
    await backfill("backfill-large-pages", PAGE_SIZES[1]!, true);
    return report(ready, generateSeconds, runs, (Date.now() - started) / 1000);
  } finally {
    await admin.end().catch(() => undefined);
    await bench?.stop();
    if (source) await endChild(source);
  }
}

function report(ready: Ready, generateSeconds: number, runs: Run[], seconds: number): Section {
  const d = ready.data;
  const main = runs.filter((r) => r.pageSize === PAGE_SIZES[0]);
  const med = median(main.map((r) => r.seconds));
  const t: string[] = [
    "| run | page size | pages fetched | seconds | incidents/s (all read) | observations/s (resolved stored) | CPU s: Uplift (Node) + PostgreSQL; fake source | load at start |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
  ];
  for (const [i, r] of runs.entries()) {
    t.push(
      `| ${i + 1} | ${fmtInt(r.pageSize)} | ${r.pages} | ${fmt(r.seconds, 2)} | ${fmtInt(d.n / r.seconds)} | ${fmtInt(r.stored / r.seconds)} | ${fmt(r.nodeCpuS, 2)} + ${r.pgCpuS === null ? "?" : fmt(r.pgCpuS, 2)}; ${fmt(r.sourceCpuS, 2)} | ${fmt(r.load, 2)} |`,
    );
  }
  const body = `Set-up:

- Source: \`serveGeneratedIncidents(${fmtInt(d.n)})\` from \`collectors/servicenow-incidents/fake-servicenow.ts\` (the collector tests'
  fake Table API: Basic auth, encoded-query filtering and ordering, \`sysparm_limit\`/\`sysparm_offset\`, \`X-Total-Count\`,
  \`Link\` rel="next", results cached per query) in a **child process** (\`bench/servicenow-source.ts\`; generating and
  serving took ${fmt(generateSeconds, 1)} s to start). It is not CPU-heavy per page, but its first request filters and sorts all
  ${fmtInt(d.n)} records, and keeping it apart lets the table show its CPU separately from Uplift's.
- ${fmtInt(d.n)} incidents, seed 42, sys_updated_on 1 s – 2 min apart from 2025-01-01, ${fmtInt(d.resolved)} resolved (the others are
  skipped by the collector, as unresolved incidents are), resolution times in whole seconds.
- Uplift in the bench's process; the real \`servicenow-incidents\` collector (options from \`serveGeneratedIncidents\`:
  \`since\` one second before the first record, so the first run reads the whole table) run by
  \`app.collectors.startManual(name)\`: a first run of a fresh instance, which is how a backfill of the history
  happens; default runner (batches of 5,000). Time = startManual → run finished. Before each run:
  \`TRUNCATE observation, observation_activity\` and \`CHECKPOINT\`; one unmeasured warm-up run first.
- Checked after every run: stored observations = ${fmtInt(d.resolved)} (the resolved incidents) and their mean = ${fmt(d.meanMinutes, 6)}
  minutes (\`data.meanMinutes\`, exact to 1e-9).

${t.join("\n")}

- Backfill of ${fmtInt(d.n)} incidents at the default page size: **${fmt(med, 2)} s** (median of ${main.length}), ${fmtInt(d.n / med)} incidents/s,
  ${fmtInt(d.resolved / med)} stored observations/s, ${main[0]?.pages} pages; completed every time with the right count and mean.`;
  return {
    name: "servicenow",
    title: `ServiceNow: backfill of ${fmtInt(d.n)} incidents from a local Table API`,
    summary: `${fmtInt(d.n)} incidents in ${fmt(med, 1)} s (${fmtInt(d.n / med)} incidents/s, ${main[0]?.pages} pages of 1,000); count and mean verified`,
    body,
    loads: runs.map((r) => r.load),
    seconds,
  };
}
