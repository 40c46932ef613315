// `bulk`: POST /api/v1/observations (NDJSON, one request of 1,000,000 lines) versus PostgreSQL's COPY into the
// same table, one stream each; then the same body again (every line an update) versus COPY into an empty
// table. The server runs alone in a child process (bench/bulk-server.ts): its RSS growth while it reads the
// body and its CPU are its own, not the benchmark's (which holds the body it sends).
import http from "node:http";
import { type ServerProcess, startServerProcess } from "./bulk-server.js";
import { measured, procStatusBytes, resetPeakRss, type Section, say } from "./common.js";
import { loadAverage } from "./cpu.js";
import type { Dataset } from "./data.js";
import { buildCopyChunks, copyIn, type IngestRun } from "./ingest.js";
import { CONFIG, MEAN_KEY, type ObservationsEnv, ROWS, SLUG } from "./observations-env.js";
import { fmt, fmtInt, median } from "./stats.js";

/** NDJSON in chunks of about 1 MB, built before any timing. */
function buildNdjson(d: Dataset, n = d.n): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    const line = `{"projectSlug":"${SLUG}","metricKey":"${MEAN_KEY}","observedAt":"${new Date(d.observedAt[i]).toISOString()}","value":${d.value[i]},"weight":1,"externalId":"${d.externalId(i)}"}\n`;
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

interface BulkRun extends IngestRun {
  inserted: number;
  updated: number;
  /** The server's peak RSS above its RSS at the start of the request, MB. */
  rssGrowthMb: number;
  /** The server's CPU seconds during the request. */
  serverCpuSeconds: number;
}

