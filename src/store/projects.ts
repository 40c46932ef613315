import type { DataSource, EntityManager } from "typeorm";
import { PROJECT_STAGES, ProjectRow, type ProjectStage } from "../db/entities/project.js";
import { StageChangeRow } from "../db/entities/stage-change.js";
import { MAX_TEXT, SLUG_PATTERN } from "../domain/rules.js";
import { BadInputError, ConflictError, type InputProblem, NotFoundError } from "../errors.js";
import { type AuditSource, recordAudit } from "./audit.js";

/** What the audit log keeps of a project. */
export function projectSnapshot(p: ProjectRow): Record<string, unknown> {
  return {
    slug: p.slug,
    name: p.name,
    description: p.description,
    owner: p.owner,
    stage: p.stage,
    goLiveAt: p.goLiveAt,
  };
}

export interface CreateProject {
  slug: string;
  name: string;
  description?: string | null;
  owner?: string | null;
  stage?: ProjectStage | null;
  stageSince?: Date | null;
  goLiveAt?: Date | null;
}

export interface UpdateProject {
  name?: string | null;
  description?: string | null;
  owner?: string | null;
  goLiveAt?: Date | null;
}

function checkText(
  problems: InputProblem[],
  field: string,
  v: string | null | undefined,
  required: boolean,
  max = 1000,
) {
  if (v === undefined || v === null) {
    if (required) problems.push({ field, message: "is required" });
    return;
  }
  if (required && v.trim() === "") problems.push({ field, message: "must not be empty" });
  if (v.length > max) problems.push({ field, message: `must be at most ${max} characters` });
}

export async function findProject(m: EntityManager | DataSource, slug: string): Promise<ProjectRow | null> {
  return m.getRepository(ProjectRow).findOne({ where: { slug } });
}

export async function requireProject(m: EntityManager | DataSource, slug: string): Promise<ProjectRow> {
  const p = await findProject(m, slug);
  if (!p) throw new NotFoundError(`no project with slug "${slug}"`);
  return p;
}

export async function listProjects(ds: DataSource, stage?: ProjectStage | null): Promise<ProjectRow[]> {
  const q = ds.getRepository(ProjectRow).createQueryBuilder("p");
  if (stage) q.where("p.stage = :stage", { stage });
  // COLLATE "C": code-point order whatever the server's collation (en_US would ignore the "-" in slugs).
  return q.orderBy(`p.slug COLLATE "C"`).getMany();
}

export async function createProject(
  ds: DataSource,
  input: CreateProject,
  now = new Date(),
  source: AuditSource = { actor: "anonymous", action: "createProject" },
): Promise<ProjectRow> {
  const problems: InputProblem[] = [];
  if (!SLUG_PATTERN.test(input.slug)) {
    problems.push({ field: "input.slug", message: "must match ^[a-z0-9][a-z0-9-]{0,62}$" });
  }
  checkText(problems, "input.name", input.name, true);
  checkText(problems, "input.description", input.description, false, MAX_TEXT);
  checkText(problems, "input.owner", input.owner, false);
  if (input.stageSince && input.stageSince.getTime() > now.getTime()) {
    problems.push({ field: "input.stageSince", message: "must not be in the future" });
  }
  if (problems.length) throw new BadInputError(problems);
  const stage = input.stage ?? "PILOT";
  const since = input.stageSince ?? now;
  // Created in production: it went live when it entered that stage, unless told otherwise.
  const goLiveAt = input.goLiveAt ?? (stage === "PRODUCTION" ? since : null);
  return ds.transaction(async (m) => {
    const rows: { id: string }[] = await m.query(
      `INSERT INTO project (slug, name, description, owner, stage, go_live_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO NOTHING RETURNING id`,
      [input.slug, input.name, input.description ?? null, input.owner ?? null, stage, goLiveAt],
    );
    if (!rows.length) throw new ConflictError(`a project with slug "${input.slug}" already exists`);
    await m.query(`INSERT INTO stage_change (project_id, stage, at) VALUES ($1, $2, $3)`, [
      rows[0].id,
      stage,
      since,
    ]);
    const created = (await findProject(m, input.slug))!;
    await recordAudit(m, source, {
      projectSlug: created.slug,
      before: null,
      after: { ...projectSnapshot(created), stageSince: since },
    });
    return created;
  });
}

export async function updateProject(
  ds: DataSource,
  slug: string,
  input: UpdateProject,
  source: AuditSource = { actor: "anonymous", action: "updateProject" },
): Promise<ProjectRow> {
  const problems: InputProblem[] = [];
  if (input.name !== undefined) checkText(problems, "input.name", input.name, true);
  checkText(problems, "input.description", input.description, false, MAX_TEXT);
  checkText(problems, "input.owner", input.owner, false);
  const project = await requireProject(ds, slug);
  if (problems.length) throw new BadInputError(problems);
  const set: Partial<ProjectRow> = {};
  if (input.name !== undefined) set.name = input.name!;
  if (input.description !== undefined) set.description = input.description;
  if (input.owner !== undefined) set.owner = input.owner;
  if (input.goLiveAt !== undefined) set.goLiveAt = input.goLiveAt;
  if (!Object.keys(set).length) return project;
  return ds.transaction(async (m) => {
    const locked: ProjectRow[] = await m.query(`SELECT id FROM project WHERE id = $1 FOR UPDATE`, [
      project.id,
    ]);
    if (!locked.length) throw new NotFoundError(`no project with slug "${slug}"`);
    const before = (await findProject(m, slug))!;
    await m
      .getRepository(ProjectRow)
      .update({ id: project.id }, { ...set, updatedAt: () => "clock_timestamp()" });
    const after = (await findProject(m, slug))!;
    await recordAudit(m, source, {
      projectSlug: slug,
      before: projectSnapshot(before),
      after: projectSnapshot(after),
    });
    return after;
  });
}

