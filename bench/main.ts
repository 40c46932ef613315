// The benchmark (started by bench/run.ts): ingest (recordObservations over HTTP vs COPY) and KPI figures
// (GraphQL vs raw SQL) at 1,000,000 observations, on a PostgreSQL of its own. Writes bench/RESULTS.md and
// bench/PLANS.md. BENCH_ROWS shrinks the data set for a quick try; DATABASE_URL uses an existing server.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { registry } from "../collectors/index.js";
import { type App, startApp } from "../src/app.js";
import { readEnv } from "../src/config/env.js";
import type { KpiAggregateSpec } from "../src/kpi/phase-aggregates.js";
import { createLogger } from "../src/log.js";
import { type CoercionTimes, measureCoercionIn } from "./coercion.js";
import { type CpuDelta, CpuMeter, loadAverage } from "./cpu.js";
import { type Dataset, expectedFigures, GO_LIVE, generateDataset } from "./data.js";
import {
  buildBodies,
  buildCopyChunks,
  copyIn,
  type IngestRun,
  ingestOverHttp,
  RECORD_MUTATION,
} from "./ingest.js";
import {
  appAggregateSql,
  explainAppSql,
  explainSql,
  type Figures,
  floorFigures,
  KPI_QUERY,
  MEAN_FLOOR_SQL,
  MEDIAN_FLOOR_SQL,
} from "./kpi.js";
import { type BenchDatabase, openBenchDatabase } from "./postgres.js";
import { best, fmt, fmtInt, median } from "./stats.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const BATCH = 5_000;
const KPI_WARMUP = 3;
const KPI_ITERATIONS = Number(process.env.BENCH_KPI_ITERATIONS ?? 15);
/**
 * Ingest rounds: each client concurrency three times, COPY six times; within a round the two paths take
 * turns going first. The last run is recordObservations, so the MEAN KPI's rows come from the API.
 */
const ROUNDS: { concurrency: number; ingestFirst: boolean }[] = [
  { concurrency: 2, ingestFirst: true },
  { concurrency: 4, ingestFirst: false },
  { concurrency: 4, ingestFirst: true },
  { concurrency: 2, ingestFirst: false },
  { concurrency: 2, ingestFirst: true },
  { concurrency: 4, ingestFirst: false },
].slice(0, Number(process.env.BENCH_ROUNDS ?? 6));

