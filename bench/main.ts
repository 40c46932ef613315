// The benchmark (started by bench/run.ts): `npm run bench [-- <name…>]`, names from SECTION_ORDER (no names =
// all). One PostgreSQL for the whole run (embedded in a temporary folder, or DATABASE_URL), a fresh database
// per benchmark. Writes bench/RESULTS.md (bench/report.ts: sections of benchmarks not run are kept) and, with
// `kpi`, bench/PLANS.md. BENCH_ROWS shrinks the ingest/kpi data set for a quick try.

import { alertsBenchmark } from "./alerts.js";
import { authBenchmark } from "./auth.js";
import { bulkBenchmark } from "./bulk.js";
import { collectorBenchmark } from "./collector.js";
import { type BenchContext, type Section, say } from "./common.js";
import { CpuMeter, loadAverage } from "./cpu.js";
import { ingestBenchmark } from "./ingest.js";
import { kpiBenchmark } from "./kpi.js";
import { openObservationsEnv } from "./observations-env.js";
import { pageBenchmark } from "./page.js";
import { type BenchCluster, openBenchCluster } from "./postgres.js";
import { type BenchName, machine, SECTION_ORDER, writeResults } from "./report.js";
import { reportingBenchmark } from "./reporting.js";
import { scaleBenchmark } from "./scale.js";
import { servicenowBenchmark } from "./servicenow.js";
import { fmt } from "./stats.js";
import { subscribersBenchmark } from "./subscribers.js";

/**
 * The order they run in: `collector` first, so that the memory it reports is not inflated by what earlier
 * benchmarks left in this process's heap; `ingest` and `kpi` together (they share a database); `scale` last
 * (its server is a child process; it is the longest, and its 10 M rows stay out of the others' page cache).
 */
const RUN_ORDER: BenchName[] = [
  "collector",
  "servicenow",
  "page",
  "subscribers",
  "auth",
  "alerts",
  "reporting",
  "ingest",
  "bulk",
  "kpi",
  "scale",
];

const SINGLE: Partial<Record<BenchName, (ctx: BenchContext) => Promise<Section>>> = {
  collector: collectorBenchmark,
  servicenow: servicenowBenchmark,
  subscribers: subscribersBenchmark,
  page: pageBenchmark,
  auth: authBenchmark,
  alerts: alertsBenchmark,
  reporting: reportingBenchmark,
  scale: scaleBenchmark,
};

function selected(): BenchName[] {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  const unknown = args.filter((a) => !(SECTION_ORDER as readonly string[]).includes(a));
  if (unknown.length) {
    process.stderr.write(
      `bench: unknown benchmark ${unknown.map((u) => `"${u}"`).join(", ")}; names: ${SECTION_ORDER.join(", ")}\n` +
        "usage: npm run bench [-- <name…>]\n",
    );
    process.exit(2);
  }
  return args.length ? RUN_ORDER.filter((n) => args.includes(n)) : RUN_ORDER;
}

/** ingest and/or kpi, on one database and one in-process app; a failed ingest leaves kpi to load its own rows. */
async function observationsBenchmarks(
  cluster: BenchCluster,
  cpu: CpuMeter,
  names: BenchName[],
  failed: string[],
) {
  const db = await cluster.database();
  const sections: Section[] = [];
  try {
    const env = await openObservationsEnv({ dbUrl: db.url, cpu }, null);
    try {
      let meanSource: string | null = null;
      if (names.includes("ingest")) {
        try {
          const { section, lastKind } = await ingestBenchmark(env);
          sections.push(section);
          meanSource = lastKind === "copy" ? "COPY" : "recordObservations";
        } catch (e) {
          failed.push("ingest");
          say(`ingest failed: ${(e as Error)?.stack ?? e}`);
          await env.admin.query("TRUNCATE observation, observation_activity");
        }
      }
      if (names.includes("bulk")) {
        say("--- bulk");
        try {
          sections.push(await bulkBenchmark(env));
          // Its last run re-records every row, so the MEAN KPI's rows are all in place for kpi.
          meanSource = "bulk ingest";
        } catch (e) {
          failed.push("bulk");
          say(`bulk failed: ${(e as Error)?.stack ?? e}`);
          await env.admin.query("TRUNCATE observation, observation_activity");
          meanSource = null;
        }
      }
      if (names.includes("kpi")) {
        say("--- kpi");
        sections.push(await kpiBenchmark(env, meanSource));
      }
    } finally {
      await env.stop();
    }
  } finally {
    await db.stop();
  }
  return sections;
}

async function main() {
  process.env.LOG_LEVEL ??= "warn";
  const names = selected();
  const command = process.argv.length > 2 ? `npm run bench -- ${names.join(" ")}` : "npm run bench";
  const started = Date.now();
  let cluster: BenchCluster | null = null;
  const stop = () => cluster?.stop().catch((e) => say(`stopping PostgreSQL failed: ${e}`));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      say(`${sig}: stopping`);
      void Promise.resolve(stop()).finally(() => process.exit(130));
    });
  }
  const sections: Section[] = [];
  const failed: string[] = [];
  try {
    say(
      `NODE_ENV=${process.env.NODE_ENV ?? "(unset)"}; load average ${fmt(loadAverage(), 2)}; running ${names.join(", ")}`,
    );
    cluster = await openBenchCluster((l) => say(l));
    say(`PostgreSQL ${cluster.serverVersion} (${cluster.embedded ? "embedded, temporary" : "DATABASE_URL"})`);
    const cpu = new CpuMeter(cluster.clusterDir);
    let observationsDone = false;
    for (const name of names) {
      const observations = name === "ingest" || name === "bulk" || name === "kpi";
      if (observations && observationsDone) continue;
      say(`--- ${name}`);
      try {
        if (observations) {
          observationsDone = true;
          sections.push(...(await observationsBenchmarks(cluster, cpu, names, failed)));
        } else {
          const db = await cluster.database();
          try {
            sections.push(await SINGLE[name]!({ dbUrl: db.url, cpu }));
          } finally {
            await db.stop();
          }
        }
      } catch (e) {
        failed.push(
          observations ? names.filter((n) => n === "ingest" || n === "bulk" || n === "kpi").join("/") : name,
        );
        say(`${name} failed: ${(e as Error)?.stack ?? e}`);
      }
    }
    const settings = Object.entries(cluster.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    if (sections.length) {
      const printed = writeResults(sections, {
        date: new Date().toISOString().slice(0, 10),
        command,
        nodeEnv: process.env.NODE_ENV ?? "(unset)",
        machine: machine(cluster.serverVersion),
        postgresNote: `${cluster.embedded ? "embedded from npm, started by the bench in a temporary folder" : "DATABASE_URL"}; ${settings}`,
      });
      process.stdout.write(
        `${printed}\n\nWritten: bench/RESULTS.md (${fmt((Date.now() - started) / 60_000)} min)\n`,
      );
    }
  } finally {
    await stop();
  }
  if (failed.length) throw new Error(`failed: ${failed.join(", ")} (the other sections were written)`);
}

main().then(
  () => process.exit(0),
  (e) => {
    say(`failed: ${e?.stack ?? e}`);
    process.exit(1);
  },
);
