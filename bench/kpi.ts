// `kpi`: KPI figures through the GraphQL query (cold: the engine's cache misses; warm: it hits) versus the
// same figures from the simplest raw SQL on a plain pg client (the floor), plus the app's own aggregate SQL
// on that plain client (to split the GraphQL query's time into SQL and everything else).
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { type KpiAggregateSpec, loadPhaseAggregates, type Queryable } from "../src/kpi/phase-aggregates.js";
import { HERE, measured, postJson, type Section, say } from "./common.js";
import { type CpuDelta, type CpuMeter, loadAverage } from "./cpu.js";
import { type Dataset, expectedFigures, GO_LIVE } from "./data.js";
import { httpLoad, type LoadResult, quantile } from "./http-load.js";
import { buildCopyChunks, copyIn, RECORD_MUTATION } from "./ingest.js";
import { MEAN_KEY, MEDIAN_KEY, type ObservationsEnv, ROWS, SLUG } from "./observations-env.js";
import { fmt, fmtInt, median } from "./stats.js";

export const KPI_QUERY = `query Kpi($slug: String!, $metric: String!) {
  project(slug: $slug) {
    kpi(metricKey: $metric) {
      baseline { value count from to }
      current { value count }
      improvementPct
      annualBenefit
    }
  }
}`;

// The floors: the best plain SQL for the same question with the app's plan and parallelism. Each phase is
// one half-open range of observed_at on observation_range (project_id, metric_id, observed_at), read by an
// index-only scan, as the app reads it; seq and bitmap scans are off on the floor's connections, because
// PostgreSQL otherwise picks a parallel seq scan of the whole table for a half-table range (more CPU and,
// at 10 M rows over 1,000 KPIs, far more rows read). The app sends a MEAN KPI's two phases as two statements
// at once (two backends), a percentile KPI's in one; the floor does the same, without parallel workers (left on,
// PostgreSQL's choice varied between runs: a Parallel Append for MEAN, a serial Append with a serial sort for
// MEDIAN). bench/PLANS.md shows both plans.

/** Session settings of the floor's connections (see above). */
export const FLOOR_SETTINGS = [
  "SET max_parallel_workers_per_gather = 0",
  "SET enable_seqscan = off",
  "SET enable_bitmapscan = off",
];

/** A pool of two connections with FLOOR_SETTINGS, for a floor's two phases at once. */
export function floorPool(config: pg.PoolConfig): pg.Pool {
  const options = FLOOR_SETTINGS.map((x) => `-c ${x.replace(/^SET /, "").replace(/ = /, "=")}`).join(" ");
  return new pg.Pool({ ...config, max: 2, options });
}

const phaseRange = (after: boolean) =>
  `project_id = $1 AND metric_id = $2 AND observed_at ${after ? ">= $3" : "< $3"}`;

/** MEAN floor: per phase, one aggregate over its index range. */
export const MEAN_FLOOR_PHASES = [false, true].map(
  (after) => `
SELECT ${after} AS after, sum(value * weight) / sum(weight) AS value, sum(weight) AS count,
       min(observed_at) AS "from", max(observed_at) AS "to"
FROM observation WHERE ${phaseRange(after)}`,
);

/**
 * MEDIAN floor: per phase, the total weight over its index range, then the values of the same range in
 * value order with their cumulative weight; the first that reaches 50 % of the total.
 */
export const MEDIAN_FLOOR_PHASES = [false, true].map(
  (after) => `
SELECT ${after} AS after,
       (SELECT value FROM (
          SELECT value, sum(weight) OVER (ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw
          FROM observation WHERE ${phaseRange(after)}) c
        WHERE cw >= 0.5 * t.w ORDER BY value LIMIT 1) AS value,
       t.w AS count, t.f AS "from", t.l AS "to"
FROM (SELECT sum(weight) AS w, min(observed_at) AS f, max(observed_at) AS l
      FROM observation WHERE ${phaseRange(after)}) t`,
);

export interface Figures {
  baseline: { value: number; count: number; from: string; to: string };
  current: { value: number; count: number };
}