const SLUG = "bench";
const MEAN_KEY = "bench.resolution_time";
const MEDIAN_KEY = "bench.resolution_time_p50";
const CONFIG = `currency: USD
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

const say = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function postJson(url: string, body: string): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const json = (await res.json()) as any;
  if (res.status !== 200 || json.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
  return json.data;
}

/** Wall time and CPU (Node + PostgreSQL) of one step; the /proc scan itself stays outside both. */
async function measured<T>(cpu: CpuMeter, fn: () => Promise<T>): Promise<[number, CpuDelta, T]> {
  const c0 = cpu.snapshot();
  const t0 = performance.now();
  const v = await fn();
  const wall = performance.now() - t0;
  const c1 = cpu.snapshot();
  return [wall, CpuMeter.delta(c0, c1), v];
}

// ---------------------------------------------------------------------------------------------------------
// Ingest

interface IngestRecord {
  kind: "http" | "copy";
  concurrency: number;
  round: number;
  position: number;
  run: IngestRun;
  cpu: CpuDelta;
  load: number;
}

async function ingestBenchmark(
  app: App,
  copier: pg.Client,
  admin: pg.Client,
  cpu: CpuMeter,
  data: Dataset,
  ids: { project: string; mean: string },
): Promise<IngestRecord[]> {
  say(`serialising ${fmtInt(data.n)} observations into ${Math.ceil(data.n / BATCH)} request bodies`);
  const bodies = buildBodies(data, BATCH, SLUG, MEAN_KEY);
  const rowsPerBody = bodies.map((_, i) => Math.min(BATCH, data.n - i * BATCH));
  const chunks = buildCopyChunks(data, ids.project, ids.mean);
  const mb = (xs: Buffer[]) => fmt(xs.reduce((s, b) => s + b.length, 0) / 2 ** 20);
  say(`request bodies ${mb(bodies)} MB, COPY text ${mb(chunks)} MB`);
  const reset = async () => {
    await admin.query("TRUNCATE observation, observation_activity");
    await admin.query("CHECKPOINT");
  };
  const graphqlUrl = `${app.url}/graphql`;
  // Warm-up (not reported): a few batches through each path so code and plans are hot.
  await reset();
  await ingestOverHttp(graphqlUrl, bodies.slice(0, 4), rowsPerBody.slice(0, 4), 2);
  await reset();
  await copyIn(
    copier,
    chunks.slice(0, 4),
    chunks.slice(0, 4).reduce((s, c) => s + lines(c), 0),
  );

  const records: IngestRecord[] = [];
  for (const [r, round] of ROUNDS.entries()) {
    const order: ("http" | "copy")[] = round.ingestFirst ? ["http", "copy"] : ["copy", "http"];
    for (const [position, kind] of order.entries()) {
      await reset();
      const load = loadAverage();
      const [, used, run] = await measured(cpu, () =>
        kind === "http"
          ? ingestOverHttp(graphqlUrl, bodies, rowsPerBody, round.concurrency)
          : copyIn(copier, chunks, data.n),
      );
      records.push({
        kind,
        concurrency: kind === "http" ? round.concurrency : 0,
        round: r + 1,
        position,
        run,
        cpu: used,
        load,
      });
      say(
        `round ${r + 1} ${kind === "http" ? `recordObservations ×${round.concurrency}` : "COPY"}: ` +
          `${fmtInt(run.rowsPerSecond)} rows/s (${fmt(run.seconds, 2)} s; CPU node ${fmt(used.nodeMs / 1000)} s + ` +
          `postgres ${used.pgMs === null ? "?" : fmt(used.pgMs / 1000)} s; load ${fmt(load, 2)})`,
      );
    }
  }
  return records;
}

function lines(chunk: Buffer): number {
  let n = 0;
  for (const b of chunk) if (b === 10) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// KPI figures

interface Sample {
  wall: number[];
  cpu: number[];
}

interface KpiResult {
  aggregation: "MEAN" | "MEDIAN";
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

async function kpiBenchmark(
  app: App,
  client: pg.Client,
  cpu: CpuMeter,
  data: Dataset,
  aggregation: "MEAN" | "MEDIAN",
  ids: { project: string; metric: string; kpi: string },
): Promise<KpiResult> {
  const metricKey = aggregation === "MEAN" ? MEAN_KEY : MEDIAN_KEY;
  const floorSql = aggregation === "MEAN" ? MEAN_FLOOR_SQL : MEDIAN_FLOOR_SQL;
  const floorParams = [ids.project, ids.metric, GO_LIVE.toISOString()];
  const spec: KpiAggregateSpec = {
    kpiId: ids.kpi,
    projectId: ids.project,
    metricId: ids.metric,
    aggregation,
    windows: { before: { from: null, to: GO_LIVE }, after: { from: GO_LIVE, to: null } },
    cohort: null,
  };
  const graphqlUrl = `${app.url}/graphql`;
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
      if (which === "app") appSql = await measured(cpu, () => appAggregateSql(client, spec));
      else floor = await measured(cpu, () => floorFigures(client, floorSql, floorParams));
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
  r.plans.app = await explainAppSql(client, spec);
  r.plans.floor = await explainSql(client, floorSql, floorParams);
  say(
    `${aggregation}: GraphQL cold ${fmt(median(r.cold.wall))} ms, warm ${fmt(median(r.warm.wall))} ms, ` +
      `app SQL ${fmt(median(r.appSql.wall))} ms, floor ${fmt(median(r.floor.wall))} ms`,
  );
  return r;
}

// ---------------------------------------------------------------------------------------------------------

function machine(serverVersion: string) {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  return {
    cpu: model,
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    postgres: serverVersion,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const NOTES_MARKER = "<!-- Everything below this line is kept when the bench rewrites this file. -->";

async function main() {
  process.env.LOG_LEVEL ??= "warn";
  const started = Date.now();
  let db: BenchDatabase | null = null;
  let app: App | null = null;
  let admin: pg.Client | null = null;
  let copier: pg.Client | null = null;
  let cfgDir: string | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanup = () => {
    cleaning ??= (async () => {
      await admin?.end().catch(() => undefined);
      await copier?.end().catch(() => undefined);
      await app?.stop().catch((e) => say(`stopping the app failed: ${e}`));
      await db?.stop().catch((e) => say(`stopping PostgreSQL failed: ${e}`));
      if (cfgDir) fs.rmSync(cfgDir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      say(`${sig}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    say(`NODE_ENV=${process.env.NODE_ENV ?? "(unset)"}; load average ${fmt(loadAverage(), 2)}`);
    say(`generating ${fmtInt(ROWS)} observations`);
    const data = generateDataset(ROWS);

    db = await openBenchDatabase((l) => say(l));
    say(
      `PostgreSQL ${db.serverVersion} (${db.embedded ? "embedded, temporary" : "DATABASE_URL"}), database ${db.name}`,
    );
    const cpu = new CpuMeter(db.clusterDir);
    cfgDir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-cfg-"));
    const configFile = path.join(cfgDir, "uplift.yaml");
    fs.writeFileSync(configFile, CONFIG);
    app = await startApp(
      readEnv({
        DATABASE_URL: db.url,
        PORT: "0",
        HOST: "127.0.0.1",
        UPLIFT_CONFIG: configFile,
        UPLIFT_SCHEDULER: "off",
        UPLIFT_DATA_DIR: cfgDir,
      }),
      createLogger({ bench: true }),
      { registry },
    );
    admin = new pg.Client(db.url);
    await admin.connect();
    copier = new pg.Client(db.url);
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

    // 1. Ingest.
    const ingest = await ingestBenchmark(app, copier, admin, cpu, data, ids);
    say("one 5,000-item body in-process without a database, NODE_ENV=production and development");
    const coercion = [await measureCoercionIn("production"), await measureCoercionIn("development")];
    for (const c of coercion) {
      say(
        `${c.nodeEnv}: JSON.parse ${fmt(c.jsonParseCpuMs)} ms, coercion ${fmt(c.coerceCpuMs)} ms, ` +
          `execution without SQL ${fmt(c.executeCpuMs)} ms (CPU)`,
      );
    }

    // 2. KPI figures at 1M observations per KPI. The MEAN metric keeps the last ingest run's rows; the
    // MEDIAN metric gets the same rows by COPY; then VACUUM ANALYZE (index-only scans for both sides).
    const meanSource = ingest[ingest.length - 1]?.kind === "copy" ? "COPY" : "recordObservations";
    say("loading the MEDIAN metric's rows with COPY; VACUUM ANALYZE");
    await copyIn(copier, buildCopyChunks(data, ids.project, ids.median), data.n);
    await admin.query("VACUUM ANALYZE observation");
    await admin.query("VACUUM ANALYZE observation_activity");
    await admin.query("CHECKPOINT");
    const kpis = [
      await kpiBenchmark(app, admin, cpu, data, "MEAN", {
        project: ids.project,
        metric: ids.mean,
        kpi: ids.kpiMean,
      }),
      await kpiBenchmark(app, admin, cpu, data, "MEDIAN", {
        project: ids.project,
        metric: ids.median,
        kpi: ids.kpiMedian,
      }),
    ];
    const totalSeconds = (Date.now() - started) / 1000;
    const report = writeReports({ ingest, coercion, kpis, db, cpu, meanSource, totalSeconds });
    process.stdout.write(`${report}\n`);
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

