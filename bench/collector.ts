// `collector`: records streamed from a local JSON API through the real collector path — the built-in
// `http-json` collector, `CollectorService.startManual`, the runner's default batches of 5,000 — versus
// COPY of the same rows (the floor), with the Uplift process's memory sampled every 100 ms at 250k, 500k and
// 1M records to show that it stays flat. Each measured run is a fresh Uplift process of its own
// (bench/collector-app.ts), so nothing of the benchmark (COPY text, data sets) is counted as Uplift's; the
// source is another child (bench/collector-source.ts). A bench-only collector that generates the same rows
// in-process (no HTTP, no JSON) splits the runner and store from the source's parsing.
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import {
  type BenchContext,
  endChild,
  forkTs,
  MB,
  type MemoryPeaks,
  nextMessage,
  type Section,
  say,
  sleep,
} from "./common.js";
import { CpuMeter, loadAverage } from "./cpu.js";
import { GO_LIVE, generateDataset } from "./data.js";
import { buildCopyChunks, copyIn } from "./ingest.js";
import { fmt, fmtInt, median } from "./stats.js";

const ROWS = Number(process.env.BENCH_COLLECTOR_ROWS ?? 1_000_000);
const PAGE = 5_000;
/** Runs of the http-json collector, in order: 1/4, 1/2 and all of the rows. */
const SIZES = [ROWS / 4, ROWS / 2, ROWS].map((n) => Math.round(n / PAGE) * PAGE);
const COPY_RUNS = 3;
const WARMUP = 4 * PAGE;
const MEMORY_LIMIT = 300 * MB;
const SLUG = "collect";
const METRIC = "bench.collected";

function config(port: number): string {
  const httpJson = (n: number) => `  - name: http-json-${n}
    type: http-json
    schedule: "0 0 1 1 *"
    project: ${SLUG}
    metric: ${METRIC}
    options:
      url: http://127.0.0.1:${port}/items?n=${n}&page=0
      items: $
      fields:
        observedAt: $.at
        value: $.minutes
        externalId: $.id
      pagination:
        type: link
      cursorField: $.at
      cursorParam: since
`;
  return `currency: USD
metrics:
  - key: ${METRIC}
    name: Collected resolution time
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: MEAN
projects:
  - slug: ${SLUG}
    name: Collector benchmark
    stage: PRODUCTION
    goLiveAt: ${GO_LIVE.toISOString()}
    kpis:
      - metric: ${METRIC}
        target: 5
collectors:
${[...new Set([WARMUP, ...SIZES])].map(httpJson).join("")}  - name: generated-${ROWS}
    type: bench-generated
    schedule: "0 0 1 1 *"
    project: ${SLUG}
    metric: ${METRIC}
    options:
      rows: ${ROWS}
`;
}

interface Run {
  kind: "http-json" | "generated" | "copy";
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  nodeCpuS: number;
  pgCpuS: number | null;
  sourceCpuS: number | null;
  pages: number | null;
  baselineRss: number;
  baselineHeap: number;
  memory: MemoryPeaks | null;
  load: number;
}

interface Done {
  run: { status: string; observations: number; rejected: number; error: string | null };
  seconds: number;
  cpuMs: number;
  baseline: NodeJS.MemoryUsage;
  memory: MemoryPeaks;
}

interface SourceStats {
  requests: number;
  bytes: number;
  cpuMs: number;
}

