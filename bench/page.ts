// `page`: a project page — all KPIs with statistics and a 52-week series, and the ROI — at 1,000,000
// observations per KPI (MEAN, MEDIAN and P90), through GraphQL cold (every KPI's stamp changed first) and
// warm, versus the same aggregates in plain SQL run one after another on one pg client (the floor). The
// MEDIAN/P90 confidence interval (a seeded bootstrap) is timed on its own as well.
import pg from "pg";
import { BOOTSTRAP_MAX_VALUES, BOOTSTRAP_SAMPLE_SEED, loadPhaseValues } from "../src/kpi/bootstrap-sample.js";
import { loadPhaseAggregates } from "../src/kpi/phase-aggregates.js";
import { loadSeries } from "../src/kpi/series.js";
import {
  BOOTSTRAP_RESAMPLES,
  BOOTSTRAP_SEED,
  bootstrapImprovementInterval,
} from "../src/kpi/statistics/index.js";
import { stampTouched } from "../src/store/observations.js";
import { type BenchContext, measured, postJson, type Section, say, startBenchApp } from "./common.js";
import { loadAverage } from "./cpu.js";
import { type Dataset, GO_LIVE, generateDataset } from "./data.js";
import { httpLoad, type LoadResult, quantile } from "./http-load.js";
import { buildCopyChunks, copyIn, RECORD_MUTATION } from "./ingest.js";
import { queryable } from "./kpi.js";
import { fmt, fmtInt, median } from "./stats.js";

const ROWS = Number(process.env.BENCH_PAGE_ROWS ?? 1_000_000);
const WARMUP = 1;
const ITERATIONS = Number(process.env.BENCH_PAGE_ITERATIONS ?? 5);
const CONFIDENCE_ITERATIONS = 5;
const SLUG = "page";
const WEEK_MS = 7 * 86_400_000;

type Agg = "MEAN" | "MEDIAN" | "P90";
const KPIS: { key: string; aggregation: Agg; p: number | null }[] = [
  { key: "page.mean", aggregation: "MEAN", p: null },
  { key: "page.median", aggregation: "MEDIAN", p: 0.5 },
  { key: "page.p90", aggregation: "P90", p: 0.9 },
];

/** A page of projects (`projects(stage: PILOT)`): 20 projects × the three KPIs, PAGE_ROWS observations each. */
const PAGE_SLUGS = Array.from({ length: 20 }, (_, i) => `pilot-${String(i + 1).padStart(2, "0")}`);
const PAGE_ROWS = Number(process.env.BENCH_PAGE_PROJECT_ROWS ?? 5_000);
const PAGE_REQUESTS = 200;
const projectsPageQuery = JSON.stringify({
  query: `{ projects(stage: PILOT) { slug name stage kpis { metric { key } baseline { value count } current { value count }
    improvementPct targetMet annualBenefit updatedAt } roi { roiPct } } }`,
});

const CONFIG = `currency: USD
metrics:
${KPIS.map(
  (k) => `  - key: ${k.key}
    name: Resolution time (${k.aggregation})
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: ${k.aggregation}
`,
).join("")}projects:
  - slug: ${SLUG}
    name: Project page benchmark
    stage: PRODUCTION
    goLiveAt: ${GO_LIVE.toISOString()}
    kpis:
${KPIS.map(
  (k) => `      - metric: ${k.key}
        target: 5
        valuePerUnit: 1.0
`,
).join("")}    costs:
      - { label: Build, kind: ONE_TIME, amount: 100000, startsAt: 2025-12-01T00:00:00Z }
      - { label: Inference, kind: MONTHLY, amount: 2000, startsAt: 2026-03-01T00:00:00Z }
${PAGE_SLUGS.map(
  (slug) => `  - slug: ${slug}
    name: Portfolio page project ${slug}
    stage: PILOT
    goLiveAt: ${GO_LIVE.toISOString()}
    kpis:
${KPIS.map((k) => `      - { metric: ${k.key}, target: 5, valuePerUnit: 1.0, annualVolume: 1000 }\n`).join("")}    costs:
      - { label: Build, kind: ONE_TIME, amount: 50000, startsAt: 2025-12-01T00:00:00Z }
