import type { DataSource, EntityManager } from "typeorm";
import {
  AGGREGATIONS,
  type Aggregation,
  DIRECTIONS,
  type Direction,
  MetricRow,
} from "../db/entities/metric.js";
import { MAX_TEXT, METRIC_KEY_PATTERN } from "../domain/rules.js";
import { BadInputError, type InputProblem, NotFoundError } from "../errors.js";
import { type AuditSource, inTransaction, recordAudit } from "./audit.js";

/** What the audit log keeps of a metric. */
export function metricSnapshot(m: MetricRow): Record<string, unknown> {
  return {
    key: m.key,
    name: m.name,
    unit: m.unit,
    direction: m.direction,
    aggregation: m.aggregation,
    description: m.description,
  };
}

export interface DefineMetric {
  key: string;
  name: string;
  unit: string;
  direction: Direction;
  aggregation?: Aggregation | null;
  description?: string | null;
}

export async function listMetrics(ds: DataSource): Promise<MetricRow[]> {
  // COLLATE "C": code-point order whatever the server's collation, the order `kpis` uses too.
  return ds.getRepository(MetricRow).createQueryBuilder("m").orderBy(`m.key COLLATE "C"`).getMany();
}

export async function requireMetric(m: EntityManager | DataSource, key: string): Promise<MetricRow> {
  const row = await m.getRepository(MetricRow).findOne({ where: { key } });
  if (!row) throw new NotFoundError(`no metric with key "${key}"`);
  return row;
}

/**
 * Creates the metric or, when the key exists, replaces its definition (defining is idempotent, so a
 * configuration file or a script can run it on every start).
 */
export async function defineMetric(
  m: EntityManager | DataSource,
  input: DefineMetric,
  field = "input",
  source: AuditSource = { actor: "anonymous", action: "defineMetric" },
): Promise<MetricRow> {
  const problems: InputProblem[] = [];
  if (!METRIC_KEY_PATTERN.test(input.key)) {
    problems.push({ field: `${field}.key`, message: "must match ^[a-z0-9][a-z0-9._-]{0,127}$" });
  }
  if (!input.name?.trim()) problems.push({ field: `${field}.name`, message: "must not be empty" });
  else if (input.name.length > 1000)
    problems.push({ field: `${field}.name`, message: "must be at most 1000 characters" });
  if (!input.unit?.trim()) problems.push({ field: `${field}.unit`, message: "must not be empty" });
  else if (input.unit.length > 100)
    problems.push({ field: `${field}.unit`, message: "must be at most 100 characters" });
  if (!DIRECTIONS.includes(input.direction))
    problems.push({ field: `${field}.direction`, message: "unknown direction" });
  const aggregation = input.aggregation ?? "MEAN";
  if (!AGGREGATIONS.includes(aggregation))
    problems.push({ field: `${field}.aggregation`, message: "unknown aggregation" });
  if (input.description && input.description.length > MAX_TEXT) {
    problems.push({ field: `${field}.description`, message: `must be at most ${MAX_TEXT} characters` });
  }
  if (problems.length) throw new BadInputError(problems);
  return inTransaction(m, async (m) => {
    const [old]: MetricRow[] = await m.query(
      `SELECT key, name, unit, direction, aggregation, description FROM metric WHERE key = $1 FOR UPDATE`,
      [input.key],
    );
    await m.query(
      `INSERT INTO metric (key, name, unit, direction, aggregation, description) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit, direction = EXCLUDED.direction,
       aggregation = EXCLUDED.aggregation, description = EXCLUDED.description, updated_at = now()`,
      [input.key, input.name, input.unit, input.direction, aggregation, input.description ?? null],
    );
    const row = await requireMetric(m, input.key);
    await recordAudit(m, source, {
      metricKey: row.key,
      before: old ? metricSnapshot(old) : null,
      after: metricSnapshot(row),
    });
    return row;
  });
}
