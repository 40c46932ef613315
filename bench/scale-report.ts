// The `scale` section of bench/RESULTS.md.
import type { Section } from "./common.js";
import { MB } from "./common.js";
import { GO_LIVE } from "./data.js";
import { METRICS, PROJECTS, TOTAL, WORK } from "./scale-data.js";
import type { Cpu } from "./scale-server.js";
import { fmt, fmtInt, median } from "./stats.js";

/** How the reads and writes are repeated (BENCH_SCALE_* to shrink a trial run). */
export const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 2);
export const ITERATIONS = Number(process.env.BENCH_SCALE_ITERATIONS ?? 9);
export const WARM_REQUESTS = 1_000;
export const CONNECTIONS = 10;
export const LOAD_SECONDS = Number(process.env.BENCH_SCALE_LOAD_SECONDS ?? 10);

export interface WriteRun {
  level: number;
  path: "bulk ingest" | "COPY";
  seconds: number;
  rows: number;
  cpu: Cpu;
  /** Server peak RSS during the request minus its RSS before, MB (bulk only). */
  rssGrowthMb: number;
  load: number;
}

export interface Timing {
  wall: number[];
  cpu: Cpu[];
}
export const timing = (): Timing => ({ wall: [], cpu: [] });
export const sumCpu = (c: Cpu) => c.server + c.pg;

export function report(r: {
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
    writeSummary += `${writeSummary ? ", " : ""}${p === "COPY" ? "COPY" : "bulk"} rate at ${fmtInt(TOTAL)} = ${fmt(ratio * 100, 0)} % of at ${fmtInt(lo)} (by CPU per row ${fmt(cpuRatio * 100, 0)} %)`;
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

Best raw SQL (\`bench/scale-figures.ts\`, ${agg === "MEAN" ? "MEAN_RANGE_FLOOR" : "PCT_RANGE_FLOOR"}):

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
  loaded with two COPY streams in time order across the KPIs (as a feed writes them: a KPI's rows spread over the heap,
  index entries interleaved): the first tenth of every KPI's rows (${fmt(r.fills[0]!, 0)} s), then the rest (${fmt(r.fills[1]!, 0)} s).
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
not). The best raw SQL (\`MEAN_RANGE_FLOOR\` / \`PCT_RANGE_FLOOR\` in \`bench/scale-figures.ts\`): per phase, one index-only range scan of
\`observation_range\` computing only what the query asks (the weighted mean or percentile, Σweight, first and last time), with
the app's parallelism: MEAN's two phases sent at once on two plain connections, a percentile's in one statement (parallel
workers, seq and bitmap scans off); "app SQL" = the engine's \`loadPhaseAggregates\` on a
plain pool of 2 connections (as on the app's pool). Every answer is checked against
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
