import "reflect-metadata";
import { readEnv } from "../config/env.js";
import { openDatabase } from "../db/database.js";
import { log } from "../log.js";

// `npm run migrate`: apply pending migrations (start-up does this too) and exit.
const db = await openDatabase(readEnv(), log);
log.info("database is up to date", { url: db.url.replace(/:[^:@/]+@/, ":***@") });
await db.close();