`,
).join("")}`;

const pageQuery = (from: string) => `query Page($slug: String!) {
  project(slug: $slug) {
    kpis {
      metric { key }
      baseline { value count }
      current { value count }
      improvementPct
      pValue
      confidence { low high }
      series(bucket: WEEK, from: "${from}") { start phase value count }
    }
    roi { roiPct }
  }
}`;
const confidenceQuery = `query C($slug: String!, $metric: String!) {
  project(slug: $slug) { kpi(metricKey: $metric) { confidence { low high level } } }
}`;
const figuresQuery = `query F($slug: String!, $metric: String!) {
  project(slug: $slug) { kpi(metricKey: $metric) { baseline { value } } }
}`;

// ---------------------------------------------------------------------------------------------------------
// The floor: per KPI, phase value and weight (mean or weighted percentile), the moments for Welch's t-test
// (MEAN only: MEDIAN/P90 have no pValue), and the 52-week series, in the plainest SQL.

const MEAN_FIGURES = `
SELECT observed_at >= $3 AS after, sum(value * weight) / sum(weight) AS value, sum(weight) AS count,
       count(*) AS n, avg(value) AS mean, var_samp(value) AS var
FROM observation WHERE project_id = $1 AND metric_id = $2
GROUP BY 1`;
const PCT_FIGURES = `
SELECT after, min(value) FILTER (WHERE cw >= $4 * tw) AS value, sum(weight) AS count
FROM (
  SELECT observed_at >= $3 AS after, value, weight,
         sum(weight) OVER (PARTITION BY observed_at >= $3 ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw,
         sum(weight) OVER (PARTITION BY observed_at >= $3) AS tw
  FROM observation WHERE project_id = $1 AND metric_id = $2
) c
GROUP BY after`;
const WEEK = `(date_trunc('week', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`;
const MEAN_SERIES = `
SELECT ${WEEK} AS start, observed_at >= $3 AS after, sum(value * weight) / sum(weight) AS value, sum(weight) AS count
FROM observation WHERE project_id = $1 AND metric_id = $2 AND observed_at >= $4
GROUP BY 1, 2 ORDER BY 1, 2`;
const PCT_SERIES = `
SELECT start, after, min(value) FILTER (WHERE cw >= $5 * tw) AS value, sum(weight) AS count
FROM (
  SELECT ${WEEK} AS start, observed_at >= $3 AS after, value, weight,
         sum(weight) OVER (PARTITION BY ${WEEK}, observed_at >= $3 ORDER BY value ROWS UNBOUNDED PRECEDING) AS cw,
         sum(weight) OVER (PARTITION BY ${WEEK}, observed_at >= $3) AS tw
  FROM observation WHERE project_id = $1 AND metric_id = $2 AND observed_at >= $4
) s
GROUP BY 1, 2 ORDER BY 1, 2`;

interface Point {
  start: string;
  phase: "BEFORE" | "AFTER";
  value: number | null;
  count: number;
}
interface KpiAnswer {
  key: string;
  baseline: { value: number; count: number };
  current: { value: number; count: number };
  series: Point[];
}

async function floorAnswer(
  client: pg.Client,
  k: (typeof KPIS)[number],
  ids: { project: string; metric: string },
  seriesFrom: Date,
): Promise<KpiAnswer> {
  const base = [ids.project, ids.metric, GO_LIVE.toISOString()];
  const fig =
    k.p === null ? await client.query(MEAN_FIGURES, base) : await client.query(PCT_FIGURES, [...base, k.p]);
  const ser =
    k.p === null
      ? await client.query(MEAN_SERIES, [...base, seriesFrom.toISOString()])
      : await client.query(PCT_SERIES, [...base, seriesFrom.toISOString(), k.p]);
  const phase = (after: boolean) => {
    const r = fig.rows.find((x) => x.after === after);
    return { value: Number(r.value), count: Number(r.count) };
  };
  return {
    key: k.key,
    baseline: phase(false),
    current: phase(true),
    series: ser.rows.map((r) => ({
      start: (r.start as Date).toISOString(),
      phase: r.after ? "AFTER" : "BEFORE",
      value: r.value === null ? null : Number(r.value),
      count: Number(r.count),
    })),
  };
}

