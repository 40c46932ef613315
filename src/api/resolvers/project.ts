import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { canSeeProject } from "../../auth/roles.js";
import type { ProjectRow, ProjectStage } from "../../db/entities/project.js";
import { BadInputError } from "../../errors.js";
import { computeRoi } from "../../kpi/roi.js";
import {
  createProject,
  findProject,
  listProjects,
  setProjectStage,
  updateProject,
} from "../../store/projects.js";
import { auditBy } from "../audit.js";
import type { Context } from "../context.js";
import { ProjectStageEnum } from "../enums.js";
import { CreateProjectInput, UpdateProjectInput } from "../inputs/project.js";
import { DateTimeScalar } from "../scalars.js";
import { CostType, RoiType } from "../types/cost.js";
import { KpiType } from "../types/kpi.js";
import { ProjectType, StageChangeType } from "../types/project.js";

export const MAX_HORIZON_MONTHS = 1200;

@Resolver(() => ProjectType)
export class ProjectResolver {
  @Query(() => [ProjectType])
  projects(
    @Ctx() ctx: Context,
    @Arg("stage", () => ProjectStageEnum, { nullable: true }) stage?: ProjectStage | null,
  ): Promise<ProjectRow[]> {
    return listProjects(ctx.ds, stage).then((all) => all.filter((p) => canSeeProject(ctx.principal, p.slug)));
  }

  @Query(() => ProjectType, { nullable: true })
  project(@Ctx() ctx: Context, @Arg("slug", () => String) slug: string): Promise<ProjectRow | null> {
    return ctx.loaders.projectBySlug.load(slug);
  }

  @Mutation(() => ProjectType)
  createProject(
    @Ctx() ctx: Context,
    @Arg("input", () => CreateProjectInput) input: CreateProjectInput,
  ): Promise<ProjectRow> {
    return createProject(ctx.ds, input, new Date(), auditBy(ctx, "createProject"));
  }

  @Mutation(() => ProjectType)
  async updateProject(
    @Ctx() ctx: Context,
    @Arg("slug", () => String) slug: string,
    @Arg("input", () => UpdateProjectInput) input: UpdateProjectInput,
  ): Promise<ProjectRow> {
    const p = await updateProject(ctx.ds, slug, input, auditBy(ctx, "updateProject"));
    if (input.goLiveAt !== undefined) await ctx.events.changed({ projectIds: [p.id] });
    return p;
  }

  @Mutation(() => ProjectType)
  async setProjectStage(
    @Ctx() ctx: Context,
    @Arg("slug", () => String) slug: string,
    @Arg("stage", () => ProjectStageEnum) stage: ProjectStage,
    @Arg("at", () => DateTimeScalar, { nullable: true }) at?: Date | null,
  ): Promise<ProjectRow> {
    const before = await findProject(ctx.ds, slug);
    const p = await setProjectStage(ctx.ds, slug, stage, at, new Date(), auditBy(ctx, "setProjectStage"));
    if (before && before.goLiveAt?.getTime() !== p.goLiveAt?.getTime())
      await ctx.events.changed({ projectIds: [p.id] });
    return p;
  }

  @FieldResolver(() => [StageChangeType])
  stageHistory(@Root() p: ProjectRow, @Ctx() ctx: Context) {
    return ctx.loaders.stageHistory.load(String(p.id));
  }

  @FieldResolver(() => [KpiType])
  async kpis(@Root() p: ProjectRow, @Ctx() ctx: Context): Promise<KpiType[]> {
    const list = await ctx.loaders.kpis.load(String(p.id));
    return list.map((subject) => ({
      kpiId: String(subject.kpi.id),
      projectSlug: p.slug,
      metric: subject.metric,
      target: subject.kpi.target,
      subject,
    }));
  }

  @FieldResolver(() => KpiType, { nullable: true })
  async kpi(
    @Root() p: ProjectRow,
    @Ctx() ctx: Context,
    @Arg("metricKey", () => String) metricKey: string,
  ): Promise<KpiType | null> {
    const found = (await ctx.loaders.kpis.load(String(p.id))).find((k) => k.metric.key === metricKey);
    return found
      ? {
          kpiId: String(found.kpi.id),
          projectSlug: p.slug,
          metric: found.metric,
          target: found.kpi.target,
          subject: found,
        }
      : null;
  }

  @FieldResolver(() => [CostType])
  costs(@Root() p: ProjectRow, @Ctx() ctx: Context) {
    return ctx.loaders.costs.load(String(p.id));
  }

  @FieldResolver(() => RoiType)
  async roi(
    @Root() p: ProjectRow,
    @Ctx() ctx: Context,
    @Arg("horizonMonths", () => Int, { defaultValue: 12 }) horizonMonths: number,
  ): Promise<RoiType> {
    if (horizonMonths < 1 || horizonMonths > MAX_HORIZON_MONTHS) {
      throw BadInputError.one("horizonMonths", `must be from 1 to ${MAX_HORIZON_MONTHS}`);
    }
    const [kpis, costs] = await Promise.all([
      ctx.loaders.kpis.load(String(p.id)),
      ctx.loaders.costs.load(String(p.id)),
    ]);
    const figures = await Promise.all(kpis.map((k) => ctx.loaders.figures.load(String(k.kpi.id))));
    return {
      ...computeRoi(
        horizonMonths,
        figures.map((f) => f.figures.annualBenefit),
        costs,
      ),
      currency: ctx.currency,
    };
  }
}
