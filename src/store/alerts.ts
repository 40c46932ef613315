import type { DataSource, EntityManager } from "typeorm";
import { METRIC_KEY_PATTERN, SLUG_PATTERN } from "../domain/rules.js";
import { BadInputError, type InputProblem } from "../errors.js";
import { type AuditSource, inTransaction, recordAudit } from "./audit.js";

export type AlertKind = "TARGET_MET" | "REGRESSION" | "STALE" | "COLLECTOR_FAILING";
export const ALERT_KINDS: readonly AlertKind[] = ["TARGET_MET", "REGRESSION", "STALE", "COLLECTOR_FAILING"];

/** The contract's defaults, per kind. */
export const ALERT_DEFAULTS = { windowDays: 28, pValue: 0.05, days: 7, failures: 3 } as const;
export const MIN_SECRET_LENGTH = 16;

export interface DefineAlert {
  name: string;
  kind: AlertKind;
  projectSlug?: string | null;
  metricKey?: string | null;
  collector?: string | null;
  windowDays?: number | null;
  pValue?: number | null;
  days?: number | null;
  failures?: number | null;
  webhookUrl?: string | null;
  webhookSecret?: string | null;
  enabled?: boolean | null;
}

/** A stored rule. `webhookSecret` stays inside the process: no resolver exposes it. */
export interface AlertRule {
  id: string;
  name: string;
  kind: AlertKind;
  projectSlug: string | null;
  metricKey: string | null;
  collector: string | null;
  windowDays: number | null;
  pValue: number | null;
  days: number | null;
  failures: number | null;
  webhookUrl: string | null;
  webhookSecret: string | null;
  enabled: boolean;
}

const COLUMNS = `id::text AS id, name, kind, project_slug AS "projectSlug", metric_key AS "metricKey",
  collector, window_days AS "windowDays", p_value AS "pValue", days, failures,
  webhook_url AS "webhookUrl", webhook_secret AS "webhookSecret", enabled`;

/** What answers and the audit log show of a rule: everything but the secret. */
export function alertSnapshot(r: AlertRule, secretChanged = false): Record<string, unknown> {
  const { id: _id, webhookSecret, ...rest } = r;
  return { ...rest, webhookSecret: webhookSecret ? (secretChanged ? "*** (changed)" : "***") : null };
}

/** A webhook URL must be http(s), carry no credentials, and fit in a column we can show. */
export function webhookUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "must be an absolute http:// or https:// URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "must use http or https";
  if (u.username || u.password) return "must not contain credentials (use webhookSecret to sign instead)";
  if (url.length > 2000) return "must be at most 2000 characters";
  return null;
}

function intIn(problems: InputProblem[], field: string, v: number, min: number, max: number) {
  if (!Number.isInteger(v) || v < min || v > max)
    problems.push({ field, message: `must be an integer from ${min} to ${max}` });
}

async function validate(
  m: EntityManager | DataSource,
  input: DefineAlert,
  field: string,
  existing: AlertRule | null,
): Promise<InputProblem[]> {
  const problems: InputProblem[] = [];
  const f = (name: string) => `${field}.${name}`;
  if (!input.name?.trim()) problems.push({ field: f("name"), message: "must not be empty" });
  else if (input.name.length > 200)
    problems.push({ field: f("name"), message: "must be at most 200 characters" });
  if (!ALERT_KINDS.includes(input.kind)) {
    problems.push({ field: f("kind"), message: "unknown alert kind" });
    return problems;
  }
  const onlyFor = (name: keyof DefineAlert, kind: AlertKind) => {
    if (input[name] !== undefined && input[name] !== null && input.kind !== kind)
      problems.push({ field: f(name), message: `applies to ${kind} rules only` });
  };
  onlyFor("windowDays", "REGRESSION");
  onlyFor("pValue", "REGRESSION");
  onlyFor("days", "STALE");
  onlyFor("failures", "COLLECTOR_FAILING");
  if (input.kind === "COLLECTOR_FAILING") {
    if (!input.collector?.trim())
      problems.push({ field: f("collector"), message: "is required for COLLECTOR_FAILING" });
    else if (input.collector.length > 128)
      problems.push({ field: f("collector"), message: "must be at most 128 characters" });
    for (const k of ["projectSlug", "metricKey"] as const)
      if (input[k])
        problems.push({ field: f(k), message: "does not apply to COLLECTOR_FAILING (give collector)" });
  } else {
    if (input.collector) problems.push({ field: f("collector"), message: `does not apply to ${input.kind}` });
    if (!input.projectSlug)
      problems.push({ field: f("projectSlug"), message: `is required for ${input.kind}` });
    else if (!SLUG_PATTERN.test(input.projectSlug))
      problems.push({ field: f("projectSlug"), message: `unknown project "${input.projectSlug}"` });
    else {
      const [p] = await m.query(`SELECT 1 FROM project WHERE slug = $1`, [input.projectSlug]);
      if (!p) problems.push({ field: f("projectSlug"), message: `unknown project "${input.projectSlug}"` });
    }
    if (input.metricKey) {
      const [k] = METRIC_KEY_PATTERN.test(input.metricKey)
        ? await m.query(`SELECT 1 FROM metric WHERE key = $1`, [input.metricKey])
        : [];
      if (!k) problems.push({ field: f("metricKey"), message: `unknown metric "${input.metricKey}"` });
    }
  }
  if (input.windowDays != null) intIn(problems, f("windowDays"), input.windowDays, 1, 3650);
  if (input.days != null) intIn(problems, f("days"), input.days, 1, 3650);
  if (input.failures != null) intIn(problems, f("failures"), input.failures, 1, 1000);
  if (input.pValue != null && !(Number.isFinite(input.pValue) && input.pValue > 0 && input.pValue < 1))
    problems.push({ field: f("pValue"), message: "must be between 0 and 1 (exclusive)" });
  if (input.webhookUrl) {
    const why = webhookUrlProblem(input.webhookUrl);
    if (why) problems.push({ field: f("webhookUrl"), message: why });
  }
  if (input.webhookSecret != null && input.webhookSecret.length < MIN_SECRET_LENGTH)
    problems.push({ field: f("webhookSecret"), message: `must be at least ${MIN_SECRET_LENGTH} characters` });
  if (input.webhookSecret != null && input.webhookSecret.length > 1000)
    problems.push({ field: f("webhookSecret"), message: "must be at most 1000 characters" });
  if (input.webhookUrl && input.webhookSecret == null && !existing?.webhookSecret)
    problems.push({
      field: f("webhookSecret"),
      message: "is required with a webhookUrl (it signs each delivery)",
    });
  return problems;
}

