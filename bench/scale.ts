// `scale`: Uplift at 10,000,000 observations over 1,000 KPIs (50 projects × 20 metrics, MEAN/MEDIAN/P90/SUM/
// COUNT). The write rate of a fixed workload (1,000,000 new observations spread over every KPI, through bulk
// ingest and through COPY) with 1 M and with 10 M rows already in the table; then, at 10 M, one KPI's figures
// warm (latency, and requests/s over 10 keep-alive connections), cold against the best raw SQL (the same
// index-only range scans; both plans shown), the MEDIAN/P90 confidence cold, a page of 20 projects and the
// portfolio. The server runs alone in a child process (`src/main.ts`, as `npm start`), so its CPU and memory
// are its own and the load generator in this process does not share its event loop.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { KpiAggregateSpec } from "../src/kpi/phase-aggregates.js";
import { type BenchContext, MB, procStatusBytes, resetPeakRss, type Section, say, sleep } from "./common.js";
import { loadAverage } from "./cpu.js";
import { GO_LIVE } from "./data.js";
import { COPY_SQL, RECORD_MUTATION } from "./ingest.js";
import { appAggregateSql, explainAppSql, explainSql, floorPool, KPI_QUERY } from "./kpi.js";
import {
  AGGREGATIONS,
  buildWorkload,
  fill,
  type KpiDef,
  keyOf,
  METRICS,
  PROJECTS,
  rowsPerKpi,
  slugOf,
  TOTAL,
  WORK,
} from "./scale-data.js";
import {
  checkFigures,
  expectedFigures,
  type Figures,
  floorFigures,
  MEAN_RANGE_FLOOR,
  PCT_RANGE_FLOOR,
} from "./scale-figures.js";
import {
  CONNECTIONS,
  ITERATIONS,
  LOAD_SECONDS,
  ROUNDS,
  report,
  type Timing,
  timing,
  WARM_REQUESTS,
  type WriteRun,
} from "./scale-report.js";
import {
  type Cpu,
  gqlBody,
  graphql,
  post,
  postStream,
  type Server,
  startServer,
  timed,
} from "./scale-server.js";
import { fmt, fmtInt, median } from "./stats.js";

/** The reporting refresher's advisory lock (src/reporting/refresher.ts): held here, it pauses the refresher. */
const REFRESHER_LOCK = 0x75706c69;

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

// ---------------------------------------------------------------------------------------------------------
// The benchmark

export async function scaleBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  const loads: number[] = [loadAverage()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-scale-"));
  const admin = new pg.Client(ctx.dbUrl);
  const lock = new pg.Client(ctx.dbUrl);
  const copier = new pg.Client(ctx.dbUrl);
  // The app's aggregate SQL alone and the floor run on two connections each: both send a KPI's two phases at once.
  const appPool = new pg.Pool({ connectionString: ctx.dbUrl, max: 2 });
  const floors = floorPool({ connectionString: ctx.dbUrl });
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
            const res = await postStream(bulkUrl, work.ndjson).catch((e) => {
              throw new Error(`${e.message}\nthe server's log ends with:\n${server!.logTail()}`);
            });
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
          if (which === "floor") f = await timed(server, ctx.cpu, () => floorFigures(floors, k));
          else a = await timed(server, ctx.cpu, () => appAggregateSql(appPool, spec));
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
        floors,
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
    for (const c of [admin, lock, copier, appPool, floors]) await c.end().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
