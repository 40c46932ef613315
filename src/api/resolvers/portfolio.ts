import { Arg, Ctx, FieldResolver, Float, Int, Query, Resolver, Root } from "type-graphql";
import { canSeeProject } from "../../auth/roles.js";
import type { ProjectRow } from "../../db/entities/project.js";
import { BadInputError } from "../../errors.js";
import { cents } from "../../kpi/money.js";
import { isStalledPilot, portfolioFigures } from "../../kpi/portfolio.js";
import { listProjects } from "../../store/projects.js";
import type { Context } from "../context.js";
import { PortfolioType } from "../types/portfolio.js";
import { ProjectType } from "../types/project.js";

interface PortfolioRoot extends PortfolioType {
  projects: ProjectRow[];
  now: Date;
}

@Resolver(() => PortfolioType)
export class PortfolioResolver {
  @Query(() => PortfolioType)
  async portfolio(@Ctx() ctx: Context): Promise<PortfolioRoot> {
    const now = new Date();
    // A key scoped to projects gets the portfolio of those projects alone.
    const projects = (await listProjects(ctx.ds)).filter((p) => canSeeProject(ctx.principal, p.slug));
    const histories = await ctx.loaders.stageHistory.loadMany(projects.map((p) => String(p.id)));
    const map = new Map(
      projects.map((p, i) => [String(p.id), histories[i] instanceof Error ? [] : (histories[i] as never)]),
    );
    return { ...portfolioFigures(projects, map, now), projects, now };
  }

  @FieldResolver(() => [ProjectType])
  async stalledPilots(
    @Ctx() ctx: Context,
    @Arg("olderThanDays", () => Int, { defaultValue: 180 }) olderThanDays: number,
    @Root() root: PortfolioRoot,
  ): Promise<ProjectRow[]> {
    return stalled(ctx, root, olderThanDays);
  }

  @FieldResolver(() => Float)
  async totalAnnualBenefit(@Ctx() ctx: Context, @Root() root: PortfolioRoot): Promise<number> {
    const kpiLists = await Promise.all(root.projects.map((p) => ctx.loaders.kpis.load(String(p.id))));
    const ids = kpiLists.flat().map((k) => String(k.kpi.id));
    const figures = await ctx.loaders.figures.loadMany(ids);
    return cents(
      figures.reduce<number>((s, f) => s + (f instanceof Error ? 0 : (f.figures.annualBenefit ?? 0)), 0),
    );
  }
}

async function stalled(ctx: Context, root: PortfolioRoot, olderThanDays: number): Promise<ProjectRow[]> {
  if (olderThanDays < 0) throw BadInputError.one("olderThanDays", "must be ≥ 0");
  const pilots = root.projects.filter((p) => p.stage === "PILOT");
  const histories = await Promise.all(pilots.map((p) => ctx.loaders.stageHistory.load(String(p.id))));
  return pilots.filter((p, i) => isStalledPilot(p, histories[i], olderThanDays, root.now));
}
