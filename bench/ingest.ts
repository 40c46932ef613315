// `ingest`: recordObservations over HTTP (GraphQL variables, pre-serialised bodies, a few requests in flight)
// versus PostgreSQL's own COPY into the same table (the floor).
import http from "node:http";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { CoercionTimes } from "./coercion.js";
import { measured, type Section, say } from "./common.js";
import { type CpuDelta, loadAverage } from "./cpu.js";
import type { Dataset } from "./data.js";
import { MEAN_KEY, type ObservationsEnv, ROWS, SLUG } from "./observations-env.js";
import { best, fmt, fmtInt, median } from "./stats.js";

export const RECORD_MUTATION =
  "mutation Record($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted updated } }";

/** One JSON body per batch, serialised before any timing. */
export function buildBodies(d: Dataset, batchSize: number, projectSlug: string, metricKey: string): Buffer[] {
  const bodies: Buffer[] = [];
  for (let lo = 0; lo < d.n; lo += batchSize) {
    const hi = Math.min(d.n, lo + batchSize);
    const input = [];
    for (let i = lo; i < hi; i++) {
      input.push({
        projectSlug,
        metricKey,
        observedAt: new Date(d.observedAt[i]).toISOString(),
        value: d.value[i],
        weight: 1,
        externalId: d.externalId(i),
      });
    }
    bodies.push(Buffer.from(JSON.stringify({ query: RECORD_MUTATION, variables: { input } })));
  }
  return bodies;
}

function post(agent: http.Agent, url: URL, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface IngestRun {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Per-request latency, ms (median and max). */
  latencyMedianMs: number;
  latencyMaxMs: number;
}

/** Sends every body with `concurrency` requests in flight; checks each answer. */
export async function ingestOverHttp(
  graphqlUrl: string,
  bodies: Buffer[],
  rowsPerBody: number[],
  concurrency: number,
): Promise<IngestRun> {
  const url = new URL(graphqlUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  let rows = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const i = next++;
          const t0 = performance.now();
          const res = await post(agent, url, bodies[i]);
          latencies.push(performance.now() - t0);
          const parsed = JSON.parse(res.text);
          const result = parsed?.data?.recordObservations;
          if (res.status !== 200 || !result || parsed.errors) {
            throw new Error(`batch ${i}: HTTP ${res.status} ${res.text.slice(0, 500)}`);
          }
          if (result.inserted + result.updated !== rowsPerBody[i]) {
            throw new Error(`batch ${i}: stored ${result.inserted}+${result.updated} of ${rowsPerBody[i]}`);
          }
          rows += result.inserted;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    latencyMedianMs: latencies[Math.floor(latencies.length / 2)],
    latencyMaxMs: latencies[latencies.length - 1],
  };
}

export const COPY_SQL =
  "COPY observation (project_id, metric_id, observed_at, value, weight, external_id) FROM STDIN";

/** COPY text format, in chunks of about 1 MB, built before any timing. */
export function buildCopyChunks(d: Dataset, projectId: string, metricId: string): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let size = 0;
  for (let i = 0; i < d.n; i++) {
    const line = `${projectId}\t${metricId}\t${new Date(d.observedAt[i]).toISOString()}\t${d.value[i]}\t1\t${d.externalId(i)}\n`;
    lines.push(line);
    size += line.length;
    if (size >= 1 << 20) {
      chunks.push(Buffer.from(lines.join("")));
      lines = [];
      size = 0;
    }
  }
  if (lines.length) chunks.push(Buffer.from(lines.join("")));
  return chunks;
}

/**
 * COPY … FROM STDIN of the prepared chunks (its own transaction) on a connection opened beforehand, so the
 * timing holds no connection set-up and the backend's CPU stays visible until it is measured.
 */
