// The app, database clients and data set shared by the `ingest` and `kpi` benchmarks (they run on one
// database: the MEAN KPI's rows come from the last ingest run when both run).
import pg from "pg";
import { type BenchApp, type BenchContext, startBenchApp } from "./common.js";
import type { CpuMeter } from "./cpu.js";
import { type Dataset, GO_LIVE, generateDataset } from "./data.js";

export const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
export const SLUG = "bench";
export const MEAN_KEY = "bench.resolution_time";
export const MEDIAN_KEY = "bench.resolution_time_p50";
/** The benchmark's Uplift configuration (also used by `bulk` for its server in a child process). */
export const CONFIG = `currency: USD
metrics:
  - key: ${MEAN_KEY}
    name: Resolution time (mean)
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: MEAN
  - key: ${MEDIAN_KEY}
    name: Resolution time (median)
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: MEDIAN
projects:
  - slug: ${SLUG}
    name: Benchmark project
    stage: PRODUCTION
    goLiveAt: ${GO_LIVE.toISOString()}
    kpis:
      - metric: ${MEAN_KEY}
        target: 5
        valuePerUnit: 1.0
      - metric: ${MEDIAN_KEY}
        target: 5
        valuePerUnit: 1.0
`;

export interface ObservationsEnv {
  bench: BenchApp;
  dbUrl: string;
  admin: pg.Client;
  copier: pg.Client;
  cpu: CpuMeter;
  data: Dataset;
  ids: { project: string; mean: string; median: string; kpiMean: string; kpiMedian: string };
  stop(): Promise<void>;
}

export async function openObservationsEnv(ctx: BenchContext, data: Dataset | null): Promise<ObservationsEnv> {
  const bench = await startBenchApp(ctx.dbUrl, CONFIG);
  const admin = new pg.Client(ctx.dbUrl);
  const copier = new pg.Client(ctx.dbUrl);
  const stop = async () => {
    await admin.end().catch(() => undefined);
    await copier.end().catch(() => undefined);
    await bench.stop();
  };
  try {
    await admin.connect();
    await copier.connect();
    const [ids] = (
      await admin.query(
        `SELECT p.id AS project, mm.id AS mean, md.id AS median, km.id AS kpi_mean, kd.id AS kpi_median
         FROM project p, metric mm, metric md, kpi km, kpi kd
         WHERE p.slug = $1 AND mm.key = $2 AND md.key = $3
           AND km.project_id = p.id AND km.metric_id = mm.id AND kd.project_id = p.id AND kd.metric_id = md.id`,
        [SLUG, MEAN_KEY, MEDIAN_KEY],
      )
    ).rows.map((r) => ({
      project: String(r.project),
      mean: String(r.mean),
      median: String(r.median),
      kpiMean: String(r.kpi_mean),
      kpiMedian: String(r.kpi_median),
    }));
    return {
      bench,
      dbUrl: ctx.dbUrl,
      admin,
      copier,
      cpu: ctx.cpu,
      data: data ?? generateDataset(ROWS),
      ids,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
