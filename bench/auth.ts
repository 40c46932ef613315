// `auth`: what credentials cost. The same warm KPI query against two apps in this process, one open (auth
// off, 127.0.0.1) and one with auth on answering a reader API key, on two databases holding identical data.
// Rounds alternate between them, so that the machine's changing load hits both alike.
import pg from "pg";
import { Access } from "../src/auth/authenticate.js";
import { readAuthSettings } from "../src/auth/mode.js";
import { createLogger } from "../src/log.js";
import { type BenchContext, measured, type Section, say, startBenchApp } from "./common.js";
import { loadAverage } from "./cpu.js";
import { fmt, fmtInt, median } from "./stats.js";

const ADMIN_TOKEN = "bench-admin-token-0123456789abcdefghijklmnopqrstuv";
const OBSERVATIONS = Number(process.env.BENCH_AUTH_OBSERVATIONS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_AUTH_ROUNDS ?? 10);
const REQUESTS = Number(process.env.BENCH_AUTH_REQUESTS ?? 500);
const CONCURRENCY = 4;

const CONFIG = `currency: USD
metrics:
  - { key: bench.resolution_time, name: Resolution time, unit: minutes, direction: LOWER_IS_BETTER }
projects:
  - slug: bench
    name: Benchmark project
    stage: PRODUCTION
    goLiveAt: 2025-03-01T00:00:00Z
    kpis: [{ metric: bench.resolution_time, target: 5, valuePerUnit: 1 }]
`;
const KPI_QUERY = `query Kpi { project(slug: "bench") { kpi(metricKey: "bench.resolution_time") {
  baseline { value count } current { value count } improvementPct annualBenefit } } }`;
const RECORD = `mutation($in: [ObservationInput!]!) { recordObservations(input: $in) { inserted } }`;