export async function collectorBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-collector-"));
  let source: ChildProcess | null = null;
  const admin = new pg.Client(ctx.dbUrl);
  const copier = new pg.Client(ctx.dbUrl);
  try {
    say(`collector: starting the JSON source (${fmtInt(ROWS)} rows in pages of ${fmtInt(PAGE)}) in a child`);
    source = forkTs("collector-source.ts", { SOURCE_ROWS: String(ROWS), SOURCE_PAGE: String(PAGE) });
    const ready = await nextMessage<{ port: number }>(source, (m) => m?.kind === "ready");
    const child = source;
    const sourceStats = async () => {
      const reply = nextMessage<SourceStats>(child, (m) => m?.kind === "stats");
      child.send("stats");
      return reply;
    };
    await admin.connect();
    await copier.connect();
    const configFile = path.join(dir, "uplift.yaml");
    fs.writeFileSync(configFile, config(ready.port));
    // The source serves the first n rows of the ROWS-row data set: Σvalue of every prefix it can serve.
    const full = generateDataset(ROWS);
    const prefixSum = new Map<number, number>();
    for (let i = 0, sum = 0; i < ROWS; i++) {
      sum += full.value[i]!;
      if ((i + 1) % PAGE === 0 || i === ROWS - 1) prefixSum.set(i + 1, sum);
    }
    let ids: { project: string; metric: string } | null = null;
    const check = async (label: string, n: number) => {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n, sum(value) AS s FROM observation o JOIN metric m ON m.id = o.metric_id WHERE m.key = $1`,
        [METRIC],
      );
      const want = prefixSum.get(n)!;
      if (rows[0].n !== n || Math.abs(rows[0].s - want) > 1e-9 * want) {
        throw new Error(`${label}: stored ${rows[0].n} rows (sum ${rows[0].s}), expected ${n} (sum ${want})`);
      }
    };

    const runs: Run[] = [];
    /** One measured run in a fresh Uplift process (bench/collector-app.ts). */
    const collect = async (kind: "http-json" | "generated", name: string, n: number) => {
      const load = loadAverage();
      const s0 = kind === "http-json" ? await sourceStats() : null;
      // BENCH_COLLECTOR_CPU_PROF=<folder>: a CPU profile of each Uplift child (for looking into the figures).
      const prof = process.env.BENCH_COLLECTOR_CPU_PROF;
      const app = forkTs(
        "collector-app.ts",
        {
          DATABASE_URL: ctx.dbUrl,
          UPLIFT_CONFIG: configFile,
          UPLIFT_SCHEDULER: "off",
          UPLIFT_DATA_DIR: dir,
          PORT: "0",
          HOST: "127.0.0.1",
          WARMUP: `http-json-${WARMUP}`,
          RUN: name,
        },
        [
          ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
          // BENCH_COLLECTOR_NODE_FLAGS="--max-old-space-size=…": V8 flags for the Uplift children (experiments).
          ...(process.env.BENCH_COLLECTOR_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? []),
        ],
      );
      let pg0: ReturnType<CpuMeter["snapshot"]> | null = null;
      app.on("message", (m: any) => {
        if (m?.kind === "started") pg0 = ctx.cpu.snapshot();
      });
      const exited = new Promise<number | null>((r) => app.once("exit", (code) => r(code)));
      let done: Done;
      try {
        done = await nextMessage<Done>(app, (m) => m?.kind === "done", 600_000);
      } finally {
        await Promise.race([exited, sleep(30_000)]);
        await endChild(app);
      }
      const pg1 = ctx.cpu.snapshot();
      const s1 = kind === "http-json" ? await sourceStats() : null;
      const run = done.run;
      if (run.status !== "SUCCEEDED" || run.observations !== n || run.rejected !== 0) {
        throw new Error(`${name}: run ${run.status} with ${run.observations} observations: ${run.error}`);
      }
      await check(name, n);
      const pgCpu = pg0 ? CpuMeter.delta(pg0, pg1).pgMs : null;
      const r: Run = {
        kind,
        rows: n,
        seconds: done.seconds,
        rowsPerSecond: n / done.seconds,
        nodeCpuS: done.cpuMs / 1000,
        pgCpuS: pgCpu === null ? null : pgCpu / 1000,
        sourceCpuS: s0 && s1 ? (s1.cpuMs - s0.cpuMs) / 1000 : null,
        // The warm-up run's pages are counted too: leave them out.
        pages: s0 && s1 ? s1.requests - s0.requests - WARMUP / PAGE : null,
        baselineRss: done.baseline.rss,
        baselineHeap: done.baseline.heapUsed,
        memory: done.memory,
        load,
      };
      runs.push(r);
      say(
        `collector: ${name}: ${fmtInt(r.rowsPerSecond)} records/s (${fmt(r.seconds, 1)} s), peak RSS ` +
          `${fmt(r.memory!.rss / MB, 0)} MB (from ${fmt(r.baselineRss / MB, 0)}), peak heap ${fmt(r.memory!.heapUsed / MB, 0)} MB; load ${fmt(load, 2)}`,
      );
    };
    const copyFloor = async () => {
      if (!ids) {
        ids = (
          await admin.query(
            `SELECT p.id::text AS project, m.id::text AS metric FROM project p, metric m WHERE p.slug = $1 AND m.key = $2`,
            [SLUG, METRIC],
          )
        ).rows[0] as { project: string; metric: string };
      }
      const chunks = buildCopyChunks(full, ids.project, ids.metric);
      await admin.query("TRUNCATE observation, observation_activity");
      await admin.query("CHECKPOINT");
      const load = loadAverage();
      const c0 = ctx.cpu.snapshot();
      const r = await copyIn(copier, chunks, ROWS);
      const cpu = CpuMeter.delta(c0, ctx.cpu.snapshot());
      await check("COPY", ROWS);
      runs.push({
        kind: "copy",
        rows: ROWS,
        seconds: r.seconds,
        rowsPerSecond: r.rowsPerSecond,
        nodeCpuS: cpu.nodeMs / 1000,
        pgCpuS: cpu.pgMs === null ? null : cpu.pgMs / 1000,
        sourceCpuS: null,
        pages: null,
        baselineRss: Number.NaN,
        baselineHeap: Number.NaN,
        memory: null,
        load,
      });
      say(
        `collector: COPY: ${fmtInt(r.rowsPerSecond)} rows/s (${fmt(r.seconds, 1)} s); load ${fmt(load, 2)}`,
      );
    };

    for (const n of SIZES) await collect("http-json", `http-json-${n}`, n);
    for (let i = 0; i < COPY_RUNS; i++) {
      await copyFloor();
      if (i === 0) await collect("generated", `generated-${ROWS}`, ROWS);
      if (i === 1) await collect("http-json", `http-json-${ROWS}`, ROWS);
    }
    return report(runs, (Date.now() - started) / 1000);
  } finally {
    await admin.end().catch(() => undefined);
    await copier.end().catch(() => undefined);
    if (source) await endChild(source);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(runs: Run[], seconds: number): Section {
  const mb = (b: number) => fmt(b / MB, 0);
  const copies = runs.filter((r) => r.kind === "copy");
  const copyRate = median(copies.map((r) => r.rowsPerSecond));
  const full = runs.filter((r) => r.kind === "http-json" && r.rows === ROWS);
  const fullRate = median(full.map((r) => r.rowsPerSecond));
  const streamed = runs.filter((r) => r.kind === "http-json");
  const peakRss = Math.max(...streamed.map((r) => Math.max(r.memory!.rss, r.memory!.kernelPeakRss || 0)));
  const bySize = SIZES.map((n) => streamed.find((r) => r.rows === n)!);
  // Leak test: the heap right after full GCs, at the smallest and the largest run (see MemoryPeaks).
  const liveMax = (r: Run) => Math.max(...r.memory!.afterMajorGc);
  const withGc = bySize.filter((r) => r.memory!.afterMajorGc.length > 0);
  const growth = withGc.length ? liveMax(withGc[withGc.length - 1]!) - liveMax(withGc[0]!) : Number.NaN;
  const liveCell = (r: Run) => {
    const xs = r.memory!.afterMajorGc;
    return xs.length ? `${mb(Math.min(...xs))} – ${mb(Math.max(...xs))} (${xs.length})` : "– (0)";
  };
  const generated = runs.find((r) => r.kind === "generated");
  const perMillion = (s: number | null, rows: number) => (s === null ? Number.NaN : (s * 1_000_000) / rows);
  // CPU per row of Uplift (Node) + PostgreSQL, the source left out (it stands for the remote system).
  const cpuPerRow = (r: Run) => (r.nodeCpuS + (r.pgCpuS ?? Number.NaN)) / r.rows;
  const copyCpu = median(copies.map(cpuPerRow));
  const byCpu = (r: Run) => copyCpu / cpuPerRow(r);
  const fullCpu = median(full.map(byCpu));

  const t: string[] = [];
  t.push(
    "| run | records | seconds | records/s | vs COPY | vs COPY by CPU per row (Node + PostgreSQL) | CPU s per 1M rows: Uplift (Node) + PostgreSQL; source | pages | RSS before → peak (kernel peak), MB | heap used before → peak, MB | heap after full GCs, min – max MB (GCs) |",
  );
  t.push("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | --- |");
  for (const r of runs) {
    const label =
      r.kind === "copy"
        ? "COPY … FROM STDIN (floor)"
        : r.kind === "generated"
          ? "bench-generated (no I/O)"
          : "http-json";
    const mem = r.memory
      ? `${mb(r.baselineRss)} → **${mb(r.memory.rss)}** (${mb(r.memory.kernelPeakRss)})`
      : "–";
    const heap = r.memory ? `${mb(r.baselineHeap)} → ${mb(r.memory.heapUsed)}` : "–";
    const live = r.memory ? liveCell(r) : "–";
    t.push(
      `| ${label} | ${fmtInt(r.rows)} | ${fmt(r.seconds, 1)} | ${fmtInt(r.rowsPerSecond)} | ${fmt((r.rowsPerSecond / copyRate) * 100)} % | ${fmt(byCpu(r) * 100)} % | ${fmt(perMillion(r.nodeCpuS, r.rows))} + ${fmt(perMillion(r.pgCpuS, r.rows))}; ${r.sourceCpuS === null ? "–" : fmt(perMillion(r.sourceCpuS, r.rows), 2)} | ${r.pages ?? "–"} | ${mem} | ${heap} | ${live} |`,
    );
  }
  const flat = growth < 16 * MB;
  const under = peakRss < MEMORY_LIMIT;
  const ratios = [
    `- http-json at ${fmtInt(ROWS)} records: **${fmtInt(fullRate)} records/s**, ${fmt((fullRate / copyRate) * 100)} % of COPY's ${fmtInt(copyRate)} rows/s (medians of ${full.length} and ${copies.length} runs); by CPU per row (Uplift + PostgreSQL) ${fmt(fullCpu * 100)} % of COPY's — target ≥ 70 % of COPY's rate ${fullRate / copyRate >= 0.7 ? "met" : "NOT met"}.`,
    generated
      ? `- Runner and store alone (bench-generated, same rows, no HTTP or JSON): ${fmtInt(generated.rowsPerSecond)} records/s, ${fmt((generated.rowsPerSecond / copyRate) * 100)} % of COPY (by CPU per row ${fmt(byCpu(generated) * 100)} %).`
      : "",
    `- Peak RSS of the Uplift process while streaming: ${bySize.map((r) => `${fmtInt(r.rows)} → ${mb(r.memory!.rss)} MB`).join(", ")} (sampled every 100 ms; the kernel's own peaks: ${bySize.map((r) => `${mb(r.memory!.kernelPeakRss)} MB`).join(", ")}). Peak heap used: ${bySize.map((r) => `${mb(r.memory!.heapUsed)} MB`).join(", ")}.`,
    `- Heap right after full GCs (the live set; a leak would grow with the records): at most ${bySize.map((r) => `${mb(liveMax(r))} MB`).join(", ")} at ${bySize.map((r) => fmtInt(r.rows)).join(", ")} records.`,
    `- Memory flat (live heap after full GCs at ${fmtInt(withGc[withGc.length - 1]?.rows ?? ROWS)} within 16 MB of that at ${fmtInt(withGc[0]?.rows ?? SIZES[0]!)}: ${growth >= 0 ? "+" : ""}${mb(growth)} MB): ${flat ? "yes" : "NO"}; peak RSS under 300 MB at every size (highest ${mb(peakRss)} MB): ${under ? "met" : "NOT met"}.`,
  ].filter(Boolean);
  const body = `Set-up:

- Source: a node:http server in a child process (\`bench/collector-source.ts\`) serving the benchmark's rows
  (\`bench/data.ts\`: seeded, the same rows as the ingest benchmark) as JSON pages of ${fmtInt(PAGE)} items
  \`{"id":"10000000","at":"2025-09-01T00:00:12.345Z","minutes":11.4}\`, with \`Link: <…>; rel="next"\`. Pages are
  serialised when the child starts, so the source costs little CPU while a run is measured (column "source").
- Uplift: **one fresh child process per measured run** (\`bench/collector-app.ts\`: \`startApp\`, scheduler off, then an
  unmeasured warm-up run of ${fmtInt(WARMUP)} records), so every run starts from the same state and nothing of the benchmark
  process (COPY text, data sets) is counted. The built-in \`http-json\` collector (items \`$\`,
  fields \`$.at\`, \`$.minutes\`, \`$.id\`, Link pagination, \`cursorField: $.at\` so a cursor is committed with every
  batch) run through \`app.collectors.startManual(name)\` with the runner's defaults (batches of 5,000, one
  transaction each with the run's counters and the cursor). Records/s = records / (startManual → run finished).
- Before every run: \`TRUNCATE observation, observation_activity\`, \`CHECKPOINT\`, and a full GC (\`--expose-gc\`
  switched on at run time) so "before" is the live baseline. Memory: the child's \`process.memoryUsage()\` every 100 ms;
  "kernel peak" is VmHWM after resetting it (\`/proc/self/clear_refs\`), which also catches spikes between samples.
  "Heap after full GCs": \`heapUsed\` when a PerformanceObserver reports each mark-compact — the live set, which does not
  depend on when V8 decides to collect (the peaks do: V8 lets old-generation garbage grow before collecting it).
  CPU: the child's \`process.cpuUsage()\` over the run, PostgreSQL's from \`/proc\` as in the ingest benchmark.
- \`bench-generated\` is a bench-only collector (\`defineCollector\` in \`bench/collector-app.ts\`, registered with the
  built-ins in \`createRegistry\`) that yields the same rows from memory: runner + store without HTTP and JSON
  (its ${fmtInt(ROWS)} generated rows, 16 MB of arrays, are part of its memory).
- Floor: \`COPY observation (…) FROM STDIN\` of the same ${fmtInt(ROWS)} rows (\`bench/ingest.ts\`, text prepared
  before timing). Every run's stored count and Σvalue are checked against the generated rows.

All runs, in order:

${t.join("\n")}

${ratios.join("\n")}`;
  return {
    name: "collector",
    title: `Collector: ${fmtInt(ROWS)} records from a local JSON API through the runner, vs COPY`,
    summary: `http-json ${fmtInt(fullRate)} records/s = ${fmt((fullRate / copyRate) * 100)} % of COPY (target ≥ 70 %: ${fullRate / copyRate >= 0.7 ? "met" : "NOT met"}; by CPU ${fmt(fullCpu * 100)} %); peak RSS ${bySize.map((r) => mb(r.memory!.rss)).join(" / ")} MB at ${SIZES.map((n) => `${n / 1000}k`).join(" / ")} (target < 300 MB and flat: ${flat && under ? "met" : "NOT met"})`,
    body,
    loads: runs.map((r) => r.load),
    seconds,
  };
}