function appAnswer(kpi: any): KpiAnswer {
  return {
    key: kpi.metric.key,
    baseline: kpi.baseline,
    current: kpi.current,
    series: kpi.series.map((p: any) => ({ ...p, start: new Date(p.start).toISOString() })),
  };
}

const close = (a: number | null, b: number | null) =>
  a === b || (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));

function compare(label: string, got: KpiAnswer, want: KpiAnswer) {
  const bad = (what: string) => {
    throw new Error(`${label} ${want.key}: ${what} differ`);
  };
  for (const side of ["baseline", "current"] as const) {
    if (!close(got[side].value, want[side].value) || got[side].count !== want[side].count) {
      bad(`${side} (${JSON.stringify(got[side])} vs ${JSON.stringify(want[side])})`);
    }
  }
  if (got.series.length !== want.series.length)
    bad(`series lengths (${got.series.length} vs ${want.series.length})`);
  for (const [i, p] of got.series.entries()) {
    const q = want.series[i]!;
    if (p.start !== q.start || p.phase !== q.phase || p.count !== q.count || !close(p.value, q.value)) {
      bad(`series point ${i} (${JSON.stringify(p)} vs ${JSON.stringify(q)})`);
    }
  }
}

/** The JavaScript truth for the phase figures (weights 1): mean, or the ⌈p·n⌉-th smallest value. */
function expected(d: Dataset, p: number | null) {
  const half = Math.floor(d.n / 2);
  const phase = (lo: number, hi: number) => {
    const xs = Float64Array.from(d.value.subarray(lo, hi)).sort();
    const n = hi - lo;
    const value = p === null ? xs.reduce((s, x) => s + x, 0) / n : xs[Math.ceil(p * n) - 1]!;
    return { value, count: n };
  };
  return { baseline: phase(0, half), current: phase(half, d.n) };
}

/** The first Monday 00:00 UTC at or after `t`: the first week the series keeps. */
function firstWeekStart(t: Date): Date {
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const back = (d.getUTCDay() + 6) % 7; // days since Monday
  const monday = new Date(d.getTime() - back * 86_400_000);
  return monday.getTime() >= t.getTime() ? monday : new Date(monday.getTime() + WEEK_MS);
}

interface Timing {
  wall: number[];
  cpu: number[];
}
const timing = (): Timing => ({ wall: [], cpu: [] });

