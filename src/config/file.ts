import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { cronProblem } from "../domain/cron-time.js";
import { METRIC_KEY_PATTERN, parseDateTime, SLUG_PATTERN } from "../domain/rules.js";
import { DEMO_CONFIG_FILE } from "../paths.js";

// The YAML configuration file of the contract, validated once at start-up (no network, no database).
// References to metrics and projects that the file does not define are checked against the database later
// (config/apply.ts), with the same path-naming messages.

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const dateTime = z.string().transform((s, ctx) => {
  const d = parseDateTime(s);
  if (!d) {
    ctx.addIssue({ code: "custom", message: `expected an ISO-8601 date-time with an offset, got "${s}"` });
    return z.NEVER;
  }
  return d;
});
const finite = z.number().refine(Number.isFinite, "expected a finite number");
const text = (max = 1000) => z.string().min(1, "must not be empty").max(max);
const stage = z.enum(["IDEA", "PILOT", "PRODUCTION", "RETIRED"]);

const metricSchema = z.strictObject({
  key: z.string().regex(METRIC_KEY_PATTERN, "must match ^[a-z0-9][a-z0-9._-]{0,127}$"),
  name: text(),
  unit: text(100),
  direction: z.enum(["LOWER_IS_BETTER", "HIGHER_IS_BETTER"]),
  aggregation: z.enum(["MEAN", "MEDIAN", "P90", "SUM", "COUNT"]).default("MEAN"),
  description: z.string().max(10_000).optional(),
});

const kpiSchema = z.strictObject({
  metric: z.string().regex(METRIC_KEY_PATTERN, "must be a metric key"),
  baselineFrom: dateTime.optional(),
  baselineTo: dateTime.optional(),
  afterFrom: dateTime.optional(),
  afterTo: dateTime.optional(),
  baselineValue: finite.optional(),
  target: finite.optional(),
  valuePerUnit: finite.optional(),
  annualVolume: finite.refine((v) => v >= 0, "must be ≥ 0").optional(),
  cohort: z.strictObject({ dimension: text(64), treatment: text(), control: text() }).optional(),
});

const costSchema = z.strictObject({
  label: text(),
  kind: z.enum(["ONE_TIME", "MONTHLY"]),
  amount: finite,
  startsAt: dateTime,
});

const projectSchema = z.strictObject({
  slug: z.string().regex(SLUG_PATTERN, "must match ^[a-z0-9][a-z0-9-]{0,62}$"),
  name: text(),
  description: z.string().max(10_000).optional(),
  owner: z.string().max(1000).optional(),
  stage: stage.optional(),
  stageSince: dateTime.optional(),
  /** The stage history to create the project with (oldest first); replaces stage/stageSince. */
  history: z
    .array(z.strictObject({ stage, at: dateTime }))
    .min(1)
    .optional(),
  goLiveAt: dateTime.optional(),
  kpis: z.array(kpiSchema).default([]),
  costs: z.array(costSchema).default([]),
});

const collectorSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/, "must be letters, digits, . _ - (≤ 128)"),
  type: text(100),
  schedule: z.string().superRefine((s, ctx) => {
    const problem = cronProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: `invalid cron expression: ${problem}` });
  }),
  project: z.string().regex(SLUG_PATTERN, "must be a project slug"),
  metric: z.string().regex(METRIC_KEY_PATTERN, "must be a metric key"),
  enabled: z.boolean().default(true),
  options: z.record(z.string(), z.unknown()).default({}),
});

// Fields of DefineAlertInput; what depends on the kind (and the webhook URL) is checked by the alert
// store when the file is applied, with the same path-naming messages.
const alertSchema = z.strictObject({
  name: text(200),
  kind: z.enum(["TARGET_MET", "REGRESSION", "STALE", "COLLECTOR_FAILING"]),
  projectSlug: z.string().regex(SLUG_PATTERN, "must be a project slug").optional(),
  metricKey: z.string().regex(METRIC_KEY_PATTERN, "must be a metric key").optional(),
  collector: text(128).optional(),
  windowDays: z.number().int().optional(),
  pValue: finite.optional(),
  days: z.number().int().optional(),
  failures: z.number().int().optional(),
  webhookUrl: z.string().optional(),
  webhookSecret: z.string().optional(),
  enabled: z.boolean().default(true),
});

export const configSchema = z.strictObject({
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
    .default("USD"),
  metrics: z.array(metricSchema).default([]),
  projects: z.array(projectSchema).default([]),
  collectors: z.array(collectorSchema).default([]),
  alerts: z.array(alertSchema).default([]),
});