/**
 * A floor's phases with the app's parallelism: MEAN's sent at once on the floor's pool (as the app sends its
 * two), a percentile's in one statement (UNION ALL, one backend), as the app keeps percentile shapes whole.
 */
export async function floorRows(
  pool: pg.Pool,
  phases: string[],
  params: unknown[],
  apart: boolean,
): Promise<any[]> {
  if (!apart) return (await pool.query(phases.join("\nUNION ALL\n"), params)).rows;
  return (await Promise.all(phases.map((sql) => pool.query(sql, params)))).flatMap((r) => r.rows);
}

export async function floorFigures(pool: pg.Pool, phases: string[], params: unknown[]): Promise<Figures> {
  const rows = await floorRows(pool, phases, params, phases === MEAN_FLOOR_PHASES);
  const b = rows.find((r) => r.after === false);
  const a = rows.find((r) => r.after === true);
  return {
    baseline: {
      value: Number(b.value),
      count: Number(b.count),
      from: (b.from as Date).toISOString(),
      to: (b.to as Date).toISOString(),
    },
    current: { value: Number(a.value), count: Number(a.count) },
  };
}

/** pg.Client or pg.Pool as the engine's Queryable (rows only). */
export function queryable(client: pg.Client | pg.Pool): Queryable {
  return { query: async (sql, params) => (await client.query(sql, params)).rows };
}

/**
 * The app's aggregate SQL for one KPI, run through the engine's own loader on a plain pool of two
 * connections (the loader sends a KPI's two phases at once, as the app does on its pool).
 */
export async function appAggregateSql(client: pg.Pool, spec: KpiAggregateSpec): Promise<void> {
  const out = await loadPhaseAggregates(queryable(client), [spec]);
  if (!out.get(spec.kpiId)?.treatment.after.n) throw new Error("app aggregate SQL returned no AFTER rows");
}

/** EXPLAIN (ANALYZE, BUFFERS) of whatever SQL `loadPhaseAggregates` sends for `spec`. */
export async function explainAppSql(client: pg.Client, spec: KpiAggregateSpec): Promise<string> {
  const plans: string[] = [];
  await loadPhaseAggregates(
    {
      query: async (sql, params) => {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
        plans.push(rows.map((r) => r["QUERY PLAN"]).join("\n"));
        return [];
      },
    },
    [spec],
  );
  return plans.join("\n\n");
}

/** EXPLAIN (ANALYZE, BUFFERS) of each of a floor's phases. */
export async function explainSql(
  client: pg.Client | pg.Pool,
  phases: string[],
  params: unknown[],
): Promise<string> {
  const plans: string[] = [];
  for (const sql of phases) {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    plans.push(rows.map((r) => r["QUERY PLAN"]).join("\n"));
  }
  return plans.join("\n\n");
}

// ---------------------------------------------------------------------------------------------------------
// The benchmark

const KPI_WARMUP = 3;
const KPI_ITERATIONS = Number(process.env.BENCH_KPI_ITERATIONS ?? 15);

interface Sample {
  wall: number[];
  cpu: number[];
}

/** Warm requests: one at a time (latency), then from 10 keep-alive connections (throughput). */
const WARM_REQUESTS = Number(process.env.BENCH_KPI_WARM_REQUESTS ?? 5000);
const CONNECTIONS = 10;

interface KpiResult {
  aggregation: "MEAN" | "MEDIAN";
  single: LoadResult;
  concurrent: LoadResult;
  cold: Sample;
  warm: Sample;
  appSql: Sample;
  floor: Sample;
  load: number;
  plans: { app: string; floor: string };
}

function close(a: number, b: number, rel = 1e-9): boolean {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}