export async function copyIn(client: pg.Client, chunks: Buffer[], expectedRows: number): Promise<IngestRun> {
  const started = performance.now();
  const stream = client.query(copyFrom(COPY_SQL));
  await pipeline(async function* () {
    yield* chunks;
  }, stream);
  const seconds = (performance.now() - started) / 1000;
  if (stream.rowCount !== expectedRows) throw new Error(`COPY stored ${stream.rowCount} of ${expectedRows}`);
  return {
    rows: stream.rowCount,
    seconds,
    rowsPerSecond: stream.rowCount / seconds,
    latencyMedianMs: Number.NaN,
    latencyMaxMs: Number.NaN,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The benchmark

const BATCH = 5_000;
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

interface IngestRecord {
  kind: "http" | "copy";
  concurrency: number;
  round: number;
  position: number;
  run: IngestRun;
  cpu: CpuDelta;
  load: number;
}

function lines(chunk: Buffer): number {
  let n = 0;
  for (const b of chunk) if (b === 10) n++;
  return n;
}

/** Runs the ingest rounds; the MEAN metric keeps the rows of the last run. */
export async function ingestBenchmark(env: ObservationsEnv): Promise<{ section: Section; lastKind: string }> {
  const started = Date.now();
  const { data, ids, admin, copier, cpu } = env;
  say(`ingest: serialising ${fmtInt(data.n)} observations into ${Math.ceil(data.n / BATCH)} request bodies`);
  const bodies = buildBodies(data, BATCH, SLUG, MEAN_KEY);
  const rowsPerBody = bodies.map((_, i) => Math.min(BATCH, data.n - i * BATCH));
  const chunks = buildCopyChunks(data, ids.project, ids.mean);
  const mb = (xs: Buffer[]) => fmt(xs.reduce((s, b) => s + b.length, 0) / 2 ** 20);
  say(`ingest: request bodies ${mb(bodies)} MB, COPY text ${mb(chunks)} MB`);
  const reset = async () => {
    await admin.query("TRUNCATE observation, observation_activity");
    await admin.query("CHECKPOINT");
  };
  const graphqlUrl = env.bench.graphqlUrl;
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
        `ingest: round ${r + 1} ${kind === "http" ? `recordObservations ×${round.concurrency}` : "COPY"}: ` +
          `${fmtInt(run.rowsPerSecond)} rows/s (${fmt(run.seconds, 2)} s; CPU node ${fmt(used.nodeMs / 1000)} s + ` +
          `postgres ${used.pgMs === null ? "?" : fmt(used.pgMs / 1000)} s; load ${fmt(load, 2)})`,
      );
    }
  }
  say("ingest: one 5,000-item body in-process without a database, NODE_ENV=production and development");
  // Imported here: coercion.ts imports this module and has a top-level await (a static cycle never settles).
  const { measureCoercionIn } = await import("./coercion.js");
  const coercion = [await measureCoercionIn("production"), await measureCoercionIn("development")];
  for (const c of coercion) {
    say(
      `ingest: ${c.nodeEnv}: JSON.parse ${fmt(c.jsonParseCpuMs)} ms, coercion ${fmt(c.coerceCpuMs)} ms, ` +
        `execution without SQL ${fmt(c.executeCpuMs)} ms (CPU)`,
    );
  }
  return {
    section: ingestSection(records, coercion, env.cpu.seesPostgres, (Date.now() - started) / 1000),
    lastKind: records[records.length - 1]?.kind ?? "copy",
  };
}