export type UpliftConfig = z.infer<typeof configSchema>;
export type MetricConfig = z.infer<typeof metricSchema>;
export type ProjectConfig = z.infer<typeof projectSchema>;
export type KpiConfig = z.infer<typeof kpiSchema>;
export type CollectorConfig = z.infer<typeof collectorSchema>;
export type AlertConfig = z.infer<typeof alertSchema>;

/** `collectors[2].schedule` from zod's path array. */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = "";
  for (const part of p) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(root)";
}

/**
 * Replaces `${NAME}` in every string with the environment variable NAME (a missing one is a problem
 * named by its path); `${NAME:-fallback}` uses the fallback when NAME is unset or empty; `$${NAME}`
 * stays a literal `${NAME}`.
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  at: PropertyKey[],
  problems: string[],
): unknown {
  if (typeof value === "string") {
    return value.replace(
      /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (whole, escaped: string, name: string, fallback: string | undefined) => {
        if (escaped) return whole.slice(1);
        const v = env[name];
        if (fallback !== undefined && (v === undefined || v === "")) return fallback;
        if (v === undefined) {
          problems.push(`${formatPath(at)}: environment variable ${name} is not set`);
          return "";
        }
        return v;
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...at, i], problems));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...at, k], problems)]),
    );
  }
  return value;
}

/** Checks the file's own consistency: unique names, kpi/collector references to metrics and projects. */
function crossCheck(cfg: UpliftConfig, problems: string[]): void {
  const dup = <T>(items: T[], key: (t: T) => string, where: string, what: string) => {
    const seen = new Map<string, number>();
    items.forEach((it, i) => {
      const k = key(it);
      if (seen.has(k))
        problems.push(`${where}[${i}].${what}: "${k}" is already defined at ${where}[${seen.get(k)}]`);
      else seen.set(k, i);
    });
  };
  dup(cfg.metrics, (m) => m.key, "metrics", "key");
  dup(cfg.projects, (p) => p.slug, "projects", "slug");
  dup(cfg.collectors, (c) => c.name, "collectors", "name");
  dup(cfg.alerts, (a) => a.name, "alerts", "name");
  cfg.projects.forEach((p, i) => {
    if (p.history) {
      if (p.stageSince)
        problems.push(`projects[${i}].stageSince: give either stageSince or history, not both`);
      p.history.forEach((h, j) => {
        if (j > 0 && h.at.getTime() < p.history![j - 1].at.getTime()) {
          problems.push(`projects[${i}].history[${j}].at: must not be before the previous change`);
        }
        if (h.at.getTime() > Date.now())
          problems.push(`projects[${i}].history[${j}].at: must not be in the future`);
      });
      const last = p.history[p.history.length - 1].stage;
      if (p.stage && p.stage !== last) {
        problems.push(`projects[${i}].stage: "${p.stage}" differs from the last history entry "${last}"`);
      }
    }
    dup(p.kpis, (k) => k.metric, `projects[${i}].kpis`, "metric");
    dup(p.costs, (c) => c.label, `projects[${i}].costs`, "label");
    p.kpis.forEach((k, j) => {
      if (k.cohort && k.cohort.treatment === k.cohort.control) {
        problems.push(`projects[${i}].kpis[${j}].cohort.control: must differ from the treatment value`);
      }
    });
  });
}

/** Parses and validates YAML text; throws ConfigError naming every bad path. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): UpliftConfig {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `YAML syntax: ${e.message.split("\n")[0]}`),
    );
  }
  const raw = doc.toJS() ?? {};
  const problems: string[] = [];
  const interpolated = interpolate(raw, env, [], problems);
  if (problems.length) throw new ConfigError(file, problems);
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`),
    );
  }
  crossCheck(parsed.data, problems);
  if (problems.length) throw new ConfigError(file, problems);
  return parsed.data;
}

/** UPLIFT_CONFIG, else ./uplift.yaml when present, else the bundled demo. */
export function resolveConfigPath(
  configured: string | null,
  cwd = process.cwd(),
): { file: string; demo: boolean } {
  if (configured) return { file: path.resolve(cwd, configured), demo: false };
  const local = path.join(cwd, "uplift.yaml");
  if (fs.existsSync(local)) return { file: local, demo: false };
  return { file: DEMO_CONFIG_FILE, demo: true };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): UpliftConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, [
      `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    ]);
  }
  return parseConfig(text, file, env);
}