async function post(url: string, body: string, secret: string | null): Promise<any> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body,
  });
  const json = (await res.json()) as any;
  if (res.status !== 200 || json.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json)}`);
  return json.data;
}

/** REQUESTS queries, CONCURRENCY at a time; requests per second. */
async function round(url: string, secret: string | null): Promise<number> {
  const body = JSON.stringify({ query: KPI_QUERY });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) await post(url, body, secret);
    }),
  );
  return REQUESTS / ((performance.now() - t0) / 1000);
}

export async function authBenchmark(ctx: BenchContext): Promise<Section> {
  const started = Date.now();
  const loads = [loadAverage()];
  // A second database on the same server: the open app must see no key at all.
  const other = `${new URL(ctx.dbUrl).pathname.slice(1)}_auth_open`;
  const admin = new pg.Client(ctx.dbUrl);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${other}`);
  await admin.query(`CREATE DATABASE ${other}`);
  const openUrl = new URL(ctx.dbUrl);
  openUrl.pathname = `/${other}`;
  const open = await startBenchApp(openUrl.toString(), CONFIG);
  const closed = await startBenchApp(ctx.dbUrl, CONFIG, { env: { UPLIFT_ADMIN_TOKEN: ADMIN_TOKEN } });
  try {
    const created = await post(
      closed.graphqlUrl,
      JSON.stringify({
        query: `mutation { createApiKey(input: { name: "bench", role: READER }) { secret } }`,
      }),
      ADMIN_TOKEN,
    );
    const key: string = created.createApiKey.secret;
    // Identical observations in both: baseline around 11 minutes, after go-live around 3.
    for (let start = 0; start < OBSERVATIONS; start += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, OBSERVATIONS - start) }, (_, j) => {
        const i = start + j;
        const before = i % 2 === 0;
        const day = Math.floor(i / 2) % 300;
        const at = new Date(Date.UTC(2025, 2, 1) + (before ? -1 : 1) * (day + 1) * 3_600_000);
        return {
          projectSlug: "bench",
          metricKey: "bench.resolution_time",
          observedAt: at.toISOString(),
          value: (before ? 11 : 3) + ((i * 7919) % 100) / 50 - 1,
          externalId: `o${i}`,
        };
      });
      const body = JSON.stringify({ query: RECORD, variables: { in: batch } });
      await post(open.graphqlUrl, body, null);
      await post(closed.graphqlUrl, body, ADMIN_TOKEN);
    }
    // Same figures from both (and a warm engine cache in both before timing).
    const a = await post(open.graphqlUrl, JSON.stringify({ query: KPI_QUERY }), null);
    const b = await post(closed.graphqlUrl, JSON.stringify({ query: KPI_QUERY }), key);
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`figures differ: ${JSON.stringify([a, b])}`);
    await round(open.graphqlUrl, null);
    await round(closed.graphqlUrl, key);

    const rates = { open: [] as number[], key: [] as number[] };
    const cpuPerRequest = { open: [] as number[], key: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first.
      const order = r % 2 === 0 ? (["open", "key"] as const) : (["key", "open"] as const);
      for (const mode of order) {
        const [, cpu, rate] = await measured(ctx.cpu, () =>
          mode === "open" ? round(open.graphqlUrl, null) : round(closed.graphqlUrl, key),
        );
        rates[mode].push(rate);
        cpuPerRequest[mode].push(cpu.nodeMs / REQUESTS);
      }
      loads.push(loadAverage());
      say(
        `auth: round ${r + 1}: open ${fmt(rates.open[r]!, 0)} req/s, with a key ${fmt(rates.key[r]!, 0)} req/s; load ${fmt(loads[loads.length - 1]!, 2)}`,
      );
    }
    // The credential step alone (what the middleware adds to each request): Access.identify with a cached key.
    const access = new Access(
      closed.app.db.ds,
      readAuthSettings({ UPLIFT_ADMIN_TOKEN: ADMIN_TOKEN }, "127.0.0.1"),
      createLogger(),
    );
    await access.identify(key);
    const CALLS = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await access.identify(key);
    const identifyMicros = ((performance.now() - t0) * 1000) / CALLS;
    access.close();
    const mOpen = median(rates.open);
    const mKey = median(rates.key);
    // Paired by round (the two ran back to back under the same load): the median of the per-round ratios.
    const slower = (1 - median(rates.key.map((k, i) => k / rates.open[i]!))) * 100;
    const cOpen = median(cpuPerRequest.open);
    const cKey = median(cpuPerRequest.key);
    const met = slower <= 5;
    const row = (label: string, xs: number[]) =>
      `| ${label} | ${xs.map((x) => fmtInt(Math.round(x))).join(" · ")} |`;
    return {
      name: "auth",
      title: "Cost of auth: KPI requests with an API key versus without",
      summary: `KPI query ${fmtInt(Math.round(mOpen))} req/s open vs ${fmtInt(Math.round(mKey))} req/s with a key: ${fmt(slower, 1)} % slower paired by round, CPU per request ${fmt(((cKey - cOpen) / cOpen) * 100, 1)} % more (target ≤ 5 %: ${met ? "met" : "NOT met"})`,
      body: `The same warm KPI query (\`project { kpi { baseline current improvementPct annualBenefit } }\`, ${fmtInt(OBSERVATIONS)} observations, engine cache warm) against two apps in this process: one open (auth off on 127.0.0.1), one with auth on presenting a reader API key (\`Authorization: Bearer upl_…\`: SHA-256 of the secret, a cached key lookup, the role check of the operation). ${ROUNDS} rounds of ${REQUESTS} requests, ${CONCURRENCY} at a time, alternating which app goes first.

| | open | with a key |
| --- | --- | --- |
| requests/s (median of rounds) | ${fmtInt(Math.round(mOpen))} | ${fmtInt(Math.round(mKey))} |
| Node CPU per request (median) | ${fmt(cOpen, 3)} ms | ${fmt(cKey, 3)} ms |

With a key: **${fmt(slower, 1)} % slower** (median over rounds of the with-key/open ratio of requests/s, each pair run back to back; a negative figure means faster, i.e. noise; target ≤ 5 %: ${met ? "met" : "not met"}); Node CPU per request ${fmt(((cKey - cOpen) / cOpen) * 100, 1)} % more, the steadier figure on a loaded machine.

The credential step alone (\`Access.identify\` with a cached key: SHA-256 of the secret, the cache lookup, the
last-use throttle), timed over ${fmtInt(CALLS)} calls: **${fmt(identifyMicros, 2)} µs** per request, ${fmt((identifyMicros / 1000 / cKey) * 100, 2)} % of the
${fmt(cKey, 3)} ms of Node CPU a request with a key costs.

| requests/s per round | |
| --- | --- |
${row("open", rates.open)}
${row("with a key", rates.key)}`,
      loads,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await closed.stop();
    await open.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${other} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
