// `subscribers`: 10,000 concurrent graphql-ws subscribers of one KPI on one Uplift process, one change:
// how long until every subscriber has it (per-subscriber latency from just before the mutation is sent), and
// the server's memory per idle subscriber. The server runs alone in a child process (`node --import tsx
// src/main.ts`, as `npm start`), so its RSS is its own; the subscribers are raw WebSocket connections
// opened by worker processes (bench/subscribers-client.ts).
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { PROJECT_ROOT } from "../src/paths.js";
import { CHANGES_CHANNEL } from "../src/store/changes.js";
import {
  type BenchContext,
  endChild,
  forkTs,
  HERE,
  MB,
  nextMessage,
  postJson,
  procStatusBytes,
  type Section,
  say,
  serverEnv,
  serverNodeFlags,
  sleep,
  TSX_IMPORT,
} from "./common.js";
import { loadAverage } from "./cpu.js";
import { GO_LIVE } from "./data.js";
import { RECORD_MUTATION } from "./ingest.js";
import { fmt, fmtInt, median } from "./stats.js";

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const WORKERS = 2;
const CHANGES = Number(process.env.BENCH_SUBSCRIBER_CHANGES ?? 5);
const SEED_OBSERVATIONS = 2_000;
const SETTLE_MS = 5_000;
/** PostgreSQL backends flush their statistics within 10 s of going idle (PGSTAT_IDLE_INTERVAL). */
const STATS_FLUSH_MS = 11_000;
const SLUG = "p";
const METRIC = "live.resolution_time";
const CONFIG = `currency: USD
metrics:
  - key: ${METRIC}
    name: Resolution time
    unit: minutes
    direction: LOWER_IS_BETTER
    aggregation: MEAN
projects:
  - slug: ${SLUG}
    name: Live updates benchmark
    stage: PRODUCTION
    goLiveAt: ${GO_LIVE.toISOString()}
    kpis:
      - metric: ${METRIC}
        target: 5
        valuePerUnit: 1.0
`;
const SUBSCRIPTION = `subscription { kpiUpdated(projectSlug: "${SLUG}") { projectSlug metric { key } baseline { value count } current { value count } improvementPct updatedAt } }`;

interface Server {
  child: ChildProcess;
  pid: number;
  port: number;
  output(): string;
  /** Full GC in the server, then its memoryUsage() and VmRSS. */
  probe(): Promise<{ heapUsed: number; rss: number; rssBeforeGc: number }>;
  cpuSeconds(): number;
}

