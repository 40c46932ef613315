import "reflect-metadata";
import { parseArgs } from "node:util";
import { registry } from "../../collectors/index.js";
import { resolveInstances } from "../collect/instances.js";
import type { RunProgress } from "../collect/runner.js";
import { ownerId } from "../collect/runs.js";
import { CollectorService } from "../collect/service.js";
import { applyConfig } from "../config/apply.js";
import { readEnv } from "../config/env.js";
import { ConfigError, loadConfigFile, resolveConfigPath } from "../config/file.js";
import { openDatabase } from "../db/database.js";
import { runningEmbedded } from "../db/embedded-attach.js";
import { parseDateTime } from "../domain/rules.js";
import { KpiEngine } from "../kpi/engine.js";
import { LiveHub } from "../live/hub.js";
import { createLogger } from "../log.js";

// `npm run collect -- <instance> [--from <date-time>] [--to <date-time>]`: one run now, or a backfill of
// a range (which leaves the instance's cursor alone). Exit 0 when the run succeeded. Next to a running
// `npm start` on the embedded database it uses that server's database (the run claim keeps the two
// processes from overlapping); it never collects the bundled demo.

const USAGE = "usage: npm run collect -- <instance> [--from <date-time>] [--to <date-time>]";

function fail(message: string): never {
  process.stderr.write(`uplift collect: ${message}\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      options: { from: { type: "string" }, to: { type: "string" } },
      allowPositionals: true,
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n${USAGE}`);
  }
})();
if (positionals.length !== 1) fail(USAGE);
const date = (name: string, v: string | undefined) => {
  if (v === undefined) return null;
  const d = parseDateTime(v.length === 10 ? `${v}T00:00:00Z` : v);
  return d ?? fail(`--${name}: expected a date (2025-01-31) or a date-time with an offset, got "${v}"`);
};
const from = date("from", values.from);
const to = date("to", values.to);
if (from && to && from >= to) fail("--from must be before --to");

const log = createLogger({ cli: "collect" });
let env = readEnv();
const { file, demo } = resolveConfigPath(env.configPath);
if (demo) {
  fail(
    `no configuration found: set UPLIFT_CONFIG to your configuration file (e.g. UPLIFT_CONFIG=./uplift.yaml npm run collect -- ${positionals[0]}), ` +
      `or run from the folder that holds uplift.yaml (looked in ${process.cwd()}). The bundled demo is not collected from the command line.`,
  );
}
if (!env.databaseUrl) {
  const running = runningEmbedded(env.dataDir);
  if (running) {
    log.info("using the embedded database of the running Uplift server", { postgresPid: running.pid });
    env = { ...env, databaseUrl: running.url, poolSize: 2 };
  }
}
let db: Awaited<ReturnType<typeof openDatabase>> | null = null;
try {
  const config = loadConfigFile(file);
  if (!config.collectors.some((c) => c.name === positionals[0])) {
    const names = config.collectors.map((c) => c.name).join(", ") || "none";
    fail(`no collector instance named "${positionals[0]}" in ${file} (it has: ${names})`);
  }
  db = await openDatabase(env, log);
  await applyConfig(db.ds, config, file);
  const instances = await resolveInstances(db.ds, config, registry, file);
  const service = new CollectorService(
    { ds: db.ds, log, events: new LiveHub(db.ds, new KpiEngine(db.ds), db.url, log), owner: ownerId() },
    instances,
  );
  const stop = () => void service.stop();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const started = Date.now();
  const tty = process.stderr.isTTY;
  const show = (p: RunProgress) => {
    const secs = Math.max(0.001, p.elapsedMs / 1000);
    const rate = p.records / secs;
    const eta = p.total && rate > 0 ? ` ETA ${Math.max(0, Math.round((p.total - p.records) / rate))} s` : "";
    const line = `${p.records} records (${Math.round(rate)}/s), ${p.observations} stored, ${p.rejected} rejected, ${p.skipped} skipped${p.total ? ` of ${p.total}` : ""}${eta}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
  };
  const { done } = await service.startManual(positionals[0], {
    range: from || to ? { from, to } : null,
    onProgress: show,
  });
  const run = await done;
  if (tty) process.stderr.write("\n");
  process.stdout.write(
    `${run.instance}: ${run.status} in ${((Date.now() - started) / 1000).toFixed(1)} s — ${run.observations} observations, ${run.rejected} rejected, ${run.skipped} skipped${run.error ? ` — ${run.error}` : ""}\n`,
  );
  await service.stop();
  await db.close();
  process.exit(run.status === "SUCCEEDED" ? 0 : 1);
} catch (e) {
  await db?.close();
  if (e instanceof ConfigError || (e as { code?: string }).code) fail((e as Error).message);
  if (e instanceof Error && e.name === "EmbeddedPostgresError") fail(e.message);
  throw e;
}