export async function pageBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  const bench = await startBenchApp(ctx.dbUrl, CONFIG);
  const client = new pg.Client(ctx.dbUrl);
  try {
    await client.connect();
    const { rows: idRows } = await client.query(
      `SELECT m.key, p.id::text AS project, m.id::text AS metric, k.id::text AS kpi
       FROM kpi k JOIN project p ON p.id = k.project_id JOIN metric m ON m.id = k.metric_id WHERE p.slug = $1`,
      [SLUG],
    );
    const ids = new Map(
      idRows.map((r) => [r.key as string, r as { project: string; metric: string; kpi: string }]),
    );
    const data = generateDataset(ROWS);
    for (const k of KPIS) {
      say(`page: COPY ${fmtInt(ROWS)} observations for ${k.key}`);
      const id = ids.get(k.key)!;
      await copyIn(client, buildCopyChunks(data, id.project, id.metric), ROWS);
    }
    // The 20 pilot projects of the projects page: the same small data set under each of their KPIs.
    const small = generateDataset(PAGE_ROWS);
    const { rows: pilotPairs } = await client.query(
      `SELECT k.project_id::text AS project, k.metric_id::text AS metric
       FROM kpi k JOIN project p ON p.id = k.project_id WHERE p.slug = ANY($1)`,
      [PAGE_SLUGS],
    );
    say(`page: COPY ${fmtInt(PAGE_ROWS)} observations for each of ${pilotPairs.length} pilot KPIs`);
    for (const pair of pilotPairs)
      await copyIn(client, buildCopyChunks(small, pair.project, pair.metric), PAGE_ROWS);
    // Stamped as every write path stamps (a bare COPY would leave figures computed at start-up current).
    await stampTouched(
      client,
      pilotPairs.map((x) => ({ projectId: x.project, metricId: x.metric })),
    );
    say("page: VACUUM ANALYZE");
    await client.query("VACUUM ANALYZE observation");
    await client.query("VACUUM ANALYZE observation_activity");
    await client.query("CHECKPOINT");

    const last = new Date(data.observedAt[ROWS - 1]!);
    const from = new Date(last.getTime() - 52 * WEEK_MS);
    const query = JSON.stringify({ query: pageQuery(from.toISOString()), variables: { slug: SLUG } });
    /** Re-records observation 0 of these KPIs unchanged: their stamps change, so they are cold. */
    const bumpBody = (keys: readonly string[]) =>
      JSON.stringify({
        query: RECORD_MUTATION,
        variables: {
          input: keys.map((key) => ({
            projectSlug: SLUG,
            metricKey: key,
            observedAt: new Date(data.observedAt[0]!).toISOString(),
            value: data.value[0],
            weight: 1,
            externalId: data.externalId(0),
          })),
        },
      });
    const bodies = new Map<string, string>();
    const url = bench.graphqlUrl;
    const bump = async (keys: readonly string[] = KPIS.map((k) => k.key)) => {
      const body = bodies.get(keys.join()) ?? bumpBody(keys);
      bodies.set(keys.join(), body);
      const r = await postJson(url, body);
      if (r.recordObservations.updated !== keys.length)
        throw new Error("stamp bump did not update observation 0");
    };
    const floorAll = async () => {
      const out: KpiAnswer[] = [];
      for (const k of KPIS) out.push(await floorAnswer(client, k, ids.get(k.key)!, firstWeekStart(from)));
      return out;
    };

    // The page, cold and warm, and the floor (taking turns going first).
    const cold = timing();
    const warm = timing();
    const floor = timing();
    const loads: number[] = [];
    let sample: any = null;
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      loads.push(loadAverage());
      let c: [number, { totalMs: number }, any] | null = null;
      let w: [number, { totalMs: number }, any] | null = null;
      let f: [number, { totalMs: number }, KpiAnswer[]] | null = null;
      for (const which of i % 2 === 0 ? ["app", "floor"] : ["floor", "app"]) {
        // Every measurement starts with the reporting refresher idle. The app's cold page follows its own
        // stamp change, which starts the refresher on the same KPIs as in a deployment; the floor runs
        // once that refresh is over (before, a floor going first gave the refresher its whole run to
        // compute the figures the app then found cached, and the app going first shared its run with it).
        await bench.app.reporting.drainNow();
        if (which === "app") {
          await bump();
          c = await measured(ctx.cpu, () => postJson(url, query));
          w = await measured(ctx.cpu, () => postJson(url, query));
        } else f = await measured(ctx.cpu, floorAll);
      }
      if (i === 0) {
        sample = c![2];
        const kpis = c![2].project.kpis as any[];
        for (const k of KPIS) {
          const got = kpis.find((x) => x.metric.key === k.key);
          const fl = f![2].find((x) => x.key === k.key)!;
          compare("GraphQL cold vs floor", appAnswer(got), fl);
          compare(
            "GraphQL warm vs floor",
            appAnswer((w![2].project.kpis as any[]).find((x) => x.metric.key === k.key)),
            fl,
          );
          const js = expected(data, k.p);
          compare("floor vs JavaScript", { ...fl, series: [] }, { key: k.key, ...js, series: [] });
          if (k.p !== null && (got.confidence === null || got.pValue !== null)) {
            throw new Error(
              `${k.key}: expected a bootstrap interval and no pValue, got ${JSON.stringify(got)}`,
            );
          }
          if (k.p === null && (got.confidence === null || got.pValue === null)) {
            throw new Error(`${k.key}: expected Welch's interval and a pValue, got ${JSON.stringify(got)}`);
          }
        }
        if (c![2].project.roi.roiPct === null) throw new Error("roiPct is null");
      }
      if (i >= WARMUP) {
        for (const [t, m] of [
          [cold, c!],
          [warm, w!],
          [floor, f!],
        ] as const) {
          t.wall.push(m[0]);
          t.cpu.push(m[1].totalMs);
        }
      }
      say(
        `page: iteration ${i + 1}${i < WARMUP ? " (warm-up)" : ""}: cold ${fmt(c![0], 0)} ms, warm ${fmt(w![0], 1)} ms, floor ${fmt(f![0], 0)} ms; load ${fmt(loads[loads.length - 1]!, 2)}`,
      );
    }

    // Where the time goes: each piece alone on the plain client, the app's SQL (through the engine's own
    // loaders) and the floor's, medians of 3.
    await bench.app.reporting.drainNow();
    const pieces: Record<string, Record<string, number>> = {};
    const windows = { before: { from: null, to: GO_LIVE }, after: { from: GO_LIVE, to: null } };
    const time3 = async (f: () => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await f();
        xs.push(performance.now() - t0);
      }
      return median(xs);
    };
    for (const k of KPIS) {
      const id = ids.get(k.key)!;
      const spec = {
        kpiId: id.kpi,
        projectId: id.project,
        metricId: id.metric,
        aggregation: k.aggregation,
        windows,
        cohort: null,
      };
      const base = [id.project, id.metric, GO_LIVE.toISOString()];
      const weekFrom = firstWeekStart(from).toISOString();
      pieces[k.key] = {
        appFigures: await time3(() => loadPhaseAggregates(queryable(client), [spec])),
        appSeries: await time3(() =>
          loadSeries(queryable(client), { ...spec, bucket: "WEEK", from, to: null }),
        ),
        floorFigures: await time3(() =>
          k.p === null ? client.query(MEAN_FIGURES, base) : client.query(PCT_FIGURES, [...base, k.p]),
        ),
        floorSeries: await time3(() =>
          k.p === null
            ? client.query(MEAN_SERIES, [...base, weekFrom])
            : client.query(PCT_SERIES, [...base, weekFrom, k.p]),
        ),
      };
    }

    // The projects page (20 projects), warm: computed once, then requests one at a time.
    const pageCheck = (answer: string) => {
      const projects = JSON.parse(answer).data.projects as any[];
      const js = KPIS.map((k) => expected(small, k.p));
      if (projects.length !== PAGE_SLUGS.length)
        throw new Error(`projects page: ${projects.length} projects`);
      for (const p of projects) {
        p.kpis.forEach((k: any, j: number) => {
          const want = js[KPIS.findIndex((x) => x.key === k.metric.key)]!;
          if (!close(k.baseline.value, want.baseline.value) || k.current.count !== want.current.count)
            throw new Error(`projects page ${p.slug} ${k.metric.key} (#${j}): ${JSON.stringify(k)}`);
        });
      }
    };
    const pageCold = await measured(ctx.cpu, () => postJson(url, projectsPageQuery));
    const projectsPage = await httpLoad(url, projectsPageQuery, {
      requests: PAGE_REQUESTS,
      connections: 1,
      cpu: ctx.cpu,
      check: pageCheck,
    });
    say(
      `page: projects page (20 projects, ${KPIS.length * PAGE_SLUGS.length} KPIs): first ${fmt(pageCold[0], 0)} ms, warm p50 ${fmt(quantile(projectsPage.latencies, 0.5), 1)} ms, p99 ${fmt(quantile(projectsPage.latencies, 0.99), 1)} ms`,
    );

    // The confidence interval alone, per KPI.
    const conf: Record<
      string,
      { cold: number[]; bootstrap: number[]; values: number[]; compute: number[]; sampled: number }
    > = {};
    for (const k of KPIS) {
      const id = ids.get(k.key)!;
      const vars = JSON.stringify({ slug: SLUG, metric: k.key });
      const cq = JSON.stringify({ query: confidenceQuery, variables: JSON.parse(vars) });
      const fq = JSON.stringify({ query: figuresQuery, variables: JSON.parse(vars) });
      const r = {
        cold: [] as number[],
        bootstrap: [] as number[],
        values: [] as number[],
        compute: [] as number[],
        sampled: 0,
      };
      for (let i = 0; i < CONFIDENCE_ITERATIONS; i++) {
        // Only this KPI changes: the refresher, as deployed, recomputes it alongside the request.
        await bench.app.reporting.drainNow();
        await bump([k.key]);
        const t0 = performance.now();
        await postJson(url, cq);
        r.cold.push(performance.now() - t0);
        await bench.app.reporting.drainNow();
        await bump([k.key]);
        await postJson(url, fq); // figures cached; the interval is not computed yet
        const t1 = performance.now();
        await postJson(url, cq);
        r.bootstrap.push(performance.now() - t1);
        if (k.p !== null) {
          // The same two steps the engine takes, timed apart: loading the values (SQL) and the bootstrap.
          const half = Math.floor(ROWS / 2);
          const t2 = performance.now();
          const values = await loadPhaseValues(
            queryable(client),
            {
              projectId: id.project,
              metricId: id.metric,
              windows: { before: { from: null, to: GO_LIVE }, after: { from: GO_LIVE, to: null } },
              cohort: null,
            },
            { before: half, after: ROWS - half },
          );
          const t3 = performance.now();
          bootstrapImprovementInterval(values.before, values.after, k.p, "LOWER_IS_BETTER");
          const t4 = performance.now();
          r.values.push(t3 - t2);
          r.compute.push(t4 - t3);
          r.sampled = values.before.length + values.after.length;
        }
      }
      conf[k.key] = r;
      say(
        `page: ${k.key} confidence: cold ${fmt(median(r.cold), 0)} ms, with figures cached ${fmt(median(r.bootstrap), 0)} ms` +
          (k.p === null
            ? ""
            : ` (values ${fmt(median(r.values), 0)} ms + bootstrap ${fmt(median(r.compute), 0)} ms)`),
      );
    }
    return report({
      projectsPage,
      projectsPageFirst: pageCold[0],
      cold,
      warm,
      floor,
      loads,
      conf,
      pieces,
      sample,
      from,
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    await client.end().catch(() => undefined);
    await bench.stop();
  }
}

