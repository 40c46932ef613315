import { EventEmitter } from "node:events";
import type { DataSource, EntityManager } from "typeorm";
import { hashSecret, newSecret } from "../auth/keys.js";
import type { Role } from "../auth/principal.js";
import { returnedRows } from "../db/returning.js";
import { SLUG_PATTERN } from "../domain/rules.js";
import { BadInputError, ConflictError, type InputProblem } from "../errors.js";
import { type AuditSource, recordAudit } from "./audit.js";

// API keys at rest: name, role, project scope and the SHA-256 of the secret, never the secret itself.
// Creating and revoking happen here and only here (GraphQL, `npm run keys`), so that the audit log can
// record them in one place.

/** The audit log's actor for `npm run keys`, which acts with the database's credentials, not a key. */
export const CLI_ACTOR = "cli";

export const ROLES: readonly Role[] = ["reader", "writer", "admin"];
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Actors the audit log uses for other things: a key may not pose as them. */
const RESERVED_NAMES = new Set(["admin-token", "anonymous", "config", CLI_ACTOR]);

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  /** Empty: every project. */
  projects: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface CreateApiKey {
  name: string;
  role: Role;
  projects?: readonly string[] | null;
}

/** Keys created or revoked in this process (the authenticator drops its cache on each). */
export const apiKeyChanges = new EventEmitter();

const COLUMNS = `id::text AS id, name, role, projects, created_at AS "createdAt", last_used_at AS "lastUsedAt"`;

type Db = DataSource | EntityManager;

/** What the audit log keeps of a key: never its secret or hash. */
const audited = (k: { name: string; role: string; projects: readonly string[] }) => ({
  name: k.name,
  role: k.role,
  projects: [...k.projects],
});

export async function createApiKey(
  ds: DataSource,
  input: CreateApiKey,
  by: AuditSource = { actor: CLI_ACTOR, action: "createApiKey" },
): Promise<{ key: ApiKeyRecord; secret: string }> {
  const problems: InputProblem[] = [];
  if (!KEY_NAME_PATTERN.test(input.name)) {
    problems.push({ field: "input.name", message: "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" });
  } else if (RESERVED_NAMES.has(input.name)) {
    problems.push({ field: "input.name", message: `"${input.name}" is reserved` });
  }
  if (!ROLES.includes(input.role)) {
    problems.push({ field: "input.role", message: `must be one of ${ROLES.join(", ")}` });
  }
  const projects = [...new Set(input.projects ?? [])];
  const known = new Set(
    (
      (await ds.query(`SELECT slug FROM project WHERE slug = ANY($1::text[])`, [projects])) as {
        slug: string;
      }[]
    ).map((r) => r.slug),
  );
  (input.projects ?? []).forEach((slug, i) => {
    if (!SLUG_PATTERN.test(slug) || !known.has(slug)) {
      problems.push({ field: `input.projects[${i}]`, message: `unknown project "${slug}"`, index: i });
    }
  });
  if (problems.length) throw new BadInputError(problems);
  const secret = newSecret();
  const rows: ApiKeyRecord[] = await ds.transaction(async (m) => {
    const made: ApiKeyRecord[] = await m.query(
      `INSERT INTO api_key (name, role, projects, secret_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING RETURNING ${COLUMNS}`,
      [input.name, input.role, projects, hashSecret(secret)],
    );
    if (made.length) await recordAudit(m, by, { before: null, after: audited(made[0]) });
    return made;
  });
  if (!rows.length) throw new ConflictError(`an API key named "${input.name}" already exists`);
  apiKeyChanges.emit("changed");
  return { key: rows[0], secret };
}

/** False when no key in force has that name. */
export async function revokeApiKey(
  ds: DataSource,
  name: string,
  by: AuditSource = { actor: CLI_ACTOR, action: "revokeApiKey" },
): Promise<boolean> {
  const rows = await ds.transaction(async (m) => {
    const gone = returnedRows(
      await m.query(
        `UPDATE api_key SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL
         RETURNING name, role, projects`,
        [name],
      ),
    ) as { name: string; role: string; projects: string[] }[];
    if (gone.length) await recordAudit(m, by, { before: audited(gone[0]), after: null });
    return gone;
  });
  apiKeyChanges.emit("changed");
  if (rows.length) apiKeyChanges.emit("revoked", name);
  return rows.length > 0;
}

/** The keys in force, by name. */
export async function listApiKeys(ds: Db): Promise<ApiKeyRecord[]> {
  return ds.query(`SELECT ${COLUMNS} FROM api_key WHERE revoked_at IS NULL ORDER BY name COLLATE "C"`);
}

export async function findApiKeyBySecret(ds: Db, secret: string): Promise<ApiKeyRecord | null> {
  const rows: ApiKeyRecord[] = await ds.query(
    `SELECT ${COLUMNS} FROM api_key WHERE secret_hash = $1 AND revoked_at IS NULL`,
    [hashSecret(secret)],
  );
  return rows[0] ?? null;
}

export async function anyApiKeys(ds: Db): Promise<boolean> {
  const rows = await ds.query(`SELECT EXISTS (SELECT 1 FROM api_key WHERE revoked_at IS NULL) AS "any"`);
  return rows[0].any === true;
}

/** Records a use; at most one write a minute per key, whatever the request rate. */
export async function touchApiKey(ds: Db, id: string): Promise<void> {
  await ds.query(
    `UPDATE api_key SET last_used_at = now()
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [id],
  );
}