function checkFigures(label: string, got: Figures, want: Figures) {
  const ok =
    close(got.baseline.value, want.baseline.value) &&
    close(got.current.value, want.current.value) &&
    got.baseline.count === want.baseline.count &&
    got.current.count === want.current.count &&
    got.baseline.from === want.baseline.from &&
    got.baseline.to === want.baseline.to;
  if (!ok)
    throw new Error(`${label}: figures differ\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
}

async function oneKpi(
  graphqlUrl: string,
  client: pg.Client,
  appPool: pg.Pool,
  floorClient: pg.Pool,
  cpu: CpuMeter,
  data: Dataset,
  aggregation: "MEAN" | "MEDIAN",
  ids: { project: string; metric: string; kpi: string },
): Promise<KpiResult> {
  const metricKey = aggregation === "MEAN" ? MEAN_KEY : MEDIAN_KEY;
  const floorSql = aggregation === "MEAN" ? MEAN_FLOOR_PHASES : MEDIAN_FLOOR_PHASES;
  const floorParams = [ids.project, ids.metric, GO_LIVE.toISOString()];
  const spec: KpiAggregateSpec = {
    kpiId: ids.kpi,
    projectId: ids.project,
    metricId: ids.metric,
    aggregation,
    windows: { before: { from: null, to: GO_LIVE }, after: { from: GO_LIVE, to: null } },
    cohort: null,
  };
  const queryBody = JSON.stringify({ query: KPI_QUERY, variables: { slug: SLUG, metric: metricKey } });
  // Re-recording observation 0 with identical fields changes the KPI's stamp (observation_activity) but not
  // its figures: the next query is a cache miss on the same data.
  const bumpBody = JSON.stringify({
    query: RECORD_MUTATION,
    variables: {
      input: [
        {
          projectSlug: SLUG,
          metricKey,
          observedAt: new Date(data.observedAt[0]).toISOString(),
          value: data.value[0],
          weight: 1,
          externalId: data.externalId(0),
        },
      ],
    },
  });
  const expected = expectedFigures(data);
  const pick = aggregation === "MEAN" ? "mean" : "median";
  const want: Figures = {
    baseline: {
      value: expected.before[pick],
      count: expected.before.count,
      from: expected.before.from,
      to: expected.before.to,
    },
    current: { value: expected.after[pick], count: expected.after.count },
  };

  const empty = (): Sample => ({ wall: [], cpu: [] });
  const r: KpiResult = {
    aggregation,
    cold: empty(),
    warm: empty(),
    appSql: empty(),
    floor: empty(),
    load: loadAverage(),
    plans: { app: "", floor: "" },
    single: null as unknown as LoadResult,
    concurrent: null as unknown as LoadResult,
  };
  for (let i = 0; i < KPI_WARMUP + KPI_ITERATIONS; i++) {
    const bump = await postJson(graphqlUrl, bumpBody);
    if (bump.recordObservations.updated !== 1) throw new Error("stamp bump did not update observation 0");
    const cold = await measured(cpu, () => postJson(graphqlUrl, queryBody));
    const warm = await measured(cpu, () => postJson(graphqlUrl, queryBody));
    // The app's SQL and the floor take turns going first.
    let appSql: [number, CpuDelta, unknown] | null = null;
    let floor: [number, CpuDelta, Figures] | null = null;
    for (const which of i % 2 === 0 ? ["app", "floor"] : ["floor", "app"]) {
      if (which === "app") appSql = await measured(cpu, () => appAggregateSql(appPool, spec));
      else floor = await measured(cpu, () => floorFigures(floorClient, floorSql, floorParams));
    }
    if (i === 0) {
      checkFigures(`${aggregation} GraphQL (cold)`, cold[2].project.kpi, want);
      checkFigures(`${aggregation} GraphQL (warm)`, warm[2].project.kpi, want);
      checkFigures(`${aggregation} SQL floor`, floor![2], want);
    }
    if (i >= KPI_WARMUP) {
      for (const [sample, m] of [
        [r.cold, cold],
        [r.warm, warm],
        [r.appSql, appSql!],
        [r.floor, floor!],
      ] as const) {
        sample.wall.push(m[0]);
        sample.cpu.push(m[1].totalMs);
      }
    }
  }
  if (median(r.cold.wall) < 3 * median(r.warm.wall)) {
    throw new Error(`${aggregation}: cold queries are not slower than warm ones; did the cache miss?`);
  }
  // Warm: the figures cached, every request still reads the stamps (one statement).
  const check = (answer: string) =>
    checkFigures(`${aggregation} GraphQL (warm load)`, JSON.parse(answer).data.project.kpi, want);
  r.single = await httpLoad(graphqlUrl, queryBody, {
    requests: Math.ceil(WARM_REQUESTS / 2),
    connections: 1,
    cpu,
    check,
  });
  r.concurrent = await httpLoad(graphqlUrl, queryBody, {
    requests: WARM_REQUESTS,
    connections: CONNECTIONS,
    cpu,
    check,
  });
  say(
    `kpi: ${aggregation} warm: one client p50 ${fmt(quantile(r.single.latencies, 0.5), 2)} ms, p99 ${fmt(quantile(r.single.latencies, 0.99), 2)} ms; ` +
      `${CONNECTIONS} connections ${fmtInt(r.concurrent.perSecond)} req/s, CPU ${fmt(r.concurrent.cpuPerRequestMs, 3)} ms/request`,
  );
  r.plans.app = await explainAppSql(client, spec);
  r.plans.floor = await explainSql(floorClient, floorSql, floorParams);
  say(
    `kpi: ${aggregation}: GraphQL cold ${fmt(median(r.cold.wall))} ms, warm ${fmt(median(r.warm.wall))} ms, ` +
      `app SQL ${fmt(median(r.appSql.wall))} ms, floor ${fmt(median(r.floor.wall))} ms`,
  );
  return r;
}

/**
 * KPI figures at 1M observations per KPI. `meanSource` says where the MEAN metric's rows came from (the last
 * ingest run); null: nothing loaded yet, they are COPYed here. The MEDIAN metric gets the same rows by COPY;
 * then VACUUM ANALYZE (index-only scans for both sides). Writes bench/PLANS.md.
 */
export async function kpiBenchmark(env: ObservationsEnv, meanSource: string | null): Promise<Section> {
  const started = Date.now();
  const { admin, copier, data, ids } = env;
  if (meanSource === null) {
    say("kpi: loading the MEAN metric's rows with COPY");
    await copyIn(copier, buildCopyChunks(data, ids.project, ids.mean), data.n);
  }
  say("kpi: loading the MEDIAN metric's rows with COPY; VACUUM ANALYZE");
  await copyIn(copier, buildCopyChunks(data, ids.project, ids.median), data.n);
  await admin.query("VACUUM ANALYZE observation");
  await admin.query("VACUUM ANALYZE observation_activity");
  await admin.query("CHECKPOINT");
  const url = env.bench.graphqlUrl;
  const connection = {
    host: admin.host,
    port: admin.port,
    user: admin.user,
    password: admin.password,
    database: admin.database,
  };
  const floorClient = floorPool(connection);
  const appPool = new pg.Pool({ ...connection, max: 2 });
  try {
    const kpis = [
      await oneKpi(url, admin, appPool, floorClient, env.cpu, data, "MEAN", {
        project: ids.project,
        metric: ids.mean,
        kpi: ids.kpiMean,
      }),
      await oneKpi(url, admin, appPool, floorClient, env.cpu, data, "MEDIAN", {
        project: ids.project,
        metric: ids.median,
        kpi: ids.kpiMedian,
      }),
    ];
    const plans = kpis
      .map(
        (k) =>
          `## ${k.aggregation}\n\n### App aggregate SQL (loadPhaseAggregates)\n\n\`\`\`\n${k.plans.app}\n\`\`\`\n\n### Raw SQL floor\n\n\`\`\`\n${k.plans.floor}\n\`\`\`\n`,
      )
      .join("\n");
    fs.writeFileSync(
      path.join(HERE, "PLANS.md"),
      `# Query plans at ${fmtInt(ROWS)} observations per KPI (written by \`npm run bench\`, benchmark \`kpi\`)\n\n` +
        `The floor runs on plain connections with \`${FLOOR_SETTINGS.join("; ")}\`, so that it reads each phase ` +
        "by the same index-only range scan on `observation_range` as the app (left alone, PostgreSQL picks a " +
        "parallel seq scan of the whole table for a half-table range); MEAN's two phases are sent at once on two " +
        "connections, MEDIAN's in one statement, as the app sends them. Each phase's plan is shown.\n\n" +
        plans,
    );
    return kpiSection(kpis, meanSource ?? "COPY", (Date.now() - started) / 1000);
  } finally {
    await floorClient.end().catch(() => undefined);
    await appPool.end().catch(() => undefined);
  }
}