function report(r: {
  projectsPage: LoadResult;
  projectsPageFirst: number;
  cold: Timing;
  warm: Timing;
  floor: Timing;
  loads: number[];
  conf: Record<
    string,
    { cold: number[]; bootstrap: number[]; values: number[]; compute: number[]; sampled: number }
  >;
  pieces: Record<string, Record<string, number>>;
  sample: any;
  from: Date;
  seconds: number;
}): Section {
  const floor = median(r.floor.wall);
  const ratio = median(r.cold.wall) / floor;
  const range = (xs: number[]) => `${fmt(Math.min(...xs), 0)} – ${fmt(Math.max(...xs), 0)}`;
  const t: string[] = [
    `| | median ms | min – max ms | CPU ms, Node + PostgreSQL (median) | / floor |`,
    "| --- | ---: | --- | ---: | ---: |",
    `| GraphQL page, cold | ${fmt(median(r.cold.wall), 0)} | ${range(r.cold.wall)} | ${fmt(median(r.cold.cpu), 0)} | ${fmt(ratio, 2)}× |`,
    `| GraphQL page, warm | ${fmt(median(r.warm.wall), 1)} | ${fmt(Math.min(...r.warm.wall), 1)} – ${fmt(Math.max(...r.warm.wall), 1)} | ${fmt(median(r.warm.cpu), 0)} | ${fmt(median(r.warm.wall) / floor, 3)}× |`,
    `| raw SQL floor, sequential | ${fmt(floor, 0)} | ${range(r.floor.wall)} | ${fmt(median(r.floor.cpu), 0)} | 1× |`,
  ];
  const c: string[] = [
    "| KPI | confidence alone, cold (figures + interval), ms | interval with the figures cached, ms | of which: loading the values (SQL), ms | the bootstrap itself, ms | values bootstrapped (both phases) |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  /** The bootstrap's share: the interval once the figures are known (loading the sample + resampling). */
  let share = 0;
  /** A cold query of `confidence` alone: the KPI's figures first (the sampling rate needs the phase sizes). */
  let coldOnly = 0;
  for (const k of KPIS) {
    const x = r.conf[k.key]!;
    const pct = k.p !== null;
    if (pct) {
      share = Math.max(share, median(x.bootstrap));
      coldOnly = Math.max(coldOnly, median(x.cold));
    }
    c.push(
      `| ${k.key} (${k.aggregation}${pct ? ", bootstrap" : ", Welch"}) | ${fmt(median(x.cold), 0)} | ${fmt(median(x.bootstrap), 0)} | ${pct ? fmt(median(x.values), 0) : "–"} | ${pct ? fmt(median(x.compute), 0) : "–"} | ${pct ? fmtInt(x.sampled) : "–"} |`,
    );
  }
  const points = (r.sample.project.kpis as any[]).map((k) => k.series.length);
  const pc: string[] = [
    "| KPI | app: phase aggregates (`loadPhaseAggregates`), ms | floor: phase figures, ms | app: 52-week series (`loadSeries`), ms | floor: series, ms |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const k of KPIS) {
    const x = r.pieces[k.key]!;
    pc.push(
      `| ${k.key} (${k.aggregation}) | ${fmt(x.appFigures!, 0)} | ${fmt(x.floorFigures!, 0)} | ${fmt(x.appSeries!, 0)} | ${fmt(x.floorSeries!, 0)} |`,
    );
  }
  const pageP50 = quantile(r.projectsPage.latencies, 0.5);
  const body = `Set-up:

- One project, three KPIs on three metrics (MEAN, MEDIAN, P90), ${fmtInt(ROWS)} observations each (\`bench/data.ts\`, the same rows for
  each metric), loaded with COPY, then \`VACUUM ANALYZE\`; one ONE_TIME and one MONTHLY cost. The app runs in the bench's process.
- Query: \`project(slug){ kpis { metric{key} baseline{value count} current{value count} improvementPct pValue confidence{low high}
  series(bucket: WEEK, from: "${r.from.toISOString()}") { start phase value count } } roi { roiPct } }\` (\`from\` = 52 weeks before the last
  observation; ${points.join(" / ")} series points per KPI). Cold: right before the app's query observation 0 of each KPI is
  re-recorded unchanged, which changes every KPI's stamp: figures, series and bootstrap are all recomputed. Warm: the
  same query right after. The app's reporting refresher runs as deployed (the change starts it on the same KPIs,
  after its rest); every measurement, the floor's included, starts with it idle (\`drainNow()\` first).
- Floor (\`bench/page.ts\`), per KPI, on one pg client, one statement after another: phase value and weight (MEAN:
  \`sum(value*weight)/sum(weight)\` plus \`count, avg, var_samp\` for Welch's t-test, one GROUP BY; MEDIAN/P90: the
  cumulative-weight window per phase, smallest value reaching p), and the series: \`GROUP BY date_trunc('week',
  observed_at AT TIME ZONE 'UTC'), phase\` with the same aggregation. The floor has no bootstrap (MEDIAN/P90
  confidence) — it is an app computation, timed on its own below. ${ITERATIONS} iterations after ${WARMUP} warm-up, app and floor
  taking turns going first.
- Checked on the first iteration: every figure and series point of the cold and warm answers equals the floor's (values to
  1e-9 relative, counts exactly), the floor's phase figures equal JavaScript's over the generated rows, MEDIAN/P90 have an
  interval and no pValue, MEAN has both, roiPct is set.
- Bootstrap: \`BOOTSTRAP_SEED\` = 0x${BOOTSTRAP_SEED.toString(16)} ("uplf", \`src/kpi/statistics/bootstrap.ts\`), ${fmtInt(BOOTSTRAP_RESAMPLES)} resamples; phases
  above ${fmtInt(BOOTSTRAP_MAX_VALUES)} values are thinned by a hash of the observation id seeded with \`BOOTSTRAP_SAMPLE_SEED\` = ${BOOTSTRAP_SAMPLE_SEED}
  (\`src/kpi/bootstrap-sample.ts\`). "Confidence alone, cold" = \`kpi(metricKey){ confidence{low high level} }\` after a stamp
  change of that KPI alone (the refresher idle before it, then recomputing that KPI as deployed); "with the figures cached" = the same after a query of the figures alone, i.e. loading the values and
  bootstrapping. The last two columns time those two steps directly (\`loadPhaseValues\` on a plain pg client, then
  \`bootstrapImprovementInterval\`). Medians of ${CONFIDENCE_ITERATIONS}.

${t.join("\n")}

Where the time goes: each statement alone on the plain pg client (the app's through the engine's own loaders), medians of 3:

${pc.join("\n")}

${c.join("\n")}

- Page cold / raw SQL floor: **${fmt(ratio, 2)}×** (warm ${fmt(median(r.warm.wall) / floor, 3)}×; by CPU ${fmt(median(r.cold.cpu) / median(r.floor.cpu), 2)}×).
- The bootstrap's share of a MEDIAN/P90 KPI at ${fmtInt(ROWS)} observations (\`confidence\` once the figures are known: sample + ${fmtInt(BOOTSTRAP_RESAMPLES)} resamples): at most
  **${fmt(share, 0)} ms** — under 1 s: ${share < 1000 ? "met" : "NOT met"}. A cold query of \`confidence\` alone, which first computes the KPI's figures
  (the sampling rate depends on the phase sizes; the sample is drawn alongside the figures, by an index-only count of each phase): at most ${fmt(coldOnly, 0)} ms — target ≤ 1 s ${coldOnly <= 1000 ? "met" : "NOT met"}.

Projects page: \`projects(stage: PILOT) { slug name stage kpis { metric{key} baseline{value count} current{value count} improvementPct
targetMet annualBenefit updatedAt } roi { roiPct } }\` over ${PAGE_SLUGS.length} projects × ${KPIS.length} KPIs (MEAN, MEDIAN, P90), ${fmtInt(PAGE_ROWS)} observations per KPI,
one ONE_TIME cost each; checked against JavaScript's figures. First request (figures computed): ${fmt(r.projectsPageFirst, 0)} ms. Warm
(figures cached; the project list and every listed KPI's stamps read per request, two statements), ${fmtInt(PAGE_REQUESTS)} requests one at a time over
keep-alive: **p50 ${fmt(pageP50, 1)} ms**, p99 ${fmt(quantile(r.projectsPage.latencies, 0.99), 1)} ms, CPU ${fmt(r.projectsPage.cpuPerRequestMs, 2)} ms per request (Node, app and
client, + PostgreSQL) — target ≤ 20 ms ${pageP50 <= 20 ? "met" : "NOT met"}.`;
  return {
    name: "page",
    title: `Project page at ${fmtInt(ROWS)} observations per KPI (3 KPIs), GraphQL vs raw SQL`,
    summary: `cold page ${fmt(median(r.cold.wall), 0)} ms = ${fmt(ratio, 2)}× the sequential raw SQL (${fmt(floor, 0)} ms), warm ${fmt(median(r.warm.wall), 1)} ms; bootstrap share ≤ ${fmt(share, 0)} ms (target < 1 s: ${share < 1000 ? "met" : "NOT met"}; cold confidence-only query ≤ ${fmt(coldOnly, 0)} ms, target ≤ 1 s: ${coldOnly <= 1000 ? "met" : "NOT met"}); 20-project page warm p50 ${fmt(pageP50, 1)} ms (target ≤ 20 ms: ${pageP50 <= 20 ? "met" : "NOT met"})`,
    body,
    loads: r.loads,
    seconds: r.seconds,
  };
}