/**
 * Appends a stage change. `at` defaults to now; one in the future or before the latest change is refused.
 * Setting the stage the project already has changes nothing. Entering PRODUCTION sets goLiveAt when unset.
 */
export async function setProjectStage(
  ds: DataSource,
  slug: string,
  stage: ProjectStage,
  at: Date | null | undefined,
  now = new Date(),
  source: AuditSource = { actor: "anonymous", action: "setProjectStage" },
): Promise<ProjectRow> {
  if (!PROJECT_STAGES.includes(stage)) throw BadInputError.one("stage", `unknown stage "${stage}"`);
  const when = at ?? now;
  return ds.transaction(async (m) => {
    // Lock the project row: two concurrent stage changes must not interleave their checks.
    const locked: ProjectRow[] = await m.query(`SELECT id FROM project WHERE slug = $1 FOR UPDATE`, [slug]);
    if (!locked.length) throw new NotFoundError(`no project with slug "${slug}"`);
    const project = (await findProject(m, slug))!;
    if (when.getTime() > now.getTime()) throw BadInputError.one("at", "must not be in the future");
    const latest = await m
      .getRepository(StageChangeRow)
      .findOne({ where: { projectId: project.id }, order: { at: "DESC", id: "DESC" } });
    if (latest && when.getTime() < latest.at.getTime()) {
      throw BadInputError.one(
        "at",
        `must not be before the latest stage change (${latest.at.toISOString()})`,
      );
    }
    if (project.stage === stage) return project;
    await m.query(`INSERT INTO stage_change (project_id, stage, at) VALUES ($1, $2, $3)`, [
      project.id,
      stage,
      when,
    ]);
    await m.query(
      `UPDATE project SET stage = $2, updated_at = now(),
         go_live_at = CASE WHEN $2 = 'PRODUCTION' AND go_live_at IS NULL THEN $3::timestamptz ELSE go_live_at END
       WHERE id = $1`,
      [project.id, stage, when],
    );
    const after = (await findProject(m, slug))!;
    await recordAudit(m, source, {
      projectSlug: slug,
      before: projectSnapshot(project),
      after: { ...projectSnapshot(after), stageSince: when },
    });
    return after;
  });
}

/** Stage histories of many projects, each in time order. */
export async function stageHistories(
  ds: DataSource,
  projectIds: readonly string[],
): Promise<Map<string, StageChangeRow[]>> {
  const rows: StageChangeRow[] = await ds
    .getRepository(StageChangeRow)
    .createQueryBuilder("s")
    .where("s.project_id = ANY(:ids)", { ids: projectIds })
    .orderBy("s.at", "ASC")
    .addOrderBy("s.id", "ASC")
    .getMany();
  const out = new Map<string, StageChangeRow[]>(projectIds.map((id) => [id, []]));
  for (const r of rows) out.get(String(r.projectId))?.push(r);
  return out;
}

export interface DeclaredProject {
  slug: string;
  name: string;
  /** undefined: not declared (the stored value is kept); null: cleared. */
  description?: string | null;
  owner?: string | null;
  goLiveAt?: Date | null;
  /** Applied only when the project is created: later stage changes go through setProjectStage. */
  history: { stage: ProjectStage; at: Date }[];
}

/**
 * A project as a configuration file declares it, in the caller's transaction: created with its stage
 * history, or updated in the fields the declaration gives (its history is then left alone).
 */
export async function declareProject(m: EntityManager, p: DeclaredProject): Promise<void> {
  const stage = p.history[p.history.length - 1]!.stage;
  const wentLive = p.history.find((h) => h.stage === "PRODUCTION")?.at ?? null;
  const created: { id: string }[] = await m.query(
    `INSERT INTO project (slug, name, description, owner, stage, go_live_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (slug) DO NOTHING RETURNING id`,
    [p.slug, p.name, p.description ?? null, p.owner ?? null, stage, p.goLiveAt ?? wentLive],
  );
  if (created.length) {
    for (const h of p.history) {
      await m.query(`INSERT INTO stage_change (project_id, stage, at) VALUES ($1, $2, $3)`, [
        created[0]!.id,
        h.stage,
        h.at,
      ]);
    }
    return;
  }
  await m.query(
    `UPDATE project SET name = $2,
       description = CASE WHEN $3::boolean THEN $4 ELSE description END,
       owner = CASE WHEN $5::boolean THEN $6 ELSE owner END,
       go_live_at = CASE WHEN $7::boolean THEN $8::timestamptz ELSE go_live_at END,
       updated_at = CASE WHEN go_live_at IS DISTINCT FROM $8::timestamptz AND $7::boolean THEN now() ELSE updated_at END
     WHERE slug = $1`,
    [
      p.slug,
      p.name,
      p.description !== undefined,
      p.description ?? null,
      p.owner !== undefined,
      p.owner ?? null,
      p.goLiveAt !== undefined,
      p.goLiveAt ?? null,
    ],
  );
}