async function startServer(dbUrl: string, dir: string): Promise<Server> {
  const config = path.join(dir, "uplift.yaml");
  fs.writeFileSync(config, CONFIG);
  const child = spawn(
    process.execPath,
    [
      "--import",
      TSX_IMPORT,
      "--import",
      pathToFileURL(path.join(HERE, "subscribers-probe.ts")).href,
      ...serverNodeFlags(), // BENCH_SERVER_CPU_PROF, BENCH_SERVER_FLAGS (bench/common.ts)
      path.join(PROJECT_ROOT, "src", "main.ts"),
    ],
    {
      cwd: PROJECT_ROOT,
      env: serverEnv(dbUrl, config, dir),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const waiters: (() => void)[] = [];
  const onData = (c: Buffer) => {
    out += c.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const until = (re: RegExp, from: number, ms: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const deadline = Date.now() + ms;
      const check = () => {
        const m = re.exec(out.slice(from));
        if (m) return resolve(m);
        if (child.exitCode !== null) return reject(new Error(`uplift exited (${child.exitCode}):\n${out}`));
        if (Date.now() > deadline) return reject(new Error(`no ${re} from uplift within ${ms} ms:\n${out}`));
        waiters.push(check);
        setTimeout(check, 200);
      };
      check();
    });
  // JSON log line (pino): {"msg":"Uplift is serving","graphql":"http://127.0.0.1:PORT/graphql"}.
  const m = await until(/"graphql":"http:\/\/[^"]*:(\d+)\/graphql"/, 0, 120_000);
  const pid = child.pid!;
  return {
    child,
    pid,
    port: Number(m[1]),
    output: () => out,
    async probe() {
      const rssBeforeGc = procStatusBytes(pid, "VmRSS");
      const from = out.length;
      child.kill("SIGUSR2");
      const line = await until(/bench-probe (\{.*\})\n/, from, 30_000);
      const mem = JSON.parse(line[1]!);
      return { heapUsed: mem.heapUsed, rss: procStatusBytes(pid, "VmRSS"), rssBeforeGc };
    },
    cpuSeconds() {
      const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ
    },
  };
}

interface Workers {
  ready: { subscribed: number; failed: number; ms: number }[];
  /** Receive times of round r from every worker (null: not received), errors so far, one sample payload. */
  times(round: number, timeoutMs: number): Promise<{ times: (number | null)[]; errors: number; sample: any }>;
  close(): Promise<void>;
}

async function startWorkers(port: number, total: number, n: number): Promise<Workers> {
  const share = (i: number) => Math.floor(total / n) + (i < total % n ? 1 : 0);
  const children = Array.from({ length: n }, (_, i) =>
    forkTs("subscribers-client.ts", {
      WS_URL: `ws://127.0.0.1:${port}/graphql`,
      COUNT: String(share(i)),
      QUERY: SUBSCRIPTION,
    }),
  );
  const completed = children.map(() => new Set<number>());
  const wake: (() => void)[] = [];
  for (const [i, c] of children.entries()) {
    c.on("message", (m: any) => {
      if (m?.kind === "complete") {
        completed[i]!.add(m.round);
        for (const w of wake.splice(0)) w();
      }
    });
  }
  const close = async () => {
    for (const c of children) if (c.connected) c.send({ kind: "close" });
    await Promise.all(
      children.map((c) => Promise.race([new Promise((r) => c.once("exit", r)), sleep(5_000)])),
    );
    await Promise.all(children.map((c) => endChild(c)));
  };
  try {
    const ready = await Promise.all(
      children.map((c) => nextMessage<Workers["ready"][number]>(c, (m) => m?.kind === "ready", 300_000)),
    );
    return {
      ready,
      async times(round, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (!completed.every((s) => s.has(round)) && Date.now() < deadline) {
          await new Promise<void>((r) => {
            wake.push(r);
            setTimeout(r, 100);
          });
        }
        const parts = await Promise.all(
          children.map((c) => {
            const reply = nextMessage<{ times: (number | null)[]; errors: number; sample: any }>(
              c,
              (m) => m?.kind === "times" && m.round === round,
            );
            c.send({ kind: "times", round });
            return reply;
          }),
        );
        return {
          times: parts.flatMap((p) => p.times),
          errors: parts.reduce((s, p) => s + p.errors, 0),
          sample: parts.find((p) => p.sample)?.sample ?? null,
        };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Change {
  received: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  min: number;
  mutationMs: number;
  /** From T0 to the commit's NOTIFY reaching the benchmark. */
  commitMs: number;
  p50Commit: number;
  p99Commit: number;
  serverCpuS: number;
  errors: number;
  load: number;
}

export async function subscribersBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "uplift-bench-live-"));
  let server: Server | null = null;
  let workers: Workers | null = null;
  const stats = new pg.Client(ctx.dbUrl);
  try {
    say("subscribers: starting Uplift in a child process");
    server = await startServer(ctx.dbUrl, dir);
    const gql = `http://127.0.0.1:${server.port}/graphql`;
    await stats.connect();
    // The commit's own timestamp, as near as a client can see it: writers NOTIFY inside their transaction and
    // PostgreSQL delivers it at commit, to this connection as to the server's listener.
    let notifiedAt: number | null = null;
    stats.on("notification", (n) => {
      if (n.channel === CHANGES_CHANNEL && notifiedAt === null)
        notifiedAt = performance.timeOrigin + performance.now();
    });
    await stats.query(`LISTEN ${CHANGES_CHANNEL}`);
    const observation = (externalId: string, at: number, value: number) => ({
      projectSlug: SLUG,
      metricKey: METRIC,
      observedAt: new Date(at).toISOString(),
      value,
      weight: 1,
      externalId,
    });
    // Some history, half before and half after go-live: the KPI has figures and statistics.
    const seed = [];
    for (let i = 0; i < SEED_OBSERVATIONS; i++) {
      const before = i < SEED_OBSERVATIONS / 2;
      const at = GO_LIVE.getTime() + (before ? -1 : 1) * (1 + (i % 1000)) * 3_600_000;
      seed.push(observation(`seed-${i}`, at, before ? 8 + (i % 7) : 5 + (i % 5)));
    }
    await postJson(gql, JSON.stringify({ query: RECORD_MUTATION, variables: { input: seed } }));
    let changeNo = 0;
    const change = async () => {
      const k = changeNo++;
      const body = JSON.stringify({
        query: RECORD_MUTATION,
        variables: { input: [observation(`change-${k}`, GO_LIVE.getTime() + 86_400_000 + k * 60_000, 4)] },
      });
      notifiedAt = null;
      const t0 = performance.timeOrigin + performance.now();
      const r = await postJson(gql, body);
      const t1 = performance.timeOrigin + performance.now();
      if (r.recordObservations.inserted !== 1) throw new Error(`change ${k} was not inserted`);
      for (let i = 0; notifiedAt === null && i < 500; i++) await sleep(10);
      if (notifiedAt === null) throw new Error(`change ${k}: no NOTIFY reached the benchmark`);
      return { t0, tCommit: notifiedAt as number, mutationMs: t1 - t0, k };
    };
    const figures = JSON.stringify({
      query: `query { project(slug: "${SLUG}") { kpi(metricKey: "${METRIC}") { current { count } } } }`,
    });
    const rangeScans = async () =>
      Number(
        (
          await stats.query(
            `SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'observation_range'`,
          )
        ).rows[0].idx_scan,
      );

    // Warm-up (not reported): a few subscribers and two changes, so the server's code paths are compiled.
    say("subscribers: warm-up with 50 subscribers");
    const warm = await startWorkers(server.port, 50, 1);
    await sleep(1_000);
    for (let i = 0; i < 2; i++) {
      await change();
      const w = await warm.times(i, 10_000);
      if (w.times.some((t) => t === null)) throw new Error("warm-up: a subscriber missed the change");
    }
    await warm.close();

    // How many observation_range scans one recomputation of this KPI takes (no subscribers: the change
    // itself recomputes nothing), to count recomputations per change from PostgreSQL's statistics.
    say("subscribers: calibrating recomputations from pg_stat_user_indexes (about 25 s)");
    await sleep(STATS_FLUSH_MS);
    const c0 = await rangeScans();
    await change();
    await postJson(gql, figures);
    await sleep(STATS_FLUSH_MS);
    const scansPerRecomputation = (await rangeScans()) - c0;

    await sleep(2_000);
    const before = await server.probe();
    say(
      `subscribers: server before: RSS ${fmt(before.rss / MB, 1)} MB after GC (${fmt(before.rssBeforeGc / MB, 1)} before), heap ${fmt(before.heapUsed / MB, 1)} MB`,
    );
    say(`subscribers: opening ${fmtInt(SUBSCRIBERS)} WebSocket subscribers from ${WORKERS} worker processes`);
    const tc = performance.now();
    workers = await startWorkers(server.port, SUBSCRIBERS, WORKERS);
    const connectSeconds = (performance.now() - tc) / 1000;
    const subscribed = workers.ready.reduce((s, r) => s + r.subscribed, 0);
    const failed = workers.ready.reduce((s, r) => s + r.failed, 0);
    if (subscribed !== SUBSCRIBERS)
      throw new Error(`only ${subscribed} of ${SUBSCRIBERS} subscribed (${failed} failed)`);
    await sleep(SETTLE_MS);
    const after = await server.probe();
    const perSubRss = (after.rss - before.rss) / SUBSCRIBERS;
    const perSubHeap = (after.heapUsed - before.heapUsed) / SUBSCRIBERS;
    say(
      `subscribers: ${fmtInt(subscribed)} connected in ${fmt(connectSeconds, 1)} s; server RSS ${fmt(after.rss / MB, 1)} MB ` +
        `(${fmt(after.rssBeforeGc / MB, 1)} before GC), heap ${fmt(after.heapUsed / MB, 1)} MB: ` +
        `${fmt(perSubRss / 1024, 1)} KiB RSS, ${fmt(perSubHeap / 1024, 1)} KiB heap per subscriber`,
    );

    // The changes.
    await sleep(STATS_FLUSH_MS);
    const s0 = await rangeScans();
    const changes: Change[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const load = loadAverage();
      const cpu0 = server.cpuSeconds();
      const { t0, tCommit, mutationMs, k } = await change();
      const got = await workers.times(i, 30_000);
      const cpu1 = server.cpuSeconds();
      const lat = got.times.filter((t): t is number => t !== null).map((t) => t - t0);
      lat.sort((a, b) => a - b);
      const fromCommit = lat.map((t) => t - (tCommit - t0));
      const wantCount = SEED_OBSERVATIONS / 2 + k + 1;
      const count = got.sample?.data?.kpiUpdated?.current?.count;
      if (count !== wantCount) {
        throw new Error(`change ${i}: the pushed KPI has ${count} AFTER observations, expected ${wantCount}`);
      }
      const c: Change = {
        received: lat.length,
        p50: quantile(lat, 0.5),
        p90: quantile(lat, 0.9),
        p99: quantile(lat, 0.99),
        max: lat[lat.length - 1] ?? Number.NaN,
        min: lat[0] ?? Number.NaN,
        mutationMs,
        commitMs: tCommit - t0,
        p50Commit: quantile(fromCommit, 0.5),
        p99Commit: quantile(fromCommit, 0.99),
        serverCpuS: cpu1 - cpu0,
        errors: got.errors,
        load,
      };
      changes.push(c);
      say(
        `subscribers: change ${i + 1}: ${fmtInt(c.received)} received; p50 ${fmt(c.p50, 0)} ms, p90 ${fmt(c.p90, 0)} ms, ` +
          `p99 ${fmt(c.p99, 0)} ms, max ${fmt(c.max, 0)} ms; from the commit p50 ${fmt(c.p50Commit, 0)} ms, p99 ${fmt(c.p99Commit, 0)} ms (mutation ${fmt(mutationMs, 0)} ms, commit at ${fmt(c.commitMs, 0)} ms; server CPU ${fmt(c.serverCpuS, 2)} s; load ${fmt(load, 2)})`,
      );
      await sleep(1_000);
    }
    await sleep(STATS_FLUSH_MS);
    const recomputations = ((await rangeScans()) - s0) / scansPerRecomputation;
    const peakRss = procStatusBytes(server.pid, "VmHWM");
    const warnings = server
      .output()
      .split("\n")
      .filter((l) => / (WARN|ERROR) /.test(l));
    if (process.env.BENCH_SERVER_LOG) fs.writeFileSync(process.env.BENCH_SERVER_LOG, server.output());
    return report({
      before,
      after,
      perSubRss,
      perSubHeap,
      connectSeconds,
      changes,
      recomputations,
      scansPerRecomputation,
      peakRss,
      warnings,
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    await stats.end().catch(() => undefined);
    await workers?.close().catch(() => undefined);
    if (server) await endChild(server.child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: {
  before: { heapUsed: number; rss: number; rssBeforeGc: number };
  after: { heapUsed: number; rss: number; rssBeforeGc: number };
  perSubRss: number;
  perSubHeap: number;
  connectSeconds: number;
  changes: Change[];
  recomputations: number;
  scansPerRecomputation: number;
  peakRss: number;
  warnings: string[];
  seconds: number;
}): Section {
  const p99 = median(r.changes.map((c) => c.p99));
  const p99Commit = median(r.changes.map((c) => c.p99Commit));
  const all = r.changes.every((c) => c.received === SUBSCRIBERS && c.errors === 0);
  const t: string[] = [
    "| change | received | p50 ms | p90 ms | p99 ms | max ms | first ms | mutation round trip ms | commit at ms | p50 from commit ms | p99 from commit ms | server CPU s | load at start |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [i, c] of r.changes.entries()) {
    t.push(
      `| ${i + 1} | ${fmtInt(c.received)} | ${fmt(c.p50, 0)} | ${fmt(c.p90, 0)} | ${fmt(c.p99, 0)} | ${fmt(c.max, 0)} | ${fmt(c.min, 0)} | ${fmt(c.mutationMs, 0)} | ${fmt(c.commitMs, 0)} | ${fmt(c.p50Commit, 0)} | ${fmt(c.p99Commit, 0)} | ${fmt(c.serverCpuS, 2)} | ${fmt(c.load, 2)} |`,
    );
  }
  const kb = (b: number) => fmt(b / 1024, 1);
  const memOk = r.perSubRss < 20 * 1024;
  const latOk = p99 < 250;
  const commitOk = p99Commit < 250;
  const body = `Set-up:

- Uplift alone in a child process: \`node --import tsx src/main.ts\` (as \`npm start\`; NODE_ENV=${process.env.NODE_ENV ?? "production"}, LOG_LEVEL=info,
  scheduler off, PORT=0) on a fresh database, with \`bench/subscribers-probe.ts\` preloaded: on SIGUSR2 it runs a full GC and
  prints \`process.memoryUsage()\`. One project \`${SLUG}\`, one MEAN KPI, ${fmtInt(SEED_OBSERVATIONS)} observations.
- Subscribers: ${fmtInt(SUBSCRIBERS)} raw WebSocket connections from ${WORKERS} worker processes (\`bench/subscribers-client.ts\`, \`ws\`, 100
  connections being opened at a time per worker), each \`connection_init\` → \`subscribe\` to
  \`${SUBSCRIPTION}\`.
- Memory: the server's VmRSS (\`/proc/<pid>/status\`) after a forced full GC, before the subscribers connect (after a warm-up
  of 50 subscribers and 2 changes, disconnected) and after all ${fmtInt(SUBSCRIBERS)} are connected and idle for ${SETTLE_MS / 1000} s; per idle subscriber =
  (after − before) / ${fmtInt(SUBSCRIBERS)}.
- Each change: \`recordObservations\` of one new observation over HTTP; T0 = \`performance.timeOrigin + performance.now()\` just
  before the request is sent; a subscriber's latency = its \`next\` message's arrival time (same clock, in the worker) − T0.
  It includes the mutation, the commit's NOTIFY, the hub's coalescing (none for a change after a quiet spell), one
  recomputation, and the fan-out. "From commit": the same arrival times − the moment the commit's NOTIFY reached a connection
  of the benchmark that LISTENs on \`${CHANGES_CHANNEL}\` (PostgreSQL delivers it at commit; "commit at" is that moment − T0).
  Checked: every subscriber received every change without errors, and the pushed figures count the new observation.
- Client workers, server and PostgreSQL share the machine's ${os.availableParallelism()} cores; the workers' own processing of ${fmtInt(SUBSCRIBERS)} messages is
  part of the latencies (they timestamp a frame first, recognise a \`next\` by its first bytes and parse one per change).
- Recomputations per change: counted from PostgreSQL's statistics (\`pg_stat_user_indexes.idx_scan\` of \`observation_range\`),
  since the server is another process and logs nothing per recomputation (there is no "kpi changes published" log line).
  Calibrated first: one recomputation of this KPI = ${r.scansPerRecomputation} index scans (a change with no subscribers, then a cold
  query). Over the ${CHANGES} measured changes: ${fmt(r.scansPerRecomputation ? r.recomputations : Number.NaN, 2)} recomputations in all.

| server | RSS after GC, MB | (RSS before the GC, MB) | V8 heap used after GC, MB |
| --- | ---: | ---: | ---: |
| before the subscribers | ${fmt(r.before.rss / MB, 1)} | ${fmt(r.before.rssBeforeGc / MB, 1)} | ${fmt(r.before.heapUsed / MB, 1)} |
| ${fmtInt(SUBSCRIBERS)} idle subscribers | ${fmt(r.after.rss / MB, 1)} | ${fmt(r.after.rssBeforeGc / MB, 1)} | ${fmt(r.after.heapUsed / MB, 1)} |
| per idle subscriber | **${kb(r.perSubRss)} KiB** | | ${kb(r.perSubHeap)} KiB |

Connecting and subscribing all ${fmtInt(SUBSCRIBERS)} took ${fmt(r.connectSeconds, 1)} s. The server's peak RSS over the whole run (VmHWM) was ${fmt(r.peakRss / MB, 1)} MB.
Server log lines at WARN or ERROR: ${r.warnings.length}${r.warnings.length ? ` (first: \`${r.warnings[0]!.slice(0, 200)}\`)` : ""}.

${t.join("\n")}

- All ${fmtInt(SUBSCRIBERS)} received every change: ${all ? "yes" : "NO"}. Median of the ${CHANGES} p99s: **${fmt(p99, 0)} ms** from T0 — target < 250 ms ${latOk ? "met" : "NOT met"}; **${fmt(p99Commit, 0)} ms** from the commit — ${commitOk ? "met" : "NOT met"}.
- Memory per idle subscriber: **${kb(r.perSubRss)} KiB** of RSS (${kb(r.perSubHeap)} KiB of V8 heap) — target < 20 KB ${memOk ? "met" : "NOT met"}.
- KPI recomputations per change: ${fmt(r.recomputations / CHANGES, 2)} (one for all ${fmtInt(SUBSCRIBERS)} subscribers).`;
  return {
    name: "subscribers",
    title: `Live updates: ${fmtInt(SUBSCRIBERS)} subscribers on one process, one change`,
    summary: `p99 ${fmt(p99, 0)} ms from before the mutation, ${fmt(p99Commit, 0)} ms from the commit (median of ${CHANGES} changes; target < 250 ms: ${latOk ? "met" : "NOT met"}, from the commit ${commitOk ? "met" : "NOT met"}), ${kb(r.perSubRss)} KiB RSS per idle subscriber (target < 20 KB: ${memOk ? "met" : "NOT met"}); all received: ${all ? "yes" : "NO"}`,
    body,
    loads: r.changes.map((c) => c.load),
    seconds: r.seconds,
  };
}