function ingestSection(
  ingest: IngestRecord[],
  coercion: CoercionTimes[],
  seesPostgres: boolean,
  seconds: number,
): Section {
  const perMillion = (ms: number, rows: number) => (ms / 1000) * (1_000_000 / rows);
  const copies = ingest.filter((x) => x.kind === "copy");
  const copyRates = copies.map((x) => x.run.rowsPerSecond);
  const copyMedian = median(copyRates);
  const copyBest = best(copyRates, true);
  const cpuOf = (runs: IngestRecord[]) => ({
    node: median(runs.map((x) => perMillion(x.cpu.nodeMs, x.run.rows))),
    pg: seesPostgres ? median(runs.map((x) => perMillion(x.cpu.pgMs ?? 0, x.run.rows))) : Number.NaN,
    total: median(runs.map((x) => perMillion(x.cpu.totalMs, x.run.rows))),
  });
  const copyCpu = cpuOf(copies);

  const t: string[] = [];
  t.push(
    "| path | runs | best rows/s | median rows/s | median s | vs COPY, median | vs COPY, best | CPU s per 1M rows (Node + PostgreSQL = total) |",
  );
  t.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  const concurrencies = [...new Set(ROUNDS.map((x) => x.concurrency))];
  const ingestRatios: { label: string; median: number; best: number; cpu: number }[] = [];
  const cpuCell = (c: { node: number; pg: number; total: number }) =>
    `${fmt(c.node)} + ${fmt(c.pg)} = ${fmt(c.total)}`;
  for (const c of concurrencies) {
    const runs = ingest.filter((x) => x.kind === "http" && x.concurrency === c);
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
  for (const x of ingest) {
    t.push(
      `| ${x.round} | ${x.position === 0 ? "first" : "second"} | ${x.kind === "http" ? `recordObservations ×${x.concurrency}` : "COPY"} | ${fmtInt(x.run.rowsPerSecond)} | ${fmt(x.run.seconds, 2)} | ${x.kind === "http" ? `${fmt(x.run.latencyMedianMs, 0)} / ${fmt(x.run.latencyMaxMs, 0)}` : "–"} | ${fmt(x.cpu.nodeMs / 1000)} + ${x.cpu.pgMs === null ? "?" : fmt(x.cpu.pgMs / 1000)} | ${fmt(x.load, 2)} |`,
    );
  }
  t.push("");
  t.push(
    `One ${coercion[0]!.items.toLocaleString("en-US")}-item body (${fmt(coercion[0]!.bodyBytes / 1024, 0)} KiB), in-process, stub database, median of 20, CPU ms (wall ms):`,
  );
  t.push("");
  t.push(
    "| NODE_ENV | JSON.parse | GraphQL variable coercion | whole execution without SQL (coercion, type-graphql arguments, store checks, SQL parameters) |",
  );
  t.push("| --- | ---: | ---: | ---: |");
  for (const c of coercion) {
    t.push(
      `| ${c.nodeEnv} | ${fmt(c.jsonParseCpuMs)} (${fmt(c.jsonParseMs)}) | ${fmt(c.coerceCpuMs)} (${fmt(c.coerceMs)}) | ${fmt(c.executeCpuMs)} (${fmt(c.executeMs)}) |`,
    );
  }
  const ratios = ingestRatios.map(
    (s) =>
      `- Ingest, recordObservations with ${s.label}: ${fmt(s.median * 100)} % of COPY's rate (median; best ${fmt(s.best * 100)} %; by CPU per row ${fmt(s.cpu * 100)} %) — target ≥ 50 % ${s.median >= 0.5 ? "met" : "NOT met"}`,
  );
  const body = `Set-up:

- ${fmtInt(ROWS)} observations from a seeded PRNG (\`bench/data.ts\`): one project, go-live 2026-03-01T00:00:00.000Z, half in the
  six months before and half in the six months after, resolution times in minutes (lognormal, whole seconds), an
  increasing numeric externalId each, weight 1, no dimensions.
- The app runs in the bench's process (\`startApp\`, scheduler off, pool of 10, NODE_ENV=${process.env.NODE_ENV ?? "(unset)"} as in the Docker
  image), on a fresh database; client, server and PostgreSQL share the machine's cores.
- ${Math.ceil(ROWS / BATCH)} request bodies of ${BATCH.toLocaleString("en-US")} observations, serialised before timing, sent as GraphQL
  variables to \`recordObservations\` with a fixed number of requests in flight. The floor is
  \`COPY observation (project_id, metric_id, observed_at, value, weight, external_id) FROM STDIN\` (text format,
  pg-copy-streams, text prepared before timing) into the same table with the same indexes. Before every run:
  \`TRUNCATE observation, observation_activity\` and \`CHECKPOINT\`. Rounds alternate which path goes first.
- CPU: Node's own (\`process.cpuUsage\`) plus every process of the embedded cluster (\`/proc/<pid>/schedstat\`,
  including autovacuum, checkpointer and WAL writer, and exited children via the postmaster's cutime/cstime).

${t.join("\n")}

${ratios.join("\n")}`;
  const meds = ingestRatios.map((s) => `${fmt(s.median * 100)} %`).join(" / ");
  return {
    name: "ingest",
    title: `Ingest: ${fmtInt(ROWS)} observations into \`observation\`, recordObservations vs COPY`,
    summary: `recordObservations at ${concurrencies.join(" / ")} in flight = ${meds} of COPY's rate (target ≥ 50 %: ${ingestRatios.every((s) => s.median >= 0.5) ? "met" : "NOT met"})`,
    body,
    loads: ingest.map((x) => x.load),
    seconds,
  };
}
