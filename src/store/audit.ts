import { isDeepStrictEqual } from "node:util";
import { DataSource, type EntityManager } from "typeorm";

// The audit log: every change to a definition, written in the transaction of the change it records
// (a rolled-back change leaves no entry, a committed one always has its entry).

/** Who made a change and under which name: the mutation's name, or CONFIG for the configuration file. */
export interface AuditSource {
  /** `ctx.principal.actor`: an API key's name, `admin-token`, `anonymous`, or `config`. */
  actor: string;
  /** The mutation's name (createProject, trackKpi…) or CONFIG. */
  action: string;
}

export const CONFIG_SOURCE_ACTOR = "config";

export interface AuditRecord {
  projectSlug?: string | null;
  metricKey?: string | null;
  /** The definition before the change (null: it did not exist). Never a secret. */
  before: Record<string, unknown> | null;
  /** The definition after the change (null: it was deleted). Never a secret. */
  after: Record<string, unknown> | null;
}

export interface AuditEntry {
  id: string;
  at: Date;
  actor: string;
  action: string;
  projectSlug: string | null;
  metricKey: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** JSON as PostgreSQL stores it: Dates become ISO strings, undefined keys vanish. */
function plain(v: Record<string, unknown> | null): Record<string, unknown> | null {
  return v === null ? null : JSON.parse(JSON.stringify(v));
}

/**
 * Records one change in the caller's transaction. A change that changes nothing (before = after) is not
 * recorded, so re-applying the same configuration or definition leaves no trail. Returns whether an
 * entry was written.
 */
export async function recordAudit(
  m: Pick<EntityManager, "query">,
  source: AuditSource,
  rec: AuditRecord,
): Promise<boolean> {
  const before = plain(rec.before);
  const after = plain(rec.after);
  if (isDeepStrictEqual(before, after)) return false;
  await m.query(
    `INSERT INTO audit_log (actor, action, project_slug, metric_key, before, after)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)`,
    [
      source.actor,
      source.action,
      rec.projectSlug ?? null,
      rec.metricKey ?? null,
      before === null ? null : JSON.stringify(before),
      after === null ? null : JSON.stringify(after),
    ],
  );
  return true;
}

/** Runs `fn` in a transaction: the caller's when given an EntityManager already in one, else a new one. */
export function inTransaction<T>(
  m: EntityManager | DataSource,
  fn: (m: EntityManager) => Promise<T>,
): Promise<T> {
  if (m instanceof DataSource) return m.transaction(fn);
  if (m.queryRunner?.isTransactionActive) return fn(m);
  return m.transaction(fn);
}

/** Newest first; `before` pages by time (entries strictly older than it). */
export async function listAudit(
  ds: DataSource,
  opts: { projectSlug?: string | null; first: number; before?: Date | null },
): Promise<AuditEntry[]> {
  const rows: {
    id: string;
    at: Date;
    actor: string;
    action: string;
    project_slug: string | null;
    metric_key: string | null;
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
  }[] = await ds.query(
    `SELECT id::text, at, actor, action, project_slug, metric_key, before, after FROM audit_log
     WHERE ($1::text IS NULL OR project_slug = $1) AND ($2::timestamptz IS NULL OR at < $2)
     ORDER BY at DESC, id DESC LIMIT $3`,
    [opts.projectSlug ?? null, opts.before ?? null, opts.first],
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    action: r.action,
    projectSlug: r.project_slug,
    metricKey: r.metric_key,
    before: r.before,
    after: r.after,
  }));
}
