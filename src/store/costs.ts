import type { DataSource, EntityManager } from "typeorm";
import { COST_KINDS, type CostKind, CostRow } from "../db/entities/cost.js";
import { ProjectRow } from "../db/entities/project.js";
import { MAX_ABS_VALUE } from "../domain/rules.js";
import { BadInputError, type InputProblem } from "../errors.js";
import { type AuditSource, inTransaction, recordAudit } from "./audit.js";

/** What the audit log keeps of a cost. */
export function costSnapshot(c: CostRow): Record<string, unknown> {
  return { id: String(c.id), label: c.label, kind: c.kind, amount: c.amount, startsAt: c.startsAt };
}

export interface AddCost {
  projectSlug: string;
  label: string;
  kind: CostKind;
  amount: number;
  startsAt: Date;
}

function validate(problems: InputProblem[], input: AddCost, field: string) {
  if (!input.label?.trim()) problems.push({ field: `${field}.label`, message: "must not be empty" });
  else if (input.label.length > 1000)
    problems.push({ field: `${field}.label`, message: "must be at most 1000 characters" });
  if (!COST_KINDS.includes(input.kind))
    problems.push({ field: `${field}.kind`, message: "unknown cost kind" });
  if (!Number.isFinite(input.amount) || Math.abs(input.amount) > MAX_ABS_VALUE) {
    problems.push({
      field: `${field}.amount`,
      message: `must be a finite number with |x| ≤ ${MAX_ABS_VALUE}`,
    });
  } else if (input.amount < 0) {
    problems.push({ field: `${field}.amount`, message: "must be ≥ 0 (a cost, not a benefit)" });
  }
}

async function projectId(
  m: EntityManager | DataSource,
  slug: string,
  problems: InputProblem[],
  field: string,
) {
  const p = await m.getRepository(ProjectRow).findOne({ where: { slug } });
  if (!p) problems.push({ field: `${field}.projectSlug`, message: `unknown project "${slug}"` });
  return p?.id;
}

export async function addCost(
  m: EntityManager | DataSource,
  input: AddCost,
  field = "input",
  source: AuditSource = { actor: "anonymous", action: "addCost" },
): Promise<CostRow> {
  const problems: InputProblem[] = [];
  const id = await projectId(m, input.projectSlug, problems, field);
  validate(problems, input, field);
  if (problems.length) throw new BadInputError(problems);
  return inTransaction(m, async (m) => {
    const cost = await m.getRepository(CostRow).save(
      m.getRepository(CostRow).create({
        projectId: id!,
        label: input.label,
        kind: input.kind,
        amount: input.amount,
        startsAt: input.startsAt,
      }),
    );
    await recordAudit(m, source, { projectSlug: input.projectSlug, before: null, after: costSnapshot(cost) });
    return cost;
  });
}

/** For the configuration file: the cost with this label is created or replaced, so a restart adds nothing. */
export async function upsertCostByLabel(
  m: EntityManager | DataSource,
  input: AddCost,
  field: string,
  source: AuditSource = { actor: "config", action: "CONFIG" },
): Promise<void> {
  const problems: InputProblem[] = [];
  const id = await projectId(m, input.projectSlug, problems, field);
  validate(problems, input, field);
  if (problems.length) throw new BadInputError(problems);
  const repo = m.getRepository(CostRow);
  const existing = await repo.findOne({
    where: { projectId: id!, label: input.label },
    order: { id: "ASC" },
  });
  let after: CostRow;
  if (existing) {
    await repo.update(
      { id: existing.id },
      { kind: input.kind, amount: input.amount, startsAt: input.startsAt },
    );
    after = (await repo.findOne({ where: { id: existing.id } }))!;
  } else
    after = await repo.save(
      repo.create({
        projectId: id!,
        label: input.label,
        kind: input.kind,
        amount: input.amount,
        startsAt: input.startsAt,
      }),
    );
  await recordAudit(m, source, {
    projectSlug: input.projectSlug,
    before: existing ? costSnapshot(existing) : null,
    after: costSnapshot(after),
  });
}

/** Costs of many projects, each list by startsAt. */
export async function costsOfProjects(
  ds: DataSource,
  projectIds: readonly string[],
): Promise<Map<string, CostRow[]>> {
  const rows = await ds
    .getRepository(CostRow)
    .createQueryBuilder("c")
    .where("c.project_id = ANY(:ids)", { ids: projectIds })
    .orderBy("c.starts_at", "ASC")
    .addOrderBy("c.id", "ASC")
    .getMany();
  const out = new Map<string, CostRow[]>(projectIds.map((id) => [id, []]));
  for (const r of rows) out.get(String(r.projectId))?.push(r);
  return out;
}
