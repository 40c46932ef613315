import "reflect-metadata";
import { parseArgs } from "node:util";
import type { Role } from "../auth/principal.js";
import { EnvError, readEnv } from "../config/env.js";
import type { Database } from "../db/database.js";
import { EmbeddedPostgresError } from "../db/embedded-postgres.js";
import { BadInputError, ConflictError } from "../errors.js";
import { createLogger } from "../log.js";
import { createApiKey, listApiKeys, ROLES, revokeApiKey } from "../store/api-keys.js";
import { openKeysDatabase } from "./keys-database.js";

// `npm run keys -- create NAME --role ROLE [--project SLUG]... | list | revoke NAME`
// The secret of a new key goes to stdout alone (scripts capture it); everything else to stderr.

const USAGE = `usage:
  npm run keys -- create NAME --role reader|writer|admin [--project SLUG]...
  npm run keys -- list
  npm run keys -- revoke NAME`;

function fail(message: string, code = 2): never {
  process.stderr.write(`uplift keys: ${message}\n`);
  process.exit(code);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      options: { role: { type: "string" }, project: { type: "string", multiple: true } },
      allowPositionals: true,
    });
  } catch (e) {
    return fail(`${(e as Error).message}\n${USAGE}`);
  }
})();
const [command, name, ...extra] = positionals;
if (extra.length) fail(USAGE);
if (command === "create") {
  if (!name || !values.role) fail(USAGE);
  if (!ROLES.includes(values.role.toLowerCase() as Role))
    fail(`--role: expected reader, writer or admin, got "${values.role}"`);
} else if (command === "revoke") {
  if (!name || values.role || values.project) fail(USAGE);
} else if (command === "list") {
  if (name || values.role || values.project) fail(USAGE);
} else {
  fail(USAGE);
}

const log = createLogger({ cli: "keys" });
let db: Database | null = null;
try {
  db = await openKeysDatabase(readEnv(), log);
  if (command === "create") {
    const { key, secret } = await createApiKey(db.ds, {
      name: name!,
      role: values.role!.toLowerCase() as Role,
      projects: values.project ?? [],
    });
    const scope = key.projects.length ? `projects ${key.projects.join(", ")}` : "every project";
    process.stderr.write(
      `created API key "${key.name}" (${key.role}, ${scope}). Its secret is shown this once; ` +
        "send it as Authorization: Bearer <secret>\n",
    );
    process.stdout.write(`${secret}\n`);
  } else if (command === "list") {
    const keys = await listApiKeys(db.ds);
    const rows = [
      ["NAME", "ROLE", "PROJECTS", "CREATED", "LAST USED"],
      ...keys.map((k) => [
        k.name,
        k.role,
        k.projects.length ? k.projects.join(",") : "*",
        k.createdAt.toISOString(),
        k.lastUsedAt?.toISOString() ?? "never",
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows)
      process.stdout.write(
        `${r
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd()}\n`,
      );
  } else {
    const revoked = await revokeApiKey(db.ds, name!);
    if (!revoked) {
      await db.close();
      fail(`no API key named "${name}"`, 1);
    }
    process.stderr.write(`revoked API key "${name}"\n`);
  }
  await db.close();
  process.exit(0);
} catch (e) {
  await db?.close().catch(() => undefined);
  if (
    e instanceof BadInputError ||
    e instanceof ConflictError ||
    e instanceof EnvError ||
    e instanceof EmbeddedPostgresError
  )
    fail(e.message);
  throw e;
}