async function postBulk(server: ServerProcess, chunks: Buffer[]): Promise<BulkRun> {
  const url = `${server.url}/api/v1/observations`;
  const rss0 = server.rss();
  // VmHWM reset to the current RSS where the kernel allows it; the 50 ms samples cover the rest.
  const hwm = resetPeakRss(server.pid);
  let peak = rss0;
  const sample = () => {
    peak = Math.max(peak, server.rss(), hwm ? procStatusBytes(server.pid, "VmHWM") : 0);
  };
  const sampler = setInterval(sample, 50);
  const cpu0 = server.cpuSeconds();
  const started = performance.now();
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        url,
        { method: "POST", headers: { "content-type": "application/x-ndjson" } },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(body)
              : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 500)}`)),
          );
        },
      );
      req.on("error", reject);
      let i = 0;
      const pump = () => {
        while (i < chunks.length) if (!req.write(chunks[i++])) return void req.once("drain", pump);
        req.end();
      };
      pump();
    });
    const seconds = (performance.now() - started) / 1000;
    const { inserted, updated } = JSON.parse(text) as { inserted: number; updated: number };
    sample();
    return {
      rows: inserted + updated,
      seconds,
      rowsPerSecond: (inserted + updated) / seconds,
      latencyMedianMs: Number.NaN,
      latencyMaxMs: Number.NaN,
      inserted,
      updated,
      rssGrowthMb: (peak - rss0) / 2 ** 20,
      serverCpuSeconds: server.cpuSeconds() - cpu0,
    };
  } finally {
    clearInterval(sampler);
  }
}

interface Record {
  path: "bulk new" | "bulk update" | "COPY";
  run: IngestRun | BulkRun;
  /** CPU seconds of the writing process (the server for bulk, this process's COPY client) and PostgreSQL's. */
  cpu: { app: number; pg: number | null; total: number };
  load: number;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function bulkBenchmark(env: ObservationsEnv): Promise<Section> {
  const started = Date.now();
  const { data, ids, admin, copier, cpu } = env;
  const body = buildNdjson(data);
  const copy = buildCopyChunks(data, ids.project, ids.mean);
  say(`bulk: NDJSON ${fmt(body.reduce((s, b) => s + b.length, 0) / 2 ** 20)} MB in one request`);
  const reset = async () => {
    await admin.query("TRUNCATE observation, observation_activity");
    await admin.query("CHECKPOINT");
  };
  say("bulk: starting Uplift in a child process");
  const server = await startServerProcess(env.dbUrl, CONFIG);
  try {
    // Warm-up (unmeasured): the server's first request pays for compilation and its pool's connections.
    await postBulk(server, buildNdjson(data, Math.min(data.n, 20_000)));
    const records: Record[] = [];
    const time = async (path: Record["path"], fn: () => Promise<IngestRun | BulkRun>) => {
      const load = loadAverage();
      const [, used, run] = await measured(cpu, fn);
      const app = "serverCpuSeconds" in run ? run.serverCpuSeconds : used.nodeMs / 1000;
      const pg = used.pgMs === null ? null : used.pgMs / 1000;
      records.push({ path, run, cpu: { app, pg, total: app + (pg ?? 0) }, load });
      say(
        `bulk: ${path}: ${fmtInt(run.rowsPerSecond)} rows/s (${fmt(run.seconds, 2)} s; CPU ${"serverCpuSeconds" in run ? "server" : "client"} ${fmt(app)} s + postgres ${pg === null ? "?" : fmt(pg)} s${"rssGrowthMb" in run ? `; server RSS +${fmt(run.rssGrowthMb)} MB` : ""})`,
      );
      return run;
    };
    for (let r = 0; r < ROUNDS; r++) {
      // New rows: bulk into an empty table, then COPY into an empty table (turns alternate by round).
      const order = r % 2 === 0 ? (["bulk", "copy"] as const) : (["copy", "bulk"] as const);
      for (const kind of order) {
        await reset();
        if (kind === "copy") await time("COPY", () => copyIn(copier, copy, data.n));
        else {
          const run = (await time("bulk new", () => postBulk(server, body))) as BulkRun;
          if (run.inserted !== data.n) throw new Error(`bulk stored ${run.inserted} of ${data.n}`);
        }
      }
      // Updates: the table holds the same 1,000,000 (from the bulk run or from COPY); the same body again.
      await admin.query("CHECKPOINT");
      const upd = (await time("bulk update", () => postBulk(server, body))) as BulkRun;
      if (upd.updated !== data.n) throw new Error(`bulk updated ${upd.updated} of ${data.n}`);
    }
    return section(records, (Date.now() - started) / 1000);
  } finally {
    await server.stop();
  }
}

function section(records: Record[], seconds: number): Section {
  const of = (p: Record["path"]) => records.filter((x) => x.path === p);
  const rate = (p: Record["path"]) => median(of(p).map((x) => x.run.rowsPerSecond));
  const cpuPerM = (p: Record["path"]) => median(of(p).map((x) => x.cpu.total * (1e6 / x.run.rows)));
  const copyRate = rate("COPY");
  const rss = Math.max(...records.map((x) => ("rssGrowthMb" in x.run ? x.run.rssGrowthMb : 0)));
  const newPct = (rate("bulk new") / copyRate) * 100;
  const updPct = (rate("bulk update") / copyRate) * 100;
  const rows = records.map(
    (x) =>
      `| ${x.path} | ${fmtInt(x.run.rowsPerSecond)} | ${fmt(x.run.seconds, 2)} | ${fmt(x.cpu.app)} + ${x.cpu.pg === null ? "?" : fmt(x.cpu.pg)} | ${"rssGrowthMb" in x.run ? fmt(x.run.rssGrowthMb) : "–"} | ${fmt(x.load, 2)} |`,
  );
  const body = `Set-up: the ingest data set (${fmtInt(ROWS)} observations, \`bench/data.ts\`), serialised as NDJSON before timing
and sent in one streamed \`POST /api/v1/observations\` to Uplift running alone in a child process
(\`node --import tsx src/main.ts\`, after one unmeasured request of 20,000 lines); the floor is one
\`COPY observation … FROM STDIN\` stream of the same rows (text prepared before timing) into the same table. "bulk
new" and COPY each start from an empty table (\`TRUNCATE\` + \`CHECKPOINT\`); "bulk update" sends the same body
again over the 1,000,000 stored rows (every line an update) and is compared with COPY into an empty table. RSS
growth: the server process's peak RSS (VmHWM reset before the request, and VmRSS sampled every 50 ms) above its
RSS when the request started. CPU: the server process (bulk) or this process's COPY client, plus every
PostgreSQL process.

| path | rows/s | seconds | CPU s (server or COPY client + PostgreSQL) | server RSS growth, MB | load average at start |
| --- | ---: | ---: | --- | ---: | ---: |
${rows.join("\n")}

- Bulk, new rows: ${fmt(newPct)} % of COPY's rate (median; by CPU per row ${fmt((cpuPerM("COPY") / cpuPerM("bulk new")) * 100)} %) — target ≥ 80 % ${newPct >= 80 ? "met" : "NOT met"}
- Bulk, all updates: ${fmt(updPct)} % of COPY's rate into an empty table (by CPU per row ${fmt((cpuPerM("COPY") / cpuPerM("bulk update")) * 100)} %) — target ≥ 60 % ${updPct >= 60 ? "met" : "NOT met"}
- Server RSS growth: at most ${fmt(rss)} MB — target < 100 MB ${rss < 100 ? "met" : "NOT met"}`;
  return {
    name: "bulk",
    title: `Bulk ingest: ${fmtInt(ROWS)} observations in one request vs COPY`,
    summary: `new ${fmt(newPct)} % of COPY (target ≥ 80 %: ${newPct >= 80 ? "met" : "NOT met"}), updates ${fmt(updPct)} % (target ≥ 60 %: ${updPct >= 60 ? "met" : "NOT met"}), RSS +${fmt(rss)} MB (target < 100: ${rss < 100 ? "met" : "NOT met"})`,
    body,
    loads: records.map((x) => x.load),
    seconds,
  };
}
