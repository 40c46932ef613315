// `reporting`: the reporting schema at 1,000 KPIs (10 projects × 100 metrics, 200 observations each).
// (1) One observation recorded for one KPI, then the refresher's drain (claim, recompute what changed,
// write the rows) timed against computing that KPI alone with a cold engine (figures, interval and the
// three series the reporting holds). (2) GET /api/v1/kpis answering all 1,000 rows.
import { KpiEngine } from "../src/kpi/engine.js";
import { createLogger } from "../src/log.js";
import { ReportingRefresher } from "../src/reporting/refresher.js";
import { BUCKETS } from "../src/reporting/rows.js";
import { recordObservations } from "../src/store/observations.js";
import { type BenchContext, type Section, say, startBenchApp } from "./common.js";
import { loadAverage } from "./cpu.js";
import { fmt, median } from "./stats.js";

const PROJECTS = 10;
const METRICS = 100;
const PER_KPI = 200;
const ITERATIONS = Number(process.env.BENCH_REPORTING_ITERATIONS ?? 9);
const GETS = 30;

function config(): string {
  const metrics = Array.from(
    { length: METRICS },
    (_, i) => `  - key: m${i}
    name: Metric ${i}
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: MEAN`,
  ).join("\n");
  const projects = Array.from(
    { length: PROJECTS },
    (_, p) => `  - slug: p${p}
    name: Project ${p}
    stage: PRODUCTION
    goLiveAt: 2025-01-05T04:00:00Z
    kpis:
${Array.from({ length: METRICS }, (_, i) => `      - metric: m${i}\n        valuePerUnit: 1.5`).join("\n")}`,
  ).join("\n");
  return `currency: USD\nmetrics:\n${metrics}\nprojects:\n${projects}\n`;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function reportingBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  const loads = [loadAverage()];
  const bench = await startBenchApp(ctx.dbUrl, config());
  try {
    const { app } = bench;
    const ds = app.db.ds;
    await ds.query(
      `INSERT INTO observation (project_id, metric_id, observed_at, value, weight)
       SELECT k.project_id, k.metric_id, '2025-01-01'::timestamptz + g * interval '1 hour',
              10 + (g * 7919 % 13) / 3.0 - CASE WHEN g > 100 THEN 5 ELSE 0 END, 1
       FROM kpi k, generate_series(1, ${PER_KPI}) g`,
    );
    await ds.query(
      `INSERT INTO observation_activity (project_id, metric_id, updated_at)
       SELECT project_id, metric_id, clock_timestamp() FROM kpi ON CONFLICT (project_id, metric_id) DO UPDATE SET updated_at = EXCLUDED.updated_at`,
    );
    // The app's own refresher fills the rows; then it stops, and a refresher driven by hand is timed.
    const fill = await time(async () => {
      await app.reporting.drainNow();
    });
    await app.reporting.stop();
    const refresher = new ReportingRefresher(
      ds,
      new KpiEngine(ds),
      app.db.url,
      "USD",
      createLogger({ bench: true }),
    );
    await ds.query(`INSERT INTO reporting_queue (kind) VALUES ('all')`);
    const warm = await time(() => refresher.drainNow()); // a running process: every KPI cached
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM reporting.kpis`);
    say(`reporting: ${n} KPI rows; first fill ${fmt(fill)} ms, warm full refresh ${fmt(warm)} ms`);
    loads.push(loadAverage());

    const [target] = await ds.query(
      `SELECT k.id::text AS id FROM kpi k JOIN project p ON p.id = k.project_id JOIN metric m ON m.id = k.metric_id
       WHERE p.slug = 'p3' AND m.key = 'm42'`,
    );
    const refreshMs: number[] = [];
    const aloneMs: number[] = [];
    const figuresMs: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      await recordObservations(ds, [
        { projectSlug: "p3", metricKey: "m42", observedAt: new Date(Date.UTC(2025, 1, 1, i)), value: 3 + i },
      ]);
      refreshMs.push(await time(() => refresher.drainNow()));
      // The same KPI computed alone, cold: what the reporting holds of it.
      const engine = new KpiEngine(ds);
      aloneMs.push(
        await time(async () => {
          const r = (await engine.figures([target.id])).get(target.id)!;
          await engine.confidence(r);
          await Promise.all(
            BUCKETS.map((bucket) => engine.series(r.subject, { bucket, from: null, to: null })),
          );
        }),
      );
      const engine2 = new KpiEngine(ds);
      figuresMs.push(await time(() => engine2.figures([target.id])));
    }
    loads.push(loadAverage());

    const getMs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < GETS; i++) {
      getMs.push(
        await time(async () => {
          const res = await fetch(`${app.url}/api/v1/kpis`);
          bytes = (await res.text()).length;
        }),
      );
    }
    loads.push(loadAverage());
    const refresh = median(refreshMs);
    const alone = median(aloneMs);
    const figures = median(figuresMs);
    const get = median(getMs);
    const ratio = refresh / alone;
    const body = `Set-up: ${PROJECTS} projects × ${METRICS} MEAN metrics = ${n} KPIs, ${PER_KPI} observations each, in-process app on
the bench's PostgreSQL. First fill of the reporting tables (kpis, projects, series × 3 buckets): ${fmt(fill)} ms;
a full refresh with every KPI cached in the engine: ${fmt(warm)} ms.

| measure (median of ${ITERATIONS}) | ms |
| --- | --- |
| refresh after one observation of one KPI (claim the queue, recompute that KPI and its project, write rows, commit) | ${fmt(refresh, 2)} |
| that KPI computed alone, cold engine: figures + interval + DAY/WEEK/MONTH series | ${fmt(alone, 2)} |
| that KPI's figures alone, cold engine (no series) | ${fmt(figures, 2)} |
| **ratio refresh / KPI alone** (target ≤ 2) | **${fmt(ratio, 2)}** ${ratio <= 2 ? "✓" : "✗"} |
| GET /api/v1/kpis, ${n} rows, ${fmt(bytes / 1024)} KiB JSON (median of ${GETS}; target ≤ 50 ms) | **${fmt(get, 2)}** ${get <= 50 ? "✓" : "✗"} |

Per-iteration refresh ms: ${refreshMs.map((x) => fmt(x, 1)).join(", ")}. Load average (1 min) during the run:
${loads.map((l) => fmt(l, 2)).join(" → ")} on a machine shared with other jobs (2 cores): timings are noisy.`;
    return {
      name: "reporting",
      title: "Reporting schema refresh and REST at 1,000 KPIs",
      summary: `refresh after a one-KPI change ${fmt(refresh, 1)} ms = ${fmt(ratio, 2)} × that KPI alone (≤ 2 ${ratio <= 2 ? "✓" : "✗"}); GET /api/v1/kpis (1,000 rows) ${fmt(get, 1)} ms (≤ 50 ${get <= 50 ? "✓" : "✗"})`,
      body,
      loads,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await bench.stop();
  }
}