function kpiSection(kpis: KpiResult[], meanSource: string, seconds: number): Section {
  const t: string[] = [];
  t.push(`Medians of ${KPI_ITERATIONS} iterations after ${KPI_WARMUP} warm-up:`);
  t.push("");
  t.push(
    "| aggregation | GraphQL cold, ms | GraphQL warm, ms | app aggregate SQL alone, ms | raw SQL floor, ms | cold / floor | warm / floor | CPU ms cold / floor (ratio) |",
  );
  t.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const k of kpis) {
    const floor = median(k.floor.wall);
    t.push(
      `| ${k.aggregation} | ${fmt(median(k.cold.wall))} | ${fmt(median(k.warm.wall))} | ${fmt(median(k.appSql.wall))} | ${fmt(floor)} | ${fmt(median(k.cold.wall) / floor, 2)}× | ${fmt(median(k.warm.wall) / floor, 3)}× | ${fmt(median(k.cold.cpu))} / ${fmt(median(k.floor.cpu))} (${fmt(median(k.cold.cpu) / median(k.floor.cpu), 2)}×) |`,
    );
  }
  t.push("");
  t.push(
    `Warm (figures cached; every request still reads the change stamps, one statement), over HTTP keep-alive: ${fmtInt(Math.ceil(WARM_REQUESTS / 2))} requests one at a time, then ${fmtInt(WARM_REQUESTS)} from ${CONNECTIONS} concurrent connections. CPU = Node (app and this client, one process) + PostgreSQL, per request:`,
  );
  t.push("");
  t.push(
    "| aggregation | one client p50 / p99, ms | one client req/s | CPU ms/request (Node + PostgreSQL), one client | 10 connections req/s | 10 connections p50 / p99, ms | CPU ms/request (Node + PostgreSQL), 10 connections |",
  );
  t.push("| --- | --- | ---: | ---: | ---: | --- | --- |");
  for (const k of kpis) {
    const q = (r: LoadResult, x: number) => fmt(quantile(r.latencies, x), 2);
    const c = k.concurrent;
    t.push(
      `| ${k.aggregation} | ${q(k.single, 0.5)} / ${q(k.single, 0.99)} | ${fmtInt(k.single.perSecond)} | ${fmt(k.single.nodeCpuPerRequestMs, 3)} + ${fmt(k.single.cpuPerRequestMs - k.single.nodeCpuPerRequestMs, 3)} | ${fmtInt(c.perSecond)} | ${q(c, 0.5)} / ${q(c, 0.99)} | ${fmt(c.nodeCpuPerRequestMs, 3)} + ${fmt(c.cpuPerRequestMs - c.nodeCpuPerRequestMs, 3)} = ${fmt(c.cpuPerRequestMs, 3)} |`,
    );
  }
  t.push("");
  t.push("Spread, min – max ms:");
  t.push("");
  const range = (xs: number[]) => `${fmt(Math.min(...xs))} – ${fmt(Math.max(...xs))}`;
  for (const k of kpis) {
    t.push(
      `- ${k.aggregation}: cold ${range(k.cold.wall)}, warm ${range(k.warm.wall)}, app SQL ${range(k.appSql.wall)}, floor ${range(k.floor.wall)} (load average at start ${fmt(k.load, 2)})`,
    );
  }
  const ratioOf = (k: KpiResult) => median(k.cold.wall) / median(k.floor.wall);
  const warmMet = (k: KpiResult) => quantile(k.single.latencies, 0.5) <= 2 && k.concurrent.perSecond >= 2000;
  const warmLines = kpis.map(
    (k) =>
      `- KPI ${k.aggregation}, warm: p50 ${fmt(quantile(k.single.latencies, 0.5), 2)} ms one client, ${fmtInt(k.concurrent.perSecond)} req/s with ${CONNECTIONS} connections — target p50 ≤ 2 ms and ≥ 2,000 req/s ${warmMet(k) ? "met" : "NOT met"}`,
  );
  const ratios = kpis.map(
    (k) =>
      `- KPI ${k.aggregation}, GraphQL cold / raw SQL: ${fmt(ratioOf(k), 2)}× (warm ${fmt(median(k.warm.wall) / median(k.floor.wall), 3)}×; by CPU ${fmt(median(k.cold.cpu) / median(k.floor.cpu), 2)}×) — target ≤ 1.5× ${ratioOf(k) <= 1.5 ? "met" : "NOT met"}`,
  );
  const body = `Set-up:

- The ingest benchmark's data set (${fmtInt(ROWS)} observations, \`bench/data.ts\`) on the same in-process app. The MEAN KPI's rows come
  from ${meanSource === "COPY" ? "COPY (the ingest benchmark did not run this time)" : `the last ingest run (${meanSource})`}, the MEDIAN KPI's rows (same values, second metric) from COPY; then
  \`VACUUM ANALYZE\`. Query: \`project(slug){ kpi(metricKey){ baseline{value count from to} current{value count}
  improvementPct annualBenefit } }\`.
- Cold = the engine's cache misses: before each cold query, observation 0 of the KPI is re-recorded with identical
  fields through \`recordObservations\`, which changes the KPI's stamp but not its figures. Warm = the same query
  again right after (cache hit). "App aggregate SQL alone" = the engine's \`loadPhaseAggregates\` on a plain pg
  pool of 2 connections (as on the app's pool). Floors (\`bench/kpi.ts\`), the best plain SQL with the app's plan: each phase is its own range
  (\`project_id=$1 AND metric_id=$2 AND observed_at < $3\`, resp. \`>= $3\`), read by an index-only scan on
  \`observation_range\` as the app reads it (plain connections with ${FLOOR_SETTINGS.map((x) => `\`${x.replace(/^SET /, "")}\``).join(", ")}:
  left alone PostgreSQL picks a parallel seq scan of the whole table), with the app's parallelism: MEAN's two phases
  sent at once on two connections, MEDIAN's in one statement (\`UNION ALL\`); MEAN \`sum(value*weight)/sum(weight), sum(weight),
  min(observed_at), max(observed_at)\` per phase; MEDIAN the phase's total weight, then its values in
  value order with \`sum(weight) OVER (ORDER BY value ROWS UNBOUNDED PRECEDING)\`, the first reaching 50 %. Every
  answer is checked against figures computed in JavaScript.

${t.join("\n")}

${ratios.join("\n")}
${warmLines.join("\n")}

Query plans (EXPLAIN ANALYZE, BUFFERS) of this run: \`bench/PLANS.md\`.`;
  return {
    name: "kpi",
    title: `KPI figures at ${fmtInt(ROWS)} observations per KPI, GraphQL vs raw SQL`,
    summary: `GraphQL cold / raw SQL: ${kpis.map((k) => `${k.aggregation} ${fmt(ratioOf(k), 2)}×`).join(", ")} (target ≤ 1.5×: ${kpis.every((k) => ratioOf(k) <= 1.5) ? "met" : "NOT met"}); warm p50 ${kpis.map((k) => `${fmt(quantile(k.single.latencies, 0.5), 2)} ms`).join(" / ")}, ${kpis.map((k) => fmtInt(k.concurrent.perSecond)).join(" / ")} req/s with ${CONNECTIONS} connections (target ≤ 2 ms, ≥ 2,000: ${kpis.every(warmMet) ? "met" : "NOT met"})`,
    body,
    loads: kpis.map((k) => k.load),
    seconds,
  };
}