export async function findAlert(
  m: EntityManager | DataSource,
  name: string,
  lock = false,
): Promise<AlertRule | null> {
  const [r] = await m.query(`SELECT ${COLUMNS} FROM alert_rule WHERE name = $1${lock ? " FOR UPDATE" : ""}`, [
    name,
  ]);
  return r ?? null;
}

export async function listAlerts(m: EntityManager | DataSource, enabledOnly = false): Promise<AlertRule[]> {
  return m.query(
    `SELECT ${COLUMNS} FROM alert_rule ${enabledOnly ? "WHERE enabled" : ""} ORDER BY name COLLATE "C"`,
  );
}

/**
 * Upsert by name, audited. An absent webhookSecret keeps the stored one (it is never returned, so a
 * client redefining a rule cannot send it back). Changing what a rule watches starts it afresh: its
 * state is forgotten, and it fires again if its condition holds.
 */
export async function defineAlert(
  m: EntityManager | DataSource,
  input: DefineAlert,
  field = "input",
  source: AuditSource = { actor: "anonymous", action: "defineAlert" },
): Promise<AlertRule> {
  return inTransaction(m, async (m) => {
    const existing = input.name ? await findAlert(m, input.name, true) : null;
    const problems = await validate(m, input, field, existing);
    if (problems.length) throw new BadInputError(problems);
    const d = (v: number | null | undefined, dflt: number, kind: AlertKind) =>
      input.kind === kind ? (v ?? dflt) : null;
    const secret = input.webhookSecret ?? existing?.webhookSecret ?? null;
    const [row] = await m.query(
      `INSERT INTO alert_rule (name, kind, project_slug, metric_key, collector, window_days, p_value, days,
         failures, webhook_url, webhook_secret, enabled)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, project_slug = EXCLUDED.project_slug,
         metric_key = EXCLUDED.metric_key, collector = EXCLUDED.collector, window_days = EXCLUDED.window_days,
         p_value = EXCLUDED.p_value, days = EXCLUDED.days, failures = EXCLUDED.failures,
         webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret,
         enabled = EXCLUDED.enabled, updated_at = now()
       RETURNING ${COLUMNS}`,
      [
        input.name,
        input.kind,
        input.projectSlug ?? null,
        input.metricKey ?? null,
        input.collector ?? null,
        d(input.windowDays, ALERT_DEFAULTS.windowDays, "REGRESSION"),
        d(input.pValue, ALERT_DEFAULTS.pValue, "REGRESSION"),
        d(input.days, ALERT_DEFAULTS.days, "STALE"),
        d(input.failures, ALERT_DEFAULTS.failures, "COLLECTOR_FAILING"),
        input.webhookUrl ?? null,
        secret,
        input.enabled ?? true,
      ],
    );
    const rule = row as AlertRule;
    if (existing) {
      const watch = (r: AlertRule) =>
        JSON.stringify([
          r.kind,
          r.projectSlug,
          r.metricKey,
          r.collector,
          r.windowDays,
          r.pValue,
          r.days,
          r.failures,
        ]);
      if (watch(existing) !== watch(rule))
        await m.query(`DELETE FROM alert_state WHERE rule_id = $1`, [rule.id]);
    }
    await recordAudit(m, source, {
      projectSlug: rule.projectSlug,
      metricKey: rule.metricKey,
      before: existing ? alertSnapshot(existing) : null,
      after: alertSnapshot(rule, existing !== null && existing.webhookSecret !== rule.webhookSecret),
    });
    return rule;
  });
}

/** Deletes the rule (audited); its undelivered events are given up as FAILED. False when no rule has that name. */
export async function deleteAlert(
  ds: DataSource,
  name: string,
  source: AuditSource = { actor: "anonymous", action: "deleteAlert" },
): Promise<boolean> {
  return ds.transaction(async (m) => {
    const existing = await findAlert(m, name, true);
    if (!existing) return false;
    await m.query(
      `UPDATE alert_event SET delivery = 'FAILED', next_attempt_at = NULL WHERE rule_id = $1 AND delivery = 'PENDING'`,
      [existing.id],
    );
    await m.query(`DELETE FROM alert_rule WHERE id = $1`, [existing.id]);
    await recordAudit(m, source, {
      projectSlug: existing.projectSlug,
      metricKey: existing.metricKey,
      before: alertSnapshot(existing),
      after: null,
    });
    return true;
  });
}
