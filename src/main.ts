import "reflect-metadata";
import { registry } from "../collectors/index.js";
import { startApp } from "./app.js";
import { EnvError, readEnv } from "./config/env.js";
import { ConfigError } from "./config/file.js";
import { EmbeddedPostgresError } from "./db/embedded-postgres.js";
import { log } from "./log.js";

// `npm start`: serve until SIGTERM/SIGINT, then stop taking work, close the database and exit 0.
async function main() {
  let app: Awaited<ReturnType<typeof startApp>> | null = null;
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info("shutting down", { signal });
    const force = setTimeout(() => {
      log.error("shutdown took longer than 30 s; exiting");
      app?.db.embedded?.signalStop(); // never leave the embedded database running behind us
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await app?.stop();
      log.info("stopped");
      process.exit(0);
    } catch (e) {
      log.error("shutdown failed", { error: e });
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  try {
    app = await startApp(readEnv(), log, { registry });
    if (shuttingDown) await app.stop();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof EnvError || e instanceof EmbeddedPostgresError) {
      process.stderr.write(`uplift: cannot start: ${e.message}\n`);
    } else {
      process.stderr.write(`uplift: cannot start: ${(e as Error)?.stack ?? e}\n`);
    }
    process.exit(1);
  }
}

void main();
