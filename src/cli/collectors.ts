import "reflect-metadata";
import { registry } from "../../collectors/index.js";
import { resolveInstances } from "../collect/instances.js";
import { lastRuns, ownerId } from "../collect/runs.js";
import { CollectorService } from "../collect/service.js";
import { applyConfig } from "../config/apply.js";
import { readEnv } from "../config/env.js";
import { loadConfigFile, resolveConfigPath } from "../config/file.js";
import { openDatabase } from "../db/database.js";
import { nextOccurrence } from "../domain/cron-time.js";
import { KpiEngine } from "../kpi/engine.js";
import { LiveHub } from "../live/hub.js";
import { createLogger } from "../log.js";

// `npm run collectors`: the configured instances with their schedules, last and next runs.
const log = createLogger({ cli: "collectors" });
const env = readEnv();
const { file } = resolveConfigPath(env.configPath);
const config = loadConfigFile(file);
const db = await openDatabase(env, log);
try {
  await applyConfig(db.ds, config, file);
  const instances = await resolveInstances(db.ds, config, registry, file);
  const service = new CollectorService(
    { ds: db.ds, log, events: new LiveHub(db.ds, new KpiEngine(db.ds), db.url, log), owner: ownerId() },
    instances,
  );
  const last = await lastRuns(
    db.ds,
    instances.map((i) => i.name),
  );
  const now = new Date();
  const rows = instances.map((i) => {
    const r = last.get(i.name);
    const next = i.config.enabled ? nextOccurrence(i.config.schedule, now).toISOString() : "disabled";
    return [
      i.name,
      i.config.type,
      i.config.schedule,
      `${i.config.project}/${i.config.metric}`,
      r
        ? `${r.status} ${r.startedAt.toISOString()} (${r.observations} obs, ${r.rejected} rejected)`
        : "never",
      next,
    ];
  });
  const head = ["INSTANCE", "TYPE", "SCHEDULE (UTC)", "PROJECT/METRIC", "LAST RUN", "NEXT RUN"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [head, ...rows])
    process.stdout.write(`${r.map((v, c) => v.padEnd(widths[c])).join("  ")}\n`);
  await service.stop();
} finally {
  await db.close();
}
process.exit(0);