function writeReports(r: {
  ingest: IngestRecord[];
  coercion: CoercionTimes[];
  kpis: KpiResult[];
  db: BenchDatabase;
  cpu: CpuMeter;
  meanSource: string;
  totalSeconds: number;
}): string {
  const m = machine(r.db.serverVersion);
  const perMillion = (ms: number, rows: number) => (ms / 1000) * (1_000_000 / rows);
  const copies = r.ingest.filter((x) => x.kind === "copy");
  const copyRates = copies.map((x) => x.run.rowsPerSecond);
  const copyMedian = median(copyRates);
  const copyBest = best(copyRates, true);
  const cpuOf = (runs: IngestRecord[]) => ({
    node: median(runs.map((x) => perMillion(x.cpu.nodeMs, x.run.rows))),
    pg: r.cpu.seesPostgres ? median(runs.map((x) => perMillion(x.cpu.pgMs ?? 0, x.run.rows))) : Number.NaN,
    total: median(runs.map((x) => perMillion(x.cpu.totalMs, x.run.rows))),
  });
  const copyCpu = cpuOf(copies);

  const t: string[] = [];
  t.push(`### Ingest: ${fmtInt(ROWS)} observations into \`observation\``);
  t.push("");
  t.push(
    "| path | runs | best rows/s | median rows/s | median s | vs COPY, median | vs COPY, best | CPU s per 1M rows (Node + PostgreSQL = total) |",
  );
  t.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  const concurrencies = [...new Set(ROUNDS.map((x) => x.concurrency))];
  const ingestRatios: { label: string; median: number; best: number; cpu: number }[] = [];
  const cpuCell = (c: { node: number; pg: number; total: number }) =>
    `${fmt(c.node)} + ${fmt(c.pg)} = ${fmt(c.total)}`;
  for (const c of concurrencies) {
    const runs = r.ingest.filter((x) => x.kind === "http" && x.concurrency === c);
    const rates = runs.map((x) => x.run.rowsPerSecond);
    const med = median(rates);
    const bst = best(rates, true);
    const used = cpuOf(runs);
    ingestRatios.push({
      label: `${c} in flight`,
      median: med / copyMedian,
      best: bst / copyBest,
      cpu: copyCpu.total / used.total,
    });
    t.push(
      `| recordObservations over HTTP, ${BATCH.toLocaleString("en-US")}/request, ${c} in flight | ${runs.length} | ${fmtInt(bst)} | ${fmtInt(med)} | ${fmt(median(runs.map((x) => x.run.seconds)), 2)} | ${fmt((med / copyMedian) * 100)} % | ${fmt((bst / copyBest) * 100)} % | ${cpuCell(used)} |`,
    );
  }
  t.push(
    `| COPY … FROM STDIN (text), one stream | ${copies.length} | ${fmtInt(copyBest)} | ${fmtInt(copyMedian)} | ${fmt(median(copies.map((x) => x.run.seconds)), 2)} | 100 % | 100 % | ${cpuCell(copyCpu)} |`,
  );
  t.push("");
  t.push("Every run, in order (`TRUNCATE observation, observation_activity` and `CHECKPOINT` before each):");
  t.push("");
  t.push(
    "| round | turn | path | rows/s | seconds | request latency median / max, ms | CPU s (Node + PostgreSQL) | load average at start |",
  );
  t.push("| ---: | --- | --- | ---: | ---: | --- | --- | ---: |");
  for (const x of r.ingest) {
    t.push(
      `| ${x.round} | ${x.position === 0 ? "first" : "second"} | ${x.kind === "http" ? `recordObservations ×${x.concurrency}` : "COPY"} | ${fmtInt(x.run.rowsPerSecond)} | ${fmt(x.run.seconds, 2)} | ${x.kind === "http" ? `${fmt(x.run.latencyMedianMs, 0)} / ${fmt(x.run.latencyMaxMs, 0)}` : "–"} | ${fmt(x.cpu.nodeMs / 1000)} + ${x.cpu.pgMs === null ? "?" : fmt(x.cpu.pgMs / 1000)} | ${fmt(x.load, 2)} |`,
    );
  }
  t.push("");
  t.push(
    `One ${r.coercion[0].items.toLocaleString("en-US")}-item body (${fmt(r.coercion[0].bodyBytes / 1024, 0)} KiB), in-process, stub database, median of 20, CPU ms (wall ms):`,
  );
  t.push("");
  t.push(
    "| NODE_ENV | JSON.parse | GraphQL variable coercion | whole execution without SQL (coercion, type-graphql arguments, store checks, SQL parameters) |",
  );
  t.push("| --- | ---: | ---: | ---: |");
  for (const c of r.coercion) {
    t.push(
      `| ${c.nodeEnv} | ${fmt(c.jsonParseCpuMs)} (${fmt(c.jsonParseMs)}) | ${fmt(c.coerceCpuMs)} (${fmt(c.coerceMs)}) | ${fmt(c.executeCpuMs)} (${fmt(c.executeMs)}) |`,
    );
  }
  t.push("");
  t.push(
    `### KPI figures at ${fmtInt(ROWS)} observations per KPI (medians of ${KPI_ITERATIONS} iterations after ${KPI_WARMUP} warm-up)`,
  );
  t.push("");
  t.push(
    "| aggregation | GraphQL cold, ms | GraphQL warm, ms | app aggregate SQL alone, ms | raw SQL floor, ms | cold / floor | warm / floor | CPU ms cold / floor (ratio) |",
  );
  t.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const k of r.kpis) {
    const floor = median(k.floor.wall);
    t.push(
      `| ${k.aggregation} | ${fmt(median(k.cold.wall))} | ${fmt(median(k.warm.wall))} | ${fmt(median(k.appSql.wall))} | ${fmt(floor)} | ${fmt(median(k.cold.wall) / floor, 2)}× | ${fmt(median(k.warm.wall) / floor, 3)}× | ${fmt(median(k.cold.cpu))} / ${fmt(median(k.floor.cpu))} (${fmt(median(k.cold.cpu) / median(k.floor.cpu), 2)}×) |`,
    );
  }
  t.push("");
  t.push("Spread, min – max ms:");
  t.push("");
  const range = (xs: number[]) => `${fmt(Math.min(...xs))} – ${fmt(Math.max(...xs))}`;
  for (const k of r.kpis) {
    t.push(
      `- ${k.aggregation}: cold ${range(k.cold.wall)}, warm ${range(k.warm.wall)}, app SQL ${range(k.appSql.wall)}, floor ${range(k.floor.wall)} (load average at start ${fmt(k.load, 2)})`,
    );
  }
  const table = t.join("\n");

  const ratios = [
    ...ingestRatios.map(
      (s) =>
        `- Ingest, recordObservations with ${s.label}: ${fmt(s.median * 100)} % of COPY's rate (median; best ${fmt(s.best * 100)} %; by CPU per row ${fmt(s.cpu * 100)} %) — target ≥ 50 % ${s.median >= 0.5 ? "met" : "NOT met"}`,
    ),
    ...r.kpis.map((k) => {
      const ratio = median(k.cold.wall) / median(k.floor.wall);
      return `- KPI ${k.aggregation}, GraphQL cold / raw SQL: ${fmt(ratio, 2)}× (warm ${fmt(median(k.warm.wall) / median(k.floor.wall), 3)}×; by CPU ${fmt(median(k.cold.cpu) / median(k.floor.cpu), 2)}×) — target ≤ 1.5× ${ratio <= 1.5 ? "met" : "NOT met"}`;
    }),
  ].join("\n");

  const file = path.join(HERE, "RESULTS.md");
  const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const notesAt = previous.indexOf(NOTES_MARKER);
  const notes =
    notesAt >= 0
      ? previous.slice(notesAt + NOTES_MARKER.length).trim()
      : "## Interpretation\n\n(to be written)";
  const settings = Object.entries(r.db.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const loads = [...r.ingest.map((x) => x.load), ...r.kpis.map((k) => k.load)];
  const md = `# Uplift benchmark results

Generated by \`npm run bench\` (\`node --import tsx bench/run.ts\`) on ${new Date().toISOString().slice(0, 10)}, NODE_ENV=${process.env.NODE_ENV ?? "(unset)"}; the run took ${fmt(r.totalSeconds / 60)} min.
Load average during the run: ${fmt(Math.min(...loads), 2)} – ${fmt(Math.max(...loads), 2)} (other processes share the machine when it is above ~0.5).

## Machine

| | |
| --- | --- |
| CPU | ${m.cpu} |
| cores | ${m.cores} |
| memory | ${fmt(m.memoryGiB)} GiB |
| OS | ${m.os} |
| Node.js | ${m.node} |
| PostgreSQL | ${m.postgres} (${r.db.embedded ? "embedded from npm, started by the bench in a temporary folder" : "DATABASE_URL"}; ${settings}) |

## Set-up

- ${fmtInt(ROWS)} observations from a seeded PRNG (\`bench/data.ts\`): one project, go-live ${GO_LIVE.toISOString()}, half in the
  six months before and half in the six months after, resolution times in minutes (lognormal, whole seconds), an
  increasing numeric externalId each, weight 1, no dimensions.
- The app runs in the bench's process (\`startApp\`, scheduler off, pool of 10, NODE_ENV=${process.env.NODE_ENV ?? "(unset)"} as in the Docker
  image), on a fresh database; client, server and PostgreSQL share the machine's cores.
- Ingest: ${Math.ceil(ROWS / BATCH)} request bodies of ${BATCH.toLocaleString("en-US")} observations, serialised before timing, sent as GraphQL
  variables to \`recordObservations\` with a fixed number of requests in flight. The floor is
  \`COPY observation (project_id, metric_id, observed_at, value, weight, external_id) FROM STDIN\` (text format,
  pg-copy-streams, text prepared before timing) into the same table with the same indexes. Before every run:
  \`TRUNCATE observation, observation_activity\` and \`CHECKPOINT\`. Rounds alternate which path goes first.
- CPU: Node's own (\`process.cpuUsage\`) plus every process of the embedded cluster (\`/proc/<pid>/schedstat\`,
  including autovacuum, checkpointer and WAL writer, and exited children via the postmaster's cutime/cstime).
- KPI: the MEAN KPI's 1M rows come from the last ingest run (${r.meanSource}), the MEDIAN KPI's 1M rows (same values, second
  metric) from COPY; then \`VACUUM ANALYZE\`. Query:
  \`project(slug){ kpi(metricKey){ baseline{value count from to} current{value count} improvementPct annualBenefit } }\`.
  Cold = the engine's cache misses: before each cold query, observation 0 of the KPI is re-recorded with identical
  fields through \`recordObservations\`, which changes the KPI's stamp but not its figures. Warm = the same query
  again right after (cache hit). "App aggregate SQL alone" = the engine's \`loadPhaseAggregates\` on a plain pg
  client. Floors (\`bench/kpi.ts\`): MEAN \`SELECT observed_at >= $3, sum(value*weight)/sum(weight), sum(weight),
  min(observed_at), max(observed_at) FROM observation WHERE project_id=$1 AND metric_id=$2 GROUP BY 1\`; MEDIAN
  the same grouping over \`sum(weight) OVER (PARTITION BY phase ORDER BY value ROWS UNBOUNDED PRECEDING)\` and the
  phase total, the smallest value reaching 50 %. Every answer is checked against figures computed in JavaScript.

## Results

${table}

## Ratios

${ratios}

Query plans (EXPLAIN ANALYZE, BUFFERS) of this run: \`bench/PLANS.md\`.

${NOTES_MARKER}

${notes}
`;
  fs.writeFileSync(file, md);
  const plans = r.kpis
    .map(
      (k) =>
        `## ${k.aggregation}\n\n### App aggregate SQL (loadPhaseAggregates)\n\n\`\`\`\n${k.plans.app}\n\`\`\`\n\n### Raw SQL floor\n\n\`\`\`\n${k.plans.floor}\n\`\`\`\n`,
    )
    .join("\n");
  fs.writeFileSync(
    path.join(HERE, "PLANS.md"),
    `# Query plans at ${fmtInt(ROWS)} observations per KPI (written by \`npm run bench\`)\n\n${plans}`,
  );
  return `${table}\n\n${ratios}\n\nWritten: bench/RESULTS.md, bench/PLANS.md (${fmt(r.totalSeconds / 60)} min)`;
}

main().then(
  () => process.exit(0),
  (e) => {
    say(`failed: ${e?.stack ?? e}`);
    process.exit(1);
  },
);
